package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// groupDevnetMembers is the group's size in TestGroupDevnet (the issue's
// ten).
const groupDevnetMembers = 10

// TestGroupDevnet: on a devnet (real nodes, onion paths), a group of ten
// accounts: the invitations arrive as requests, every member sends one
// message, and every member gets every message exactly once with the
// right sender. Then a member is removed and reads nothing further.
func TestGroupDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	ctx := context.Background()
	cs := make([]*Client, groupDevnetMembers)
	for i := range cs {
		cs[i] = open(t, newHome(t), Options{Network: d.Network()})
	}
	all := func(fn func(i int, c *Client) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(cs))
		for i, c := range cs {
			wg.Go(func() { errs[i] = fn(i, c) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
		}
	}
	// until retries fn until it holds, for three minutes: on a loaded
	// machine a path may time out, and a store is read back from two
	// members that may not have its forward yet.
	start := time.Now()
	until := func(what string, fn func() (bool, error)) error {
		defer func() { t.Logf("%s: done at %s", what, time.Since(start).Round(time.Millisecond)) }()
		var last error
		for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
			ok, err := fn()
			if ok {
				return nil
			}
			if err != nil {
				last = err
			}
		}
		return fmt.Errorf("%s: not within three minutes (last error: %v)", what, last)
	}
	all(func(_ int, c *Client) error {
		return until("publish keys", func() (bool, error) { err := c.PublishKeys(ctx); return err == nil, err })
	})
	alice := cs[0]
	var ids []identity.AccountID
	for _, c := range cs[1:] {
		ids = append(ids, c.Account())
	}
	g, err := alice.CreateGroup(ctx, "ten", ids)
	if err != nil {
		t.Fatal(err)
	}
	id := g.ID
	err = until("the group's first publication", func() (bool, error) {
		_, err := alice.GroupDuties(ctx)
		alice.FlushOutbox(ctx)
		st := mustGroup(t, alice, id)
		ob, _ := alice.db.Outbox()
		return !st.Publish && st.PendingGen == 0 && len(ob) == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	all(func(i int, c *Client) error {
		if i == 0 {
			return nil
		}
		err := until("the invitation", func() (bool, error) {
			_, err := c.Poll(ctx)
			rs, _ := c.Requests()
			return len(rs) == 1 && rs[0].Group && rs[0].Peer == id, err
		})
		if err != nil {
			return err
		}
		if err := c.AcceptGroup(ctx, id); err != nil {
			return err
		}
		return until("the key", func() (bool, error) {
			_, err := c.GroupDuties(ctx)
			gi, _ := c.GroupInfo(id)
			return gi.KeyGeneration == 1 && gi.Members == groupDevnetMembers, err
		})
	})
	all(func(i int, c *Client) error {
		return until("send", func() (bool, error) {
			h := groupTexts(t, c, id)
			if _, ok := h[fmt.Sprint("from ", i)]; !ok {
				if _, err := c.Send(ctx, id, fmt.Sprint("from ", i)); err != nil {
					return false, err
				}
			}
			c.FlushOutbox(ctx)
			ob, err := c.db.Outbox()
			return err == nil && len(ob) == 0, err
		})
	})
	all(func(_ int, c *Client) error {
		return until("every message", func() (bool, error) {
			_, err := c.GroupDuties(ctx)
			return len(groupTexts(t, c, id)) == groupDevnetMembers, err
		})
	})
	for _, c := range cs {
		h := groupTexts(t, c, id) // fails on a message stored twice
		for i, from := range cs {
			if h[fmt.Sprint("from ", i)] != from.Account() {
				t.Fatalf("%s: %q came from %v", c.Account().Short(), fmt.Sprint("from ", i), h[fmt.Sprint("from ", i)])
			}
		}
		if d := c.Stats().Dropped; d != 0 {
			t.Fatalf("%s dropped %d", c.Account().Short(), d)
		}
	}

	// The last member is removed; the rest read on, it does not.
	gone := cs[len(cs)-1]
	if err := alice.RemoveFromGroup(ctx, id, gone.Account()); err != nil {
		t.Fatal(err)
	}
	err = until("the removal's publication", func() (bool, error) {
		_, err := alice.GroupDuties(ctx)
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, id, "after"); err != nil {
		t.Fatal(err)
	}
	all(func(i int, c *Client) error {
		if c == gone {
			return until("the removed member learns it", func() (bool, error) {
				_, err := c.GroupDuties(ctx)
				gi, _ := c.GroupInfo(id)
				return gi.State == GroupRemoved, err
			})
		}
		return until("the message after the removal", func() (bool, error) {
			_, err := c.GroupDuties(ctx)
			_, ok := groupTexts(t, c, id)["after"]
			return ok, err
		})
	})
	if _, ok := groupTexts(t, gone, id)["after"]; ok {
		t.Fatal("the removed member read a message sent after its removal")
	}
}

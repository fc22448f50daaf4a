package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/netlookup"
)

// demoPassphrase protects the demo homes. They live in the devnet's scratch
// folder and are wiped with it, so a known passphrase costs nothing.
const demoPassphrase = "demo"

// demoTimeout is the least time the demo has to send its message and see
// it arrive.
const demoTimeout = 3 * time.Minute

// demoAccount is one of the two demo homes `hush devnet up` makes.
type demoAccount struct {
	Name string `json:"name"`
	Home string `json:"home"`
	ID   string `json:"account_id"`
}

// runDemo creates two accounts on the devnet, alice and bob, each knowing
// the other by nickname, and sends one message from alice to bob through
// onion paths, so a newcomer sees the whole network work before typing
// anything. It returns the accounts and the text bob received. It gives
// up after limit, or demoTimeout if that is longer.
func (a *app) runDemo(ctx context.Context, d *devnet.Devnet, dir string, limit time.Duration) ([]demoAccount, string, error) {
	// Minutes, not seconds: a busy machine (or -race) makes every onion
	// request slow, and the demo waits on the message, not on the clock.
	// A devnet given long to form (--timeout) runs on a machine that slow,
	// and its demo gets as long.
	ctx, cancel := context.WithTimeout(ctx, max(limit, demoTimeout))
	defer cancel()
	names := []string{"alice", "bob"}
	accts := make([]demoAccount, len(names))
	clients := make([]*client.Client, len(names))
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i, name := range names {
		home := filepath.Join(dir, "demo", name)
		if err := os.RemoveAll(home); err != nil {
			return nil, "", err
		}
		h, err := client.NewHome(home)
		if err != nil {
			return nil, "", err
		}
		if _, _, err := h.Create([]byte(demoPassphrase), a.homeOptions()...); err != nil {
			return nil, "", fmt.Errorf("demo account %s: %w", name, err)
		}
		c, err := h.Open(ctx, []byte(demoPassphrase), client.Options{Network: d.Network()})
		if err != nil {
			return nil, "", fmt.Errorf("demo account %s: %w", name, err)
		}
		clients[i] = c
		accts[i] = demoAccount{Name: name, Home: home, ID: c.Account().String()}
	}
	for i, c := range clients {
		other := 1 - i
		if err := c.AddContact(clients[other].Account(), names[other]); err != nil {
			return nil, "", err
		}
	}
	// Both accounts' keys are published before alice sends, so the
	// demo's message and the commands it prints can go either way. Open
	// tries once, within a bound a loaded machine can exceed, and the
	// loop below only flushes and polls: bob's "hush send alice" then
	// waited for her keys (cli devnet.txt under load).
	for i, c := range clients {
		for {
			err := c.KeyDuties(ctx)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return nil, "", fmt.Errorf("demo account %s: publishing its keys: %w", names[i], err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	// Each reads the other's keys before alice sends. They were
	// published with two members' confirmations, and the other members
	// of the swarm get them moments later: a send that asked only those
	// waited for keys, and its retries back off (5 s doubling), past the
	// demo's time on a busy machine (cli devnet.txt and webpush.txt).
	for i, c := range clients {
		for {
			recs, _, err := c.Bundle(ctx, clients[1-i].Account())
			if err == nil && len(recs) > 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil, "", fmt.Errorf("demo account %s: reading %s's keys: %w (last: %d records, %v)", names[i], names[1-i], ctx.Err(), len(recs), err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	const text = "Hello Bob! This came to you through a three-hop onion path."
	// Why bob drops what he fetched, should the demo fail (demoState).
	events, unsubscribe := clients[1].Subscribe(64)
	defer unsubscribe()
	var lastDrop error
	dropped := func() error {
		for {
			select {
			case e := <-events:
				if e.Kind == client.EventDropped {
					lastDrop = e.Err
				}
			default:
				return lastDrop
			}
		}
	}
	sent, err := clients[0].Send(ctx, clients[1].Account(), text)
	if err != nil {
		return nil, "", fmt.Errorf("demo send: %w", err)
	}
	// Replication settles within a poll or two; poll until it is there.
	// Bob's device records may still reach the member alice reads a moment
	// after his client published them: her outbox retries meanwhile.
	var pollErr error
	for {
		clients[0].FlushOutbox(ctx)
		got, err := clients[1].Poll(ctx)
		if err != nil && ctx.Err() != nil {
			return nil, "", fmt.Errorf("demo receive: %w (%s)", err, demoState(clients[0], clients[1], sent.ID, pollErr, dropped()))
		}
		// A failed poll (a path through a slow node) is tried again.
		pollErr = err
		dropped() // keeps the events from filling up
		for _, m := range got {
			if m.Text == text {
				return accts, m.Text, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, "", fmt.Errorf("demo receive: the message did not arrive: %w (%s)", ctx.Err(), demoState(clients[0], clients[1], sent.ID, pollErr, dropped()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// demoState says where the demo's message is, for the error that ends a
// demo: its status at the sender, whether the sender still waits for the
// recipient's keys, what the recipient holds from the sender, how many
// fetched messages he dropped and why the last one was, and his last
// poll error.
func demoState(from, to *client.Client, id int64, pollErr, lastDrop error) string {
	status := "unknown"
	var hashes []string
	if m, err := from.Message(id); err == nil {
		status, hashes = m.Status, m.SwarmHashes
	}
	keys := "alice has bob's keys"
	if waiting, why, _ := from.WaitingForKeys(to.Account()); waiting {
		keys = "alice waits for bob's keys: " + why
	}
	held := "no conversation"
	if h, err := to.History(from.Account()); err == nil {
		held = fmt.Sprintf("%d message(s)", len(h))
	}
	st := to.Stats()
	return fmt.Sprintf("the message is %s at alice (swarm hashes %v); %s; bob holds %s from alice, received %d and dropped %d fetched messages (the last: %v); bob's last poll error: %v",
		status, hashes, keys, held, st.Received, st.Dropped, lastDrop, pollErr)
}

func (a *app) printDemo(d *devnet.Devnet, accts []demoAccount, text string) {
	fmt.Fprintf(a.stdout, "\nDemo: alice sent bob a message through onion paths, and bob received it:\n\n  alice → bob: %s\n\n", text)
	fmt.Fprintf(a.stdout, "Chat as them in two terminals (passphrase %q; use `go run ./cmd/hush` for hush in a source checkout):\n\n", demoPassphrase)
	for i, acc := range accts {
		other := accts[1-i].Name
		fmt.Fprintf(a.stdout, "  # %s (%s)\n  export %s=%s HUSH_HOME=%s HUSH_PASSPHRASE=%s\n", acc.Name, acc.ID, netlookup.Env, d.NetworkPath(), acc.Home, demoPassphrase)
		if i == 0 {
			fmt.Fprintf(a.stdout, "  hush receive --follow\n\n")
		} else {
			fmt.Fprintf(a.stdout, "  hush send %s 'hi %s'\n  hush chat show %s\n\n", other, other, other)
		}
	}
	if d.Push().Dir != "" {
		// Push mode needs a provider; on a devnet a local Web Push
		// receiver plays it (webpushrecv.go).
		fmt.Fprintf(a.stdout, "Wake %s with push notifications: in a third terminal, with %s's exports,\n\n  hush tool webpush-receiver --open\n\n"+
			"then, as %[1]s, run the \"hush notifications push ...\" line it prints, and have %[3]s send %[1]s a message.\n\n", accts[1].Name, accts[1].Name, accts[0].Name)
	}
}

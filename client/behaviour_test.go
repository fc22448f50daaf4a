package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keystore"
	"github.com/hushnet/hush/protocol/envelope"
)

func TestOfflineOutbox(t *testing.T) {
	nd := startStandalone(t)
	sw := &switchable{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd, Transport: sw})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()

	sw.down.Store(true)
	const n = 5
	for i := range n {
		m, err := alice.Send(ctx, bob.Account(), fmt.Sprintf("offline %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != "queued" {
			t.Fatalf("message %d is %s while the network is down, want queued", i, m.Status)
		}
	}
	if _, err := alice.Sync(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Sync with the network down: %v, want ErrUnreachable", err)
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 0 {
		t.Fatalf("bob received %d messages before alice reached the network (%v)", len(got), err)
	}

	sw.down.Store(false)
	if _, err := alice.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := alice.History(bob.Account())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h {
		if m.Status != "sent" {
			t.Fatalf("%q is %s after the network returned, want sent", m.Text, m.Status)
		}
	}
	got, err := bob.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("bob received %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("offline %d", i); m.Text != want {
			t.Fatalf("message %d is %q, want %q", i, m.Text, want)
		}
	}
}

// concurrentMessages is how many messages each side sends in
// TestConcurrentReceiveAndSend: 20, or 40 with -tags slow (slow_test.go) (it was 40, the
// slowest test of the package at ~110 s under -race on a busy machine;
// each message is one more round of the same interleaving).
var concurrentMessages = 20

// TestConcurrentReceiveAndSend runs a Receive loop and sends on one home
// at once (two Clients, as `hush receive --follow` and `hush send` are two
// processes), while the peer writes to it.
func TestConcurrentReceiveAndSend(t *testing.T) {
	nd := startStandalone(t)
	bobHome := newHome(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	follower := open(t, bobHome, Options{Standalone: nd, PollInterval: 10 * time.Millisecond})
	sender := open(t, bobHome, Options{Standalone: nd})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	n := concurrentMessages
	var (
		mu       sync.Mutex
		received = map[string]int{}
	)
	loop := make(chan error, 1)
	go func() {
		loop <- follower.Receive(ctx, func(ms []Message) error {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				received[m.Text]++
			}
			return nil
		})
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, p := range []struct {
		from *Client
		to   identity.AccountID
		tag  string
	}{{alice, sender.Account(), "a"}, {sender, alice.Account(), "b"}} {
		wg.Go(func() {
			for i := range n {
				if _, err := p.from.Send(ctx, p.to, fmt.Sprintf("%s%d", p.tag, i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Wait for the loop to see every message alice sent (a time-out, not
	// an assertion on timing; generous, since under -race on a loaded
	// machine the loop may still be minutes behind the sends).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		mu.Lock()
		k := 0
		for i := range n {
			k += received[fmt.Sprintf("a%d", i)]
		}
		mu.Unlock()
		if k >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-loop; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for i := range n {
		if c := received[fmt.Sprintf("a%d", i)]; c != 1 {
			t.Errorf("a%d reported %d times by the receive loop, want once", i, c)
		}
	}
	for text := range received {
		if !strings.HasPrefix(text, "a") {
			t.Errorf("the loop reported bob's own message %q as received", text)
		}
	}
	mu.Unlock()
	unread, err := sender.TakeUnread()
	if err != nil {
		t.Fatal(err)
	}
	if len(unread) != n {
		t.Fatalf("%d unread messages, want %d", len(unread), n)
	}
	got, err := alice.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("alice received %d of bob's messages, want %d", len(got), n)
	}
}

// TestAtRest: no file of a home holds a message text, a contact's
// nickname or a contact's Account ID in the clear.
func TestAtRest(t *testing.T) {
	nd := startStandalone(t)
	aliceHome, bobHome := newHome(t), newHome(t)
	alice := open(t, aliceHome, Options{Standalone: nd})
	bob := open(t, bobHome, Options{Standalone: nd})
	ctx := context.Background()
	if err := alice.AddContact(bob.Account(), "Nick-Zebulon"); err != nil {
		t.Fatal(err)
	}
	texts := []string{"secret-text-one-4471", "secret-text-two-9902"}
	for _, s := range texts {
		if _, err := alice.Send(ctx, bob.Account(), s); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, alice.Account(), s+"-reply"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	alice.Close()
	bob.Close()
	for _, h := range []struct {
		name string
		home string
		peer identity.AccountID
	}{{"alice", aliceHome, bob.Account()}, {"bob", bobHome, alice.Account()}} {
		t.Run(h.name, func(t *testing.T) {
			secrets := [][]byte{[]byte("Nick-Zebulon"), []byte(strings.ToLower("Nick-Zebulon")),
				[]byte(h.peer.String()), h.peer[:]}
			for _, s := range texts {
				secrets = append(secrets, []byte(s))
			}
			files := 0
			err := filepath.WalkDir(h.home, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				files++
				for _, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s holds %q in the clear", path, s)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files < 2 {
				t.Fatalf("found %d files in the home", files)
			}
		})
	}
}

func TestDeleteChat(t *testing.T) {
	nd := startStandalone(t)
	sw := &switchable{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: sw})
	ctx := context.Background()
	for i := range 3 {
		if _, err := alice.Send(ctx, bob.Account(), fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, alice.Account(), fmt.Sprintf("b%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 3 {
		t.Fatalf("bob polled %d messages (%v), want 3", len(got), err)
	}
	own := func(ns int32) int {
		msgs, err := bob.retrieve(ctx, standaloneNode(t, bob), ns, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	if in, sync := own(NamespaceInbox), own(NamespaceSync); in != 3 || sync != 3 {
		t.Fatalf("bob's swarm holds %d inbox and %d sync copies, want 3 and 3", in, sync)
	}

	// Deleting while offline removes the chat here at once and the
	// swarm copies when the network returns.
	sw.down.Store(true)
	n, err := bob.DeleteChat(ctx, alice.Account())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("DeleteChat offline: %v, want ErrUnreachable", err)
	}
	if n != 6 {
		t.Fatalf("deleted %d messages, want 6", n)
	}
	if _, err := bob.History(alice.Account()); err == nil {
		t.Fatal("the conversation is still there")
	}
	sw.down.Store(false)
	if _, err := bob.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if in, sync := own(NamespaceInbox), own(NamespaceSync); in != 0 || sync != 0 {
		t.Fatalf("after the delete bob's swarm holds %d inbox and %d sync copies, want none", in, sync)
	}
	if cs, err := bob.Conversations(); err != nil || len(cs) != 0 {
		t.Fatalf("conversations after delete: %v, %v", cs, err)
	}

	// A new message from alice starts a new conversation with only it.
	if _, err := alice.Send(ctx, bob.Account(), "after"); err != nil {
		t.Fatal(err)
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 1 || got[0].Text != "after" {
		t.Fatalf("poll after delete: %v, %v", got, err)
	}
}

func TestBadInput(t *testing.T) {
	nd := startStandalone(t)
	aliceHome := newHome(t)
	alice := open(t, aliceHome, Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if err := alice.AddContact(bob.Account(), "bob"); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := Open(ctx, Options{Home: aliceHome, Passphrase: []byte("wrong"), Standalone: nd})
		if !errors.Is(err, keystore.ErrWrongPassphrase) {
			t.Fatalf("Open: %v, want ErrWrongPassphrase", err)
		}
	})
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"nickname", "Bob", nil},
		{"account ID", bob.Account().String(), nil},
		{"malformed account ID", "05" + strings.Repeat("ab", 31), ErrBadAccountID},
		{"wrong prefix", "07" + bob.Account().String()[2:], ErrBadAccountID},
		{"unknown nickname", "carol", ErrUnknownContact},
	} {
		t.Run("resolve "+tc.name, func(t *testing.T) {
			id, err := alice.Resolve(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resolve(%q): %v, want %v", tc.in, err, tc.want)
			}
			if tc.want == nil && !id.Equal(bob.Account()) {
				t.Fatalf("Resolve(%q) = %s", tc.in, id)
			}
		})
	}
	t.Run("nickname that looks like an ID", func(t *testing.T) {
		if err := alice.AddContact(bob.Account(), strings.Repeat("ab", 20)); err == nil {
			t.Fatal("accepted a hex nickname")
		}
	})
	t.Run("sizes", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			text string
			want error
		}{
			{"empty", "  ", ErrEmptyMessage},
			{"over the limit", strings.Repeat("x", 70_000), ErrTooLarge},
			{"just fits", strings.Repeat("y", 60_000), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m, err := alice.Send(ctx, bob.Account(), tc.text)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Send: %v, want %v", err, tc.want)
				}
				if tc.want == nil && m.Status != "sent" {
					t.Fatalf("status %s", m.Status)
				}
			})
		}
	})
	t.Run("envelopes that do not open", func(t *testing.T) {
		events, stop := bob.Subscribe(16)
		defer stop()
		// What Queue puts in the outbox, before it is sealed: a v2
		// envelope that opens for nobody.
		unsealed, err := unsealedPayload([]byte("not for bob"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		garbageContent, _ := envelope.MarshalEnvelope(&envelope.Envelope{
			Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V1, Content: bytes.Repeat([]byte{7}, 300)})
		v2, _ := envelope.MarshalEnvelope(&envelope.Envelope{
			Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, Content: bytes.Repeat([]byte{7}, 300)})
		bad := [][]byte{[]byte("not an envelope at all"), garbageContent, unsealed, v2}
		for _, b := range bad {
			if _, err := alice.store(ctx, bob.Account(), NamespaceInbox, time.Hour, b); err != nil {
				t.Fatal(err)
			}
		}
		before := bob.Stats().Dropped
		if _, err := alice.Send(ctx, bob.Account(), "still arrives"); err != nil {
			t.Fatal(err)
		}
		got, err := bob.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := bob.Stats().Dropped - before; d != int64(len(bad)) {
			t.Fatalf("dropped %d messages, want %d", d, len(bad))
		}
		found := false
		for _, m := range got {
			found = found || m.Text == "still arrives"
		}
		if !found {
			t.Fatal("the good message after the bad ones did not arrive")
		}
		dropped := 0
		for len(events) > 0 {
			if e := <-events; e.Kind == EventDropped {
				dropped++
			}
		}
		if dropped != len(bad) {
			t.Fatalf("%d EventDropped, want %d", dropped, len(bad))
		}
		// Dropped once: the next poll does not count them again.
		if _, err := bob.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if d := bob.Stats().Dropped - before; d != int64(len(bad)) {
			t.Fatalf("a second poll dropped them again (%d)", d)
		}
	})
}

// standaloneNode returns the standalone node as the client sees it.
func standaloneNode(t testing.TB, c *Client) snapshotNode {
	t.Helper()
	ms, err := c.dir.SwarmFor(context.Background(), c.Account())
	if err != nil || len(ms) != 1 {
		t.Fatalf("standalone swarm: %v, %v", ms, err)
	}
	return ms[0]
}

// TestDisappearingTTL: a conversation's after-send timer bounds the swarm
// TTL of the recipient's copy and of the sync copy.
func TestDisappearingTTL(t *testing.T) {
	nd := startStandalone(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"off", 0, InboxTTL},
		{"one hour", time.Hour, time.Hour},
		{"one second, raised to the minimum TTL", time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := alice.SetDisappearAfterSend(bob.Account(), tc.after); err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Send(ctx, bob.Account(), tc.name); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				c    *Client
				ns   int32
				want time.Duration
				// The sync copy disappears with the message it carries.
			}{{bob, NamespaceInbox, tc.want}, {alice, NamespaceSync, tc.want}} {
				msgs, err := p.c.retrieve(ctx, standaloneNode(t, p.c), p.ns, time.Time{}, "")
				if err != nil {
					t.Fatal(err)
				}
				last := msgs[len(msgs)-1]
				if got := time.Duration(last.Expiration-last.Timestamp) * time.Millisecond; got != p.want {
					t.Fatalf("namespace %d copy lives %v, want %v", p.ns, got, p.want)
				}
			}
		})
	}
}

// TestEvents: a subscriber sees its messages sent and received.
func TestEvents(t *testing.T) {
	nd := startStandalone(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	aev, astop := alice.Subscribe(8)
	bev, bstop := bob.Subscribe(8)
	m, err := alice.Send(ctx, bob.Account(), "evented")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	astop()
	bstop()
	kinds := func(ch <-chan Event) map[EventKind][]Message {
		out := map[EventKind][]Message{}
		for e := range ch {
			out[e.Kind] = append(out[e.Kind], e.Message)
		}
		return out
	}
	if got := kinds(aev)[EventSent]; len(got) != 1 || got[0].MessageID != m.MessageID {
		t.Fatalf("alice's EventSent: %+v", got)
	}
	if got := kinds(bev)[EventReceived]; len(got) != 1 || got[0].MessageID != m.MessageID || !got[0].Sender.Equal(alice.Account()) {
		t.Fatalf("bob's EventReceived: %+v", got)
	}
}

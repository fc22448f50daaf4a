package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// lostAnswers is a Transport whose stores all reach the node, and whose
// next lose stores into a namespace in lost lose their answer on the way
// back, as when a path breaks or times out after the destination stored.
// It records the hash of every store it carries, by namespace.
type lostAnswers struct {
	Transport
	lost map[int32]bool
	lose atomic.Int64

	mu     sync.Mutex
	hashes map[int32][]string
}

func newLostAnswers(namespaces ...int32) *lostAnswers {
	l := &lostAnswers{Transport: NewDirectTransport(), lost: map[int32]bool{}, hashes: map[int32][]string{}}
	for _, ns := range namespaces {
		l.lost[ns] = true
	}
	return l
}

func (l *lostAnswers) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	var req struct {
		Method string
		Params json.RawMessage
	}
	if json.Unmarshal(body, &req) != nil || req.Method != rpc.MethodStore {
		return l.Transport.Do(ctx, n, body)
	}
	r, err := rpc.ParseStore(req.Params)
	if err != nil {
		return l.Transport.Do(ctx, n, body)
	}
	l.mu.Lock()
	l.hashes[r.Namespace] = append(l.hashes[r.Namespace], rpc.MessageHash(r.Account, r.Namespace, r.Data))
	l.mu.Unlock()
	status, resp, err := l.Transport.Do(ctx, n, body)
	if err == nil && status == 200 && l.lost[r.Namespace] && l.lose.Add(-1) >= 0 {
		return 0, nil, errors.New("path timed out")
	}
	return status, resp, err
}

// stores returns the hashes of the stores into ns so far.
func (l *lostAnswers) stores(ns int32) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hashes[ns])
}

// held returns the hashes c's standalone node holds for c in ns.
func held(t *testing.T, c *Client, ns int32) []string {
	t.Helper()
	msgs, err := c.retrieve(context.Background(), standaloneNode(t, c), ns, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Hash)
	}
	return out
}

// TestOutboxRetrySameBytes: a message's stores, to the recipient's inbox
// and the own sync namespace, land, but their answers are lost. The
// outbox retries each with the bytes it stored first, so the node sees
// the same hash and holds one copy of each: no second deposit, as every
// retry of a store that had landed used to make (protocol v2 seals with
// fresh keys each time). The recipient gets the message once; the own
// sync copy that comes back to the sender is the one it marked seen.
func TestOutboxRetrySameBytes(t *testing.T) {
	nd := startStandalone(t)
	tr := newLostAnswers(NamespaceInbox, NamespaceSync)
	tr.lose.Store(2)
	alice := openV2(t, newHome(t), Options{Standalone: nd, Transport: tr})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if err := bob.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := alice.Send(ctx, bob.Account(), "once")
	if err != nil {
		t.Fatal(err)
	}
	// The send's own attempts lost their answers; the flush it runs
	// retries them.
	waitFor(t, "the outbox empty", func() bool {
		if _, err := alice.FlushOutbox(ctx); err != nil {
			t.Logf("flush: %v", err)
		}
		left, err := alice.db.Outbox()
		return err == nil && len(left) == 0
	})
	if tr.lose.Load() >= 0 {
		t.Fatalf("%d answers left to lose: the test lost none of some store", tr.lose.Load()+1)
	}
	for _, ns := range []int32{NamespaceInbox, NamespaceSync} {
		stores := tr.stores(ns)
		if len(stores) < 2 && ns == NamespaceInbox {
			t.Fatalf("namespace %d: %d stores, want the lost one and its retry", ns, len(stores))
		}
		for _, h := range stores[1:] {
			if h != stores[0] {
				t.Errorf("namespace %d: a retry stored %s, the first attempt %s: sealed anew", ns, h, stores[0])
			}
		}
	}
	if got := held(t, bob, NamespaceInbox); len(got) != 1 {
		t.Errorf("bob's inbox holds %d messages, want 1: %v", len(got), got)
	}
	if got := held(t, alice, NamespaceSync); len(got) != 1 {
		t.Errorf("alice's sync namespace holds %d copies, want 1: %v", len(got), got)
	} else if m, err = alice.Message(m.ID); err != nil || m.Status != "sent" {
		t.Errorf("message %+v, %v; want sent", m, err)
	} else if !slices.Equal(m.SwarmHashes, got) {
		// The copy in the own swarm that chat delete must remove,
		// recorded once although it was stored twice.
		t.Errorf("the message's swarm hashes are %v, want the sync copy's %v", m.SwarmHashes, got)
	}
	got, err := bob.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Text != "once" {
		t.Errorf("bob received %+v, want the one message", got)
	}
}

// TestOutboxResealsOldCopy: the outbox stores the bytes it sealed for an
// item's first attempt again while they are younger than outboxReseal,
// and seals anew after that (or when the clock went back past the seal),
// since a copy stored later could outlive the recipient's prekey. Both
// hold across a restart: the sealed bytes are in the database.
func TestOutboxResealsOldCopy(t *testing.T) {
	tests := []struct {
		name    string
		age     time.Duration // of the sealed copy at the retry
		restart bool
		same    bool
	}{
		{name: "fresh", age: 0, same: true},
		{name: "fresh after a restart", age: 0, restart: true, same: true},
		{name: "just under the limit", age: outboxReseal - time.Minute, same: true},
		{name: "at the limit", age: outboxReseal, same: false},
		{name: "days old", age: 3 * 24 * time.Hour, same: false},
		{name: "clock went back", age: -time.Hour, same: false},
	}
	nd := startStandalone(t)
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if err := bob.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newLostAnswers(NamespaceInbox)
			home := newHome(t)
			alice := openV2(t, home, Options{Standalone: nd, Transport: tr})
			before := len(held(t, bob, NamespaceInbox))
			if _, err := bob.Poll(ctx); err != nil { // what earlier cases left
				t.Fatal(err)
			}
			if _, err := alice.Queue(bob.Account(), tc.name); err != nil {
				t.Fatal(err)
			}
			tr.lose.Store(1)
			// The lost answer is the flush's error: the network looked
			// out of reach at the end.
			if _, err := alice.FlushOutbox(ctx); err != nil && !errors.Is(err, ErrUnreachable) {
				t.Fatal(err)
			}
			first := tr.stores(NamespaceInbox)
			if len(first) != 1 {
				t.Fatalf("%d inbox stores in the first flush, want 1", len(first))
			}
			var it clientdb.OutboxItem
			items, err := alice.db.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range items {
				if x.Namespace == int(NamespaceInbox) {
					it = x
				}
			}
			if it.Sealed == nil || rpc.MessageHash(bob.Account(), NamespaceInbox, it.Sealed) != first[0] {
				t.Fatalf("the outbox kept no copy of the bytes stored (item %+v)", it)
			}
			if err := alice.db.SetOutboxSealed(it.ID, it.Sealed, it.SealedAt.Add(-tc.age)); err != nil {
				t.Fatal(err)
			}
			if tc.restart {
				alice.Close()
				alice = openV2(t, home, Options{Standalone: nd, Transport: tr})
			}
			waitFor(t, "the outbox empty", func() bool {
				if _, err := alice.FlushOutbox(ctx); err != nil {
					t.Logf("flush: %v", err)
				}
				left, err := alice.db.Outbox()
				return err == nil && len(left) == 0
			})
			stores := tr.stores(NamespaceInbox)
			if len(stores) != 2 {
				t.Fatalf("%d inbox stores, want the lost one and its retry", len(stores))
			}
			want := 1
			if !tc.same {
				want = 2
			}
			if same := stores[1] == stores[0]; same != tc.same {
				t.Errorf("the retry stored the first bytes again: %v, want %v", same, tc.same)
			}
			if got := len(held(t, bob, NamespaceInbox)) - before; got != want {
				t.Errorf("bob's inbox gained %d messages, want %d", got, want)
			}
			// Either way bob sees the message once (deduplicated by its
			// message ID).
			got, err := bob.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Text != tc.name {
				t.Errorf("bob received %d messages, want the one", len(got))
			}
		})
	}
}

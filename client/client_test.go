package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keystore"
	"github.com/hushnet/hush/protocol/snapshot"
)

// startStandalone runs a real standalone node until the test ends.
func startStandalone(t testing.TB) *snapshot.Node { return startStandaloneWith(t) }

const testPass = "correct horse"

// newHome creates an account in a fresh home and returns the home.
func newHome(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	if _, err := keystore.Create(filepath.Join(home, keyFile), identity.NewSeed(), []byte(testPass), keystore.TestParams, false); err != nil {
		t.Fatal(err)
	}
	return home
}

// fastRetry makes failed outbox items due again almost at once.
var fastRetry = Backoff{Base: time.Millisecond, Max: time.Millisecond}

func open(t testing.TB, home string, o Options) *Client {
	t.Helper()
	o.Home, o.Passphrase = home, []byte(testPass)
	o.OutboxBackoff = fastRetry
	c, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// switchable is a Transport that can be cut off, as when every node is
// down or the machine is offline.
type switchable struct {
	Transport
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *switchable) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	if s.down.Load() {
		return 0, nil, errDown
	}
	return s.Transport.Do(ctx, n, body)
}

// exchangeMessages is how many messages each side sends in TestExchange:
// 50, or 100 with -tags slow (slow_test.go; it was 100, some six minutes under -race on
// a busy machine; every message goes the same way, and one retrieve page
// holds them all either way, rpc.RetrieveMaxCount).
var exchangeMessages = 50

func TestExchange(t *testing.T) {
	nd := startStandalone(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	n := exchangeMessages
	for i := range n {
		for _, p := range []struct {
			from, to *Client
		}{{alice, bob}, {bob, alice}} {
			m, err := p.from.Send(ctx, p.to.Account(), fmt.Sprintf("%s→%d", p.from.Account().Short(), i))
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != "sent" {
				t.Fatalf("message %d: status %s, want sent", i, m.Status)
			}
		}
	}
	for _, p := range []struct {
		name     string
		self, to *Client
	}{{"alice", alice, bob}, {"bob", bob, alice}} {
		t.Run(p.name, func(t *testing.T) {
			got, err := p.self.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("poll returned %d new messages, want %d", len(got), n)
			}
			if again, err := p.self.Poll(ctx); err != nil || len(again) != 0 {
				t.Fatalf("second poll: %d messages, %v; want none", len(again), err)
			}
			h, err := p.self.History(p.to.Account())
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2*n {
				t.Fatalf("history has %d messages, want %d", len(h), 2*n)
			}
			in := 0
			for i, m := range h {
				if i > 0 && m.SentAt.Before(h[i-1].SentAt) {
					t.Fatalf("message %d sent at %v before message %d at %v", i, m.SentAt, i-1, h[i-1].SentAt)
				}
				if m.Outgoing {
					continue
				}
				if !m.Sender.Equal(p.to.Account()) {
					t.Fatalf("incoming message %d from %s", i, m.Sender)
				}
				if want := fmt.Sprintf("%s→%d", p.to.Account().Short(), in); m.Text != want {
					t.Fatalf("incoming message %d is %q, want %q", in, m.Text, want)
				}
				in++
			}
			if in != n {
				t.Fatalf("%d incoming messages, want %d", in, n)
			}
			if s := p.self.Stats(); s.Dropped != 0 {
				t.Fatalf("dropped %d messages", s.Dropped)
			}
		})
	}
}

type snapshotNode = snapshot.Node

func newAccountID(t testing.TB) identity.AccountID {
	t.Helper()
	return identity.NewAccount().ID()
}

type snapshotKey = identity.Ed25519PublicKey

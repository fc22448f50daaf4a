package client

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/internal/misbehave"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/protocol/snapshot"
)

// startStandaloneWith is startStandalone with node options (a
// misbehaving node's wrapper).
func startStandaloneWith(t testing.TB, opts ...node.Option) *snapshot.Node {
	t.Helper()
	n := nodetest.Start(t, nodetest.Standalone(t), opts...)
	return &snapshot.Node{Address: n.Addr().String(), Ed25519: n.Identity().Ed25519Public()}
}

// TestLyingClock: the only node a client reaches says it is 16 days (or
// 5 days, within the offset bound) later than it is. The client deletes
// no prekey, drops no queued message and expires nothing; it warns that
// its clock and the network's disagree.
func TestLyingClock(t *testing.T) {
	for _, lie := range []time.Duration{16 * 24 * time.Hour, 5 * 24 * time.Hour} {
		t.Run(lie.String(), func(t *testing.T) {
			liar := &misbehave.Node{TimeLie: lie}
			nd := startStandaloneWith(t, node.WithRPCWrapper(liar.Wrap))
			var logs lockedBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx := context.Background()
			alice := openV2(t, newHome(t), Options{Standalone: nd, Logger: logger})
			bob := openV2(t, newHome(t), Options{Standalone: nd, Logger: logger})
			if _, err := alice.Send(ctx, bob.Account(), "before"); err != nil {
				t.Fatal(err)
			}
			epochs := func(c *Client) []uint64 {
				var out []uint64
				for _, cl := range []prekey.Class{prekey.Inbox, prekey.Sync} {
					k, err := c.prekeys(c.device.ID, cl)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, k.Epochs()...)
				}
				return out
			}
			before := epochs(bob)
			liar.Set(misbehave.LieTime)
			if _, err := alice.Queue(bob.Account(), "during"); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				alice.Sync(ctx)
				bob.Sync(ctx)
			}
			after := epochs(bob)
			for _, e := range before {
				if !slices.Contains(after, e) {
					t.Fatalf("prekey of epoch %d deleted: held %v, now %v", e, before, after)
				}
			}
			liar.Set(misbehave.Honest)
			for range 2 {
				alice.Sync(ctx)
				bob.Sync(ctx)
			}
			h, err := bob.History(alice.Account())
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(h); !slices.Contains(got, "before") || !slices.Contains(got, "during") {
				t.Fatalf("bob has %v", got)
			}
			if !strings.Contains(logs.String(), "clock") {
				t.Fatalf("no warning about the clock:\n%s", logs.String())
			}
		})
	}
}

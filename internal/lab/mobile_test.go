//go:build lab && linux

package lab

import (
	"testing"
	"time"

	"github.com/hushnet/hush/internal/labnet"
)

// TestLabMobileClient puts alice behind a lossy mobile link (80 ms,
// ±20 ms jitter, 2% segment loss, which TCP turns into stalls) while
// the nodes and bob sit on a LAN: both directions complete, and nobody
// is shown a message twice.
func TestLabMobileClient(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	o.Links = labnet.File{Default: "lan", Rules: []labnet.FileRule{{A: "10.77.20.1", B: "0.0.0.0/0", Profile: "mobile"}}}
	_, alice, bob := startPair(t, ctx, l, o)
	ledger := NewLedger()
	start := time.Now()
	(&sender{t: t, from: alice, to: bob, ledger: ledger}).send(ctx, "from mobile", 5)
	(&sender{t: t, from: bob, to: alice, ledger: ledger, n: 100}).send(ctx, "to mobile", 5)
	receiveAll(ctx, t, bob, ledger, 20)
	receiveAll(ctx, t, alice, ledger, 20)
	// One more poll each: nothing is shown again.
	for _, c := range []*Client{alice, bob} {
		ms, err := c.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ledger.Received(c.ID, ms)
	}
	checkLedger(t, ledger)
	t.Logf("10 messages both ways with a mobile client in %v", time.Since(start).Round(time.Millisecond))
}

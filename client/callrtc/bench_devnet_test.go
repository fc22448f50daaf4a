package callrtc_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
)

// TestCallSetupFigures measures, on one devnet in one run, the call setup
// time (call started: pre-offer and offer sent at once → audio flowing
// both ways, the callee answering as soon as it rings) through TURN
// (relay-only) and in direct mode, against the latency of one onion RPC
// (an info request through an onion path). It is the note's benchmark,
// not a default test: HUSH_CALL_FIGURES=N runs N of each.
func TestCallSetupFigures(t *testing.T) {
	n := 0
	if v := os.Getenv("HUSH_CALL_FIGURES"); v != "" {
		json.Unmarshal([]byte(v), &n)
	}
	if n <= 0 {
		t.Skip("set HUSH_CALL_FIGURES=N to measure")
	}
	d := startDevnet(t)
	var ice []client.ICEServer // the devnet's hushd turn
	var alog, blog sentLog
	alice, bob := newClient(t, d, &alog), newClient(t, d, &blog)
	befriend(t, alice, bob)
	run(t, alice)
	run(t, bob)
	ctx := context.Background()

	var rpc []time.Duration
	for range 4 * n {
		start := time.Now()
		if _, err := alice.RPC(ctx, "info", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		rpc = append(rpc, time.Since(start))
	}
	setup := map[client.CallMode][]time.Duration{}
	for range n {
		for _, mode := range []client.CallMode{client.CallsRelay, client.CallsDirect} {
			for _, c := range []*client.Client{alice, bob} {
				if err := c.SetCallMode(mode); err != nil {
					t.Fatal(err)
				}
			}
			as, bs, took := callOnce(t, alice, bob, ice, callrtc.Tone(440, 1, 0.5))
			p := pairOf(t, as)
			setup[mode] = append(setup[mode], took)
			t.Logf("%s: %v (%s/%s)", mode, took, p.Local, p.Remote)
			as.Hangup(ctx)
			<-bs.Done()
			bs.Close()
		}
	}
	t.Logf("one onion RPC: median %v of %d (min %v, max %v)", median(rpc), len(rpc), slices.Min(rpc), slices.Max(rpc))
	for _, mode := range []client.CallMode{client.CallsRelay, client.CallsDirect} {
		s := setup[mode]
		t.Logf("call setup, %s: median %v of %d (min %v, max %v)", mode, median(s), len(s), slices.Min(s), slices.Max(s))
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

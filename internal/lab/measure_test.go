//go:build lab && linux

package lab

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/labnet"
)

// clientNet holds every client-side host of TestLabMeasure.
const clientNet = "10.77.20.0/22"

// TestLabMeasure measures, in one network, how many sequential round
// trips a request costs: the clients' links alone, then every link, are
// set to each profile, and each figure is compared with the LAN figure
// of the same run: (t − t_LAN) / (RTT − RTT_LAN) round trips. Measured:
// a warm direct storage RPC (one round trip by construction: the
// calibration), a warm onion RPC through guard + 2 relays, and the CLI's
// send and receive (a process each: opening the account, a fresh TLS
// connection to the guard, the store through a path, the sync). It
// asserts nothing about speed; the figures go to the log.
func TestLabMeasure(t *testing.T) {
	ctx := testCtx(t, 20*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	n, alice, bob := startPair(t, ctx, l, o)
	meter, err := l.AddHost("meter", "10.77.22.1")
	if err != nil {
		t.Fatal(err)
	}
	dest := n.Nodes[5]
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	s.send(ctx, "warm-up", 1)
	receiveAll(ctx, t, bob, ledger, 5)

	type figures struct{ direct, onion, send, receive time.Duration }
	measure := func(name string) figures {
		res := runHelper(ctx, t, l, meter, helperJob{Mode: "rtt", Network: n.NetPath, Count: 7,
			Nodes: []helperNode{{Address: dest.Host.Addr + ":" + NodePort, Key: dest.Key}}})
		var f figures
		f.direct, f.onion = median(res.Direct), median(res.Onion)
		var sends, receives []time.Duration
		for i := range 5 {
			start := time.Now()
			s.send(ctx, name, 1)
			sends = append(sends, time.Since(start))
			start = time.Now()
			ms, err := bob.Receive(ctx)
			receives = append(receives, time.Since(start))
			if err != nil {
				t.Fatalf("%s receive %d: %v", name, i, err)
			}
			ledger.Received(bob.ID, ms)
		}
		f.send, f.receive = median(sends), median(receives)
		return f
	}
	setLinks := func(f labnet.File) {
		if err := n.SetLinks(f); err != nil {
			t.Fatal(err)
		}
		// Every process looks at the file every 250 ms.
		time.Sleep(2 * time.Second)
	}

	base := measure("lan")
	var lines []string
	lines = append(lines, fmt.Sprintf("%-26s %9s %9s %9s %9s   round trips: %s %s %s %s",
		"profile/links", "direct", "onion", "send", "receive", "direct", "onion", "send", "receive"))
	row := func(label string, f figures, rtt time.Duration) {
		rt := func(d, b time.Duration) string {
			if rtt <= labnet.LAN.RTT {
				return "-"
			}
			return fmt.Sprintf("%.1f", float64(d-b)/float64(rtt-labnet.LAN.RTT))
		}
		lines = append(lines, fmt.Sprintf("%-26s %9v %9v %9v %9v   %s %s %s %s", label,
			f.direct.Round(100*time.Microsecond), f.onion.Round(100*time.Microsecond), f.send.Round(time.Millisecond), f.receive.Round(time.Millisecond),
			rt(f.direct, base.direct), rt(f.onion, base.onion), rt(f.send, base.send), rt(f.receive, base.receive)))
	}
	row("lan (all links 1 ms)", base, labnet.LAN.RTT)
	for _, p := range []string{"continental", "intercontinental", "mobile"} {
		rtt := labnet.Profiles[p].RTT
		setLinks(labnet.File{Default: "lan", Rules: []labnet.FileRule{{A: clientNet, B: "0.0.0.0/0", Profile: p}}})
		row(p+", client links", measure(p+" client"), rtt)
		setLinks(labnet.File{Default: p})
		row(p+", all links", measure(p+" all"), rtt)
	}
	setLinks(labnet.File{Default: "lan"})
	receiveAll(ctx, t, bob, ledger, 10)
	checkLedger(t, ledger)
	t.Logf("medians, and round trips of the changed links beyond the LAN run:\n%s", strings.Join(lines, "\n"))
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

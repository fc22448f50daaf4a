//go:build lab && linux

package lab

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/paths"
)

// TestLabAddresses checks what only distinct real addresses can show:
// the client's paths never put two relays of one /24 together (three
// nodes share 10.77.1.0/24, two share 10.77.2.0/24), and a node's per-IP
// limit refuses a flooding address while another address is served.
func TestLabAddresses(t *testing.T) {
	ctx := testCtx(t, 10*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.1.3", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1", "10.77.5.1"})
	// A low per-IP budget, so a flood from one host is refused quickly
	// whatever the machine's speed.
	o.NodeArgs = append(o.NodeArgs, "--rate-limit-burst", "50", "--rate-limit-per-second", "10")
	n, alice, bob := startPair(t, ctx, l, o)
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	s.send(ctx, "path", 3)
	receiveAll(ctx, t, bob, ledger, 10)
	checkLedger(t, ledger)

	t.Run("slash24", func(t *testing.T) {
		nodeAddrs := map[string]bool{}
		for _, s := range n.Nodes {
			nodeAddrs[s.Host.Addr+":"+NodePort] = true
		}
		for _, c := range []*Client{alice, bob} {
			out, err := c.Run(ctx, "path", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var r paths.Report
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Paths) == 0 {
				t.Fatalf("%s has no paths", c.Host.Name)
			}
			for _, p := range r.Paths {
				nets := map[netip.Prefix]bool{}
				var addrs []string
				for _, h := range p.Hops {
					addrs = append(addrs, h.Address)
					if !nodeAddrs[h.Address] {
						t.Errorf("%s: hop %s is no lab node's address", c.Host.Name, h.Address)
					}
					ap, err := netip.ParseAddrPort(h.Address)
					if err != nil {
						t.Fatal(err)
					}
					nets[netip.PrefixFrom(ap.Addr(), 24).Masked()] = true
				}
				if len(p.Hops) != paths.Relays || len(nets) != len(p.Hops) {
					t.Errorf("%s: path %v has %d hops in %d /24s", c.Host.Name, addrs, len(p.Hops), len(nets))
				}
				t.Logf("%s: path %v", c.Host.Name, addrs)
			}
		}
	})

	t.Run("per-IP limit", func(t *testing.T) {
		target := []helperNode{{Address: n.Nodes[3].Host.Addr + ":" + NodePort, Key: n.Nodes[3].Key}}
		flooder, err := l.AddHost("flood", "10.77.30.1")
		if err != nil {
			t.Fatal(err)
		}
		other, err := l.AddHost("other", "10.77.31.1")
		if err != nil {
			t.Fatal(err)
		}
		res := runHelper(ctx, t, l, flooder, helperJob{Mode: "flood", Nodes: target, Count: 400, Parallel: 16})
		t.Logf("flood from %s: %v", flooder.Addr, res.Statuses)
		if res.Statuses[429] == 0 {
			t.Fatalf("400 calls from one address against a budget of 50 + 10/s: none refused (%v)", res.Statuses)
		}
		res = runHelper(ctx, t, l, other, helperJob{Mode: "flood", Nodes: target, Count: 20, Parallel: 1})
		t.Logf("right after, from %s: %v", other.Addr, res.Statuses)
		if res.Statuses[200] != 20 {
			t.Fatalf("another address was refused too: %v", res.Statuses)
		}
	})
}

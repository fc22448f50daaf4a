package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/push/pushtest"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestPushChurnDevnet is issue 16's churn test on hushd processes: bob
// subscribes with a Web Push receiver; two members of his swarm are
// killed (SIGKILL), the registry drops them and reshapes the swarms, and
// bob's namespace-4 record and alice's messages are handed off to members
// new to his swarm; then the killed nodes come back and are assigned
// again. Before, between and after the steps alice sends, and each
// message wakes bob exactly once. The hand-offs themselves wake nobody:
// a node that received bob's messages only by hand-off counted no new
// deposit, the push server received no notify and the receiver no push
// while no message was sent.
func TestPushChurnDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hushd processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute) // the devnet may take six to form
	defer cancel()

	ca := pushtest.NewCA(t)
	web := pushtest.StartWebPush(t, ca)
	roots := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(roots, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("build hushd: %v\n%s", err, out)
	}
	const nodes = 8 // two swarms of four; two killed leave bob's below the minimum
	metrics := freeAddrs(t, nodes+1)
	d, err := devnet.Up(ctx, devnet.Options{
		// Six minutes to form, as the CLI scripts give it: the two-minute
		// default was passed under -race on a loaded machine.
		Timeout: 6 * time.Minute,
		Dir:     t.TempDir(), Nodes: nodes, Processes: true, HushdPath: bin,
		// The registry drops a dead member within seconds; long enough
		// that a member busy on a loaded machine is not dropped.
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, UnreachableAfter: 5 * time.Second,
		AntiEntropyInterval: 500 * time.Millisecond,
		Push:                func(c *config.Push) { c.TestExtraRoots, c.Metrics = roots, metrics[nodes] },
		Node: func(i int, c *config.Node) {
			c.Metrics = metrics[i]
			// One notify per message, not one per coalescing window.
			c.PushNotifyInterval = config.Duration(100 * time.Millisecond)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	index := map[identity.Ed25519PublicKey]int{}
	nc := make([]*nodeclient.Client, nodes)
	for _, n := range d.Nodes() {
		index[n.Ed25519] = n.Index
		if nc[n.Index], err = nodeclient.New("https://"+n.Address, n.Ed25519); err != nil {
			t.Fatal(err)
		}
	}

	o := Options{Network: d.Network()}
	alice, bob := open(t, newHome(t), o), open(t, newHome(t), o)
	bob.AddContact(alice.Account(), "alice")
	alice.AddContact(bob.Account(), "bob")
	sub := web.Subscribe(t)
	waitForLong(t, time.Minute, "the subscription", func() bool {
		err := bob.SubscribePush(ctx, PushTarget{WebPush: &WebPushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}})
		if err != nil {
			t.Logf("subscribe: %v", err)
		}
		return err == nil
	})

	swarm := func() []int {
		t.Helper()
		_, s, err := devnet.FetchSnapshot(ctx, d.Network())
		if err != nil {
			t.Fatal(err)
		}
		_, members, ok := s.SwarmOf(bob.Account())
		if !ok {
			t.Fatal("bob has no swarm")
		}
		var out []int
		for _, m := range members {
			out = append(out, index[m.Ed25519])
		}
		slices.Sort(out)
		return out
	}
	// held is the hashes node i holds for bob in namespace ns.
	held := func(i int, ns int32) []string {
		params, _ := json.Marshal(map[string]any{"namespace": ns})
		body, err := nc[i].Signed(ctx, bob.acct, rpc.MethodRetrieve, params)
		if err != nil {
			return nil
		}
		var res rpc.RetrieveResult
		if json.Unmarshal(body, &res) != nil {
			return nil
		}
		var hs []string
		for _, m := range res.Messages {
			hs = append(hs, m.Hash)
		}
		return hs
	}
	serverNotifies := func() float64 {
		return scrape(t, metrics[nodes], "hush_push_requests_total", `op="notify"`)
	}
	nodeCount := func(i int, name, label string) float64 {
		if !d.Running(i) {
			return 0
		}
		return scrape(t, metrics[i], name, label)
	}

	// send sends one message and waits for its push, which must name it
	// and be the only one: pushes of earlier messages are all in seen.
	seen := map[string]bool{}
	var sent []string
	received := 0 // pushes taken from web.Pushes
	send := func(text string) {
		t.Helper()
		members := swarm()
		before := make([]float64, nodes)
		for _, i := range members {
			before[i] = nodeCount(i, "hush_pushnotify_notifies_total", "")
		}
		if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
			t.Fatal(err)
		}
		var p pushtest.Push
		select {
		case p = <-web.Pushes:
		case r := <-web.Refused:
			t.Fatalf("the receiver refused a push: %s", r)
		case <-ctx.Done():
			t.Fatalf("no push for %q", text)
		}
		in, err := bob.OpenPush(p.Payload)
		if err != nil || in.Test || in.Hash == "" || in.Namespace != 0 {
			t.Fatalf("OpenPush = %+v, %v", in, err)
		}
		if seen[in.Hash] {
			t.Fatalf("a second push for message %s", in.Hash)
		}
		seen[in.Hash] = true
		sent = append(sent, in.Hash)
		// Let every member finish its notify (each sends one; the push
		// server drops the repeats), so that the next quiet window
		// starts quiet.
		waitForLong(t, 2*time.Minute, "every member's notify", func() bool {
			for _, i := range members {
				if d.Running(i) && nodeCount(i, "hush_pushnotify_notifies_total", "") <= before[i] {
					return false
				}
			}
			return true
		})
		received++
		// Wait until the push server has settled, and fail on any further
		// push for this send: a store the outbox retried after its first
		// attempt had in fact landed sends the same bytes (send.go
		// outboxReseal), so it is no new deposit on a member that holds
		// it, and on a member new to the swarm a deposit of the same hash,
		// whose notify the push server drops as a repeated tag. (Sealed
		// anew, as it was before, it was a second message and a second
		// push.)
		last, since := -1.0, time.Now()
		waitForLong(t, 2*time.Minute, "the push server's pushes all received", func() bool {
			select {
			case p := <-web.Pushes:
				in, err := bob.OpenPush(p.Payload)
				t.Fatalf("%q: a second push (%+v, %v): a retried store was a new deposit", text, in, err)
			case r := <-web.Refused:
				t.Fatalf("the receiver refused a push: %s", r)
			default:
			}
			// Settled: no notify reached the server for a second.
			if n := serverNotifies(); n != last {
				last, since = n, time.Now()
			}
			return time.Since(since) >= time.Second && scrape(t, metrics[nodes], "hush_push_sends_total", `result="ok"`) <= float64(received)
		})
		t.Logf("%q: one push, swarm %v, %v notifies at the push server", text, members, serverNotifies())
	}

	// quiet runs step, which changes bob's swarm, and waits until every
	// member of his new swarm holds his record and every message; no
	// deposit, notify or push may happen meanwhile on a node new to it.
	quiet := func(what string, mustGain bool, step func()) {
		t.Helper()
		old := swarm()
		deposits := make([]float64, nodes)
		for i := range nodes {
			deposits[i] = nodeCount(i, "hush_pushnotify_deposits_total", "")
		}
		notifies := serverNotifies()
		step()
		var now []int
		waitForLong(t, 3*time.Minute, what+": bob's record and messages on every member", func() bool {
			now = swarm()
			for _, i := range now {
				if !d.Running(i) || len(held(i, push.Namespace)) == 0 {
					return false
				}
				if h := held(i, 0); !containsAll(h, sent) {
					return false
				}
			}
			return true
		})
		var fresh []int
		for _, i := range now {
			if !slices.Contains(old, i) {
				fresh = append(fresh, i)
			}
		}
		if len(fresh) == 0 && mustGain {
			t.Fatalf("%s: bob's swarm %v gained no member (was %v)", what, now, old)
		}
		for _, i := range fresh {
			if got := nodeCount(i, "hush_pushnotify_deposits_total", ""); got > deposits[i] {
				t.Errorf("%s: node %d, new in bob's swarm, counted %v new deposits from the hand-off", what, i, got-deposits[i])
			}
		}
		if got := serverNotifies(); got != notifies {
			t.Errorf("%s: the push server received %v notifies while nobody sent", what, got-notifies)
		}
		select {
		case p := <-web.Pushes:
			t.Errorf("%s: a push arrived while nobody sent (%d bytes)", what, len(p.Payload))
		default:
		}
		t.Logf("%s: bob's swarm %v → %v, hand-off to %v woke nobody", what, old, now, fresh)
	}

	send("before the churn")
	send("before the churn, again")

	members := swarm()
	if len(members) < 3 {
		t.Fatalf("bob's swarm %v", members)
	}
	killed := members[:2]
	if len(members) == 3 {
		killed = members[:1] // below the minimum already
	}
	listed := func(i int, want bool) func() bool {
		return func() bool {
			_, s, err := devnet.FetchSnapshot(ctx, d.Network())
			if err != nil {
				return false
			}
			n, ok := s.Node(d.Nodes()[i].Ed25519)
			return (ok && n.Swarm != snapshot.Unassigned) == want
		}
	}
	quiet("killing "+fmt.Sprint(killed), true, func() {
		for _, i := range killed {
			if err := d.Kill(i); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range killed {
			waitForLong(t, 2*time.Minute, "the registry to drop a killed member", listed(i, false))
		}
	})
	send("after the kill")

	quiet("restarting "+fmt.Sprint(killed), false, func() {
		for _, i := range killed {
			if err := d.Restart(i); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range killed {
			waitForLong(t, 2*time.Minute, "the registry to assign a restarted member", listed(i, true))
		}
	})
	send("after the restart")

	// Every message had its push and no other (send fails the test
	// otherwise): a retried store is the same hash, never a push of its
	// own.
	t.Logf("%d messages, %d distinct pushes", len(sent), len(seen))
}

// containsAll reports whether every one of want is in have.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// freeAddrs returns n loopback addresses with ports free right now.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// scrapeClient reaches loopback directly, whatever the environment's proxy.
var scrapeClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}

// scrape sums the samples of the Prometheus metric name whose labels
// contain label, from the /metrics endpoint at addr; 0 when it is not
// answering (a node just restarted counts from zero).
func scrape(t *testing.T, addr, name, label string) float64 {
	t.Helper()
	resp, err := scrapeClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Logf("scrape: %v", err)
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') || !strings.Contains(rest, label) {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

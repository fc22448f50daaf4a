package relaytest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// attackerIP is where misbehaving clients dial from: not ClientIP, so
// that per-address limits tell them from the honest client.
const attackerIP = "127.0.0.3"

// waitFor polls cond until it holds. The deadline is generous: it only
// bounds a broken test, never paces a passing one.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countAt wraps node 0's handler to count the requests that reach it.
func countAt(n *atomic.Int64) func(int, http.Handler) http.Handler {
	return func(i int, h http.Handler) http.Handler {
		if i != 0 {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			h.ServeHTTP(w, r)
		})
	}
}

// TestSlowBodiesDoNotStarveHonestClients: an attacker holds 200 HTTP/1.1
// connections to a guard, each announcing a largest-class body and then
// sending one byte of it. Honest onion requests through that guard keep
// succeeding: one address cannot hold more than its share of requests in
// flight, and, when the attacker spreads over addresses that each stay
// under that share, a body still arriving holds no processing slot.
func TestSlowBodiesDoNotStarveHonestClients(t *testing.T) {
	const slow = 200
	tests := []struct {
		name  string
		addrs []string
	}{
		{"one address", []string{attackerIP}},
		// 29 connections each: under relay.DefaultClientInFlight.
		{"seven addresses", []string{"127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var entered atomic.Int64
			// 64 slots: fewer than the attacker's connections, so that slots
			// taken before the body is read would run out.
			nw := relaytest.Start(t, relaytest.Options{Nodes: 4, MaxInFlight: 64, Front: countAt(&entered)})
			guard := nw.Nodes[0].Info
			conns := make([]net.Conn, 0, slow)
			t.Cleanup(func() {
				for _, c := range conns {
					c.Close()
				}
			})
			for i := range slow {
				d := tls.Dialer{
					NetDialer: &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.addrs[i%len(tt.addrs)])}},
					Config:    &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}},
				}
				c, err := d.DialContext(context.Background(), "tcp", guard.Address)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: node\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\nx",
					onionclient.OnionPath, onion.MaxFrameSize)
			}
			waitFor(t, "the slow requests to reach the guard", func() bool { return entered.Load() == slow })

			pool := nw.ClientPool()
			path := []snapshot.Node{guard, nw.Nodes[1].Info, nw.Nodes[2].Info}
			for i := range 20 {
				status, body, err := onionclient.Send(context.Background(), pool, path, nw.Nodes[3].Info, []byte(`{"method":"info"}`))
				if err != nil || status != http.StatusOK {
					t.Fatalf("honest request %d during the attack: %d %s %v", i, status, body, err)
				}
			}
		})
	}
}

// TestOneRelaysClientsCannotExhaustAnother: an abusive client sends, as
// fast as it may, requests through relay R that the destination D is slow
// to answer. The clients of another relay R2 still reach D: D budgets
// requests per relay identity, and R's share leaves room for R2's.
func TestOneRelaysClientsCannotExhaustAnother(t *testing.T) {
	const slots = 16
	abuser := identity.NewAccount().ID()
	release := make(chan struct{})
	var held atomic.Int64
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, MaxInFlight: slots, Wrap: func(i int, h http.Handler) http.Handler {
		if i != 3 {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(abuser.String())) {
				held.Add(1)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		})
	}})
	r, r2, dest := nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[3].Info

	// The abuser's requests all go through R to D; each is either held at
	// D or already answered (refused) before the honest client starts.
	pool := nw.ClientPool()
	var returned atomic.Int64
	var wg sync.WaitGroup
	for i := range slots {
		wg.Go(func() {
			defer returned.Add(1)
			onionclient.Send(context.Background(), pool, []snapshot.Node{r}, dest, storeBody(t, abuser, []byte{byte(i)}))
		})
	}
	defer func() { close(release); wg.Wait() }()
	waitFor(t, "the abuser's requests to be held or refused", func() bool { return held.Load()+returned.Load() == slots })
	if held.Load() == slots {
		t.Errorf("relay R holds all %d of the destination's slots", slots)
	}

	honest := nw.ClientPoolFrom("127.0.0.4")
	for i := range 5 {
		status, body, err := onionclient.Send(context.Background(), honest, []snapshot.Node{r2}, dest, []byte(`{"method":"info"}`))
		if err != nil || status != http.StatusOK {
			t.Fatalf("request %d through R2 while R's client abuses D: %d %s %v", i, status, body, err)
		}
	}
}

// TestRateBudgets: a guard limits each client address's rate of onion
// requests, and a destination each relay's, so that spending one budget
// leaves the others whole.
func TestRateBudgets(t *testing.T) {
	const burst = 3
	// Refilled once in ~12 days: the test never sees a refill.
	spent := ratelimit.Rate{Burst: burst, PerSecond: 1e-6}
	info := []byte(`{"method":"info"}`)
	tests := []struct {
		name   string
		limits relay.Limits
		// abuse and honest each send through their own path to node 3.
		abuse, honest []int
		abuseIP       string
	}{
		{"per client address at the guard", relay.Limits{ClientRate: spent}, []int{0, 1}, []int{0, 1}, attackerIP},
		// Both clients at one address: only the relays differ.
		{"per relay at the destination", relay.Limits{NodeRate: spent}, []int{0}, []int{1}, relaytest.ClientIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := relaytest.Start(t, relaytest.Options{Nodes: 4, Limits: tt.limits})
			nodes := func(idx []int) (p []snapshot.Node) {
				for _, i := range idx {
					p = append(p, nw.Nodes[i].Info)
				}
				return p
			}
			dest := nw.Nodes[3].Info
			abuser := nw.ClientPoolFrom(tt.abuseIP)
			for i := range burst {
				if status, _, err := onionclient.Send(context.Background(), abuser, nodes(tt.abuse), dest, info); err != nil || status != http.StatusOK {
					t.Fatalf("request %d within the budget: %d %v", i, status, err)
				}
			}
			if _, _, err := onionclient.Send(context.Background(), abuser, nodes(tt.abuse), dest, info); err == nil {
				t.Fatal("request past the budget succeeded")
			}
			honest := nw.ClientPool()
			for i := range burst {
				if status, _, err := onionclient.Send(context.Background(), honest, nodes(tt.honest), dest, info); err != nil || status != http.StatusOK {
					t.Fatalf("honest request %d after the abuser spent its budget: %d %v", i, status, err)
				}
			}
		})
	}
}

// TestBodyDeadline: a body that stops arriving is refused with 408 once
// Limits.BodyTimeout has passed, and a request whose body arrived in time
// is not cut short by that deadline however long the destination then
// takes (on HTTP/1.1 the server keeps reading the connection after the
// body to notice a client leaving; a deadline left set there would cancel
// the request).
func TestBodyDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var cancelled, served atomic.Bool
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3, Limits: relay.Limits{BodyTimeout: timeout}, Wrap: func(i int, h http.Handler) http.Handler {
		if i != 0 {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(3 * timeout):
			case <-r.Context().Done():
				cancelled.Store(true)
			}
			served.Store(true)
			h.ServeHTTP(w, r)
		})
	}})
	node := nw.Nodes[0].Info
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	dialer := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(relaytest.ClientIP)}}

	t.Run("trickling body", func(t *testing.T) {
		c, err := (&tls.Dialer{NetDialer: dialer, Config: tlsConf}).DialContext(context.Background(), "tcp", node.Address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: node\r\nContent-Length: %d\r\n\r\nx", onionclient.OnionPath, onion.SizeClasses[0])
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("trickling body answered %d, want 408", resp.StatusCode)
		}
	})
	t.Run("slow destination", func(t *testing.T) {
		frame, _, err := onion.Build(nil, onion.Destination{Node: hop(t, node)}, []byte(`{"method":"info"}`))
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{
			DialContext:     dialer.DialContext,
			TLSClientConfig: tlsConf,
			// An empty map turns HTTP/2 off.
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		}}
		resp, err := client.Post("https://"+node.Address+onionclient.OnionPath, "application/octet-stream", bytes.NewReader(frame))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !served.Load() || cancelled.Load() {
			t.Fatalf("status %d, served %v, cancelled %v", resp.StatusCode, served.Load(), cancelled.Load())
		}
	})
}

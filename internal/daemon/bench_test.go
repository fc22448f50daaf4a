package daemon

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// BenchmarkDaemonLatency compares, on one devnet in the same run, the time
// from an API send on alice's daemon to the "message" event on bob's
// event stream against the client library's fast-mode latency (Send on
// one Client → EventReceived on another running Run), alternating the two
// so both see the same machine load. The ratio is what the daemon's HTTP,
// JSON and SSE add.
//
//	go test -run '^$' -bench DaemonLatency -benchtime 20x ./internal/daemon
func BenchmarkDaemonLatency(b *testing.B) {
	o := startNetwork(b)

	// Two plain clients running their duties: the baseline.
	open := func() *client.Client {
		h, _ := client.NewHome(b.TempDir())
		if _, _, err := h.Create([]byte(testPass), client.InsecureTestKDF()); err != nil {
			b.Fatal(err)
		}
		c, err := h.Open(context.Background(), []byte(testPass), o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	ca, cb := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ca.Run(ctx)
	go cb.Run(ctx)
	if err := cb.AddContact(ca.Account(), "a"); err != nil {
		b.Fatal(err)
	}
	events, stop := cb.Subscribe(256)
	defer stop()
	clientRound := func(text string) time.Duration {
		start := time.Now()
		if _, err := ca.Send(ctx, cb.Account(), text); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case e := <-events:
				if e.Kind == client.EventReceived && e.Message.Text == text {
					return time.Since(start)
				}
			case <-timeout:
				b.Fatalf("client: %q did not arrive", text)
			}
		}
	}

	// Two daemons.
	p := devnetPair(b, o)
	daemonRound := func(text string) time.Duration {
		start := time.Now()
		req := p.alice.request(call{method: "POST", path: "/api/v1/conversations/bob/messages", body: map[string]string{"text": text}})
		resp, err := p.alice.hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("send: %v %v", resp, err)
		}
		resp.Body.Close()
		p.bEvents.waitFor("message", messageMatch(text))
		return time.Since(start)
	}

	clientRound("warm-up")
	daemonRound("warm-up")
	var viaClient, viaDaemon time.Duration
	b.ResetTimer()
	for i := range b.N {
		viaClient += clientRound(fmt.Sprint("client ", i))
		viaDaemon += daemonRound(fmt.Sprint("daemon ", i))
	}
	b.StopTimer()
	c, d := viaClient/time.Duration(b.N), viaDaemon/time.Duration(b.N)
	b.ReportMetric(float64(c.Microseconds())/1000, "client-ms/op")
	b.ReportMetric(float64(d.Microseconds())/1000, "daemon-ms/op")
	b.ReportMetric(float64(d)/float64(c), "daemon/client")
}

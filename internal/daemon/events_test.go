package daemon

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// TestEventStreamHeartbeat: the stream is text/event-stream with
// no-store, and keeps itself open with comment lines.
func TestEventStreamHeartbeat(t *testing.T) {
	td := startDaemon(t, Config{Heartbeat: 20 * time.Millisecond, Options: client.Options{Standalone: standalone(t)}})
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	resp, err := td.hc.Do(td.request(call{method: "GET", path: "/api/v1/events"}))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	for beats := 0; beats < 2; {
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		if strings.HasPrefix(sc.Text(), ": heartbeat") {
			beats++
		}
	}
}

// TestBrokerEndsLaggingStream: a stream that falls behind gets the events
// it had, then its end (its reader reconnects and re-reads the state),
// never a silent gap; a stream that keeps up goes on.
func TestBrokerEndsLaggingStream(t *testing.T) {
	b := newBroker()
	slow, stopSlow := b.subscribe(2)
	defer stopSlow()
	fast, stopFast := b.subscribe(8)
	defer stopFast()
	for i := range 3 {
		b.publish(sseEvent{name: "message", data: i})
	}
	var got []any
	for e := range slow {
		got = append(got, e.data)
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("the slow stream got %v, then its end; want [0 1]", got)
	}
	b.publish(sseEvent{name: "message", data: 3})
	for want := range 4 {
		if e := <-fast; e.data != want {
			t.Fatalf("the fast stream got %v, want %d", e.data, want)
		}
	}
	stopSlow() // ending an ended stream is harmless
}

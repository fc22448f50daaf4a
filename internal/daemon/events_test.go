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

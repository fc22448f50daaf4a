package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/protocol/snapshot"
)

// gate is a Transport that, once closed, holds every request until its
// context ends: a network that takes a send in and never answers.
type gate struct {
	client.Transport
	closed atomic.Bool
}

func (g *gate) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	if g.closed.Load() {
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	return g.Transport.Do(ctx, n, body)
}

// TestShutdownDuringSend: the daemon is stopped (as SIGTERM does, through
// Run's context: internal/cli's signalContext) while a send hangs on the
// network. Run returns after the grace period, the send's request ends,
// the claim is released, and the message is still in the outbox: a
// client opened on the home afterwards delivers it.
//
// The shutdown function is tested directly rather than by signalling a
// `hush daemon` subprocess: the same code runs, and the test needs no
// binary build.
func TestShutdownDuringSend(t *testing.T) {
	node := standalone(t)
	// Bob is a plain client on the node.
	bobHome, _ := client.NewHome(t.TempDir())
	bobID, _, err := bobHome.Create([]byte(testPass), client.InsecureTestKDF())
	if err != nil {
		t.Fatal(err)
	}
	bob, err := bobHome.Open(context.Background(), []byte(testPass), client.Options{Standalone: node})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := bob.KeyDuties(context.Background()); err != nil { // his device records, for alice to seal to
		t.Fatal(err)
	}
	g := &gate{Transport: client.NewDirectTransport()}
	home := t.TempDir()
	td := startDaemon(t, Config{Home: home, ShutdownGrace: 300 * time.Millisecond,
		Options: client.Options{Standalone: node, Transport: g}})
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)

	g.closed.Store(true)
	sendDone := make(chan int, 1)
	go func() {
		resp, err := td.hc.Do(td.request(call{method: "POST", path: "/api/v1/conversations/" + bobID.String() + "/messages", body: map[string]string{"text": "in flight"}}))
		if err != nil {
			sendDone <- 0 // cut by the shutdown: the message is queued anyway
			return
		}
		resp.Body.Close()
		sendDone <- resp.StatusCode
	}()
	// The send is in flight once its message is stored, queued.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, b := td.do(call{method: "GET", path: "/api/v1/conversations/" + bobID.String() + "/messages"})
		var page messagePage
		json.Unmarshal(b, &page)
		if resp.StatusCode == 200 && len(page.Messages) == 1 {
			if page.Messages[0].Status != "queued" {
				t.Fatalf("status %q before the network answered", page.Messages[0].Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message not stored: %d %s", resp.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	td.cancel()
	select {
	case err := <-td.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		td.done <- nil
	case <-time.After(time.Minute):
		t.Fatal("Run did not return")
	}
	<-sendDone

	// The claim is gone and the message waits in the outbox.
	g.closed.Store(false)
	h, _ := client.NewHome(home)
	c, err := h.Open(context.Background(), []byte(testPass), client.Options{Standalone: node,
		OutboxBackoff: client.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatalf("open after the daemon stopped: %v", err)
	}
	defer c.Close()
	st, err := c.Storage()
	if err != nil || st.Outbox == 0 { // the inbox copy and the sync copy
		t.Fatalf("outbox after shutdown: %+v %v", st, err)
	}
	// Flushed until empty: the items wait out their retry backoff.
	for deadline := time.Now().Add(time.Minute); st.Outbox > 0; st, _ = c.Storage() {
		if _, err := c.FlushOutbox(context.Background()); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not flushed: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ms, err := bob.Poll(context.Background())
	if err != nil || len(ms) != 1 || ms[0].Text != "in flight" {
		t.Fatalf("bob got %+v %v", ms, err)
	}
}

// TestHomeClaimed: while the daemon runs, another process's client
// library refuses the home and names the daemon; a second daemon on the
// same home refuses to start.
func TestHomeClaimed(t *testing.T) {
	home := t.TempDir()
	td := startDaemon(t, Config{Home: home, Options: client.Options{Standalone: standalone(t)}})
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	h, _ := client.NewHome(home)
	_, err := h.Open(context.Background(), []byte(testPass), client.Options{})
	var dr *client.DaemonRunningError
	if !errors.As(err, &dr) || dr.Info.Listen != td.Addr().String() {
		t.Fatalf("open beside the daemon: %v", err)
	}
	d2, err := New(Config{Home: home, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Run(context.Background()); !errors.Is(err, client.ErrDaemonRunning) {
		t.Fatalf("second daemon: %v", err)
	}
}

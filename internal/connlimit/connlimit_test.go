package connlimit

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func listen(t *testing.T, n int) *Listener {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, n)
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLimit: at most n accepted connections are open at once; the next is
// accepted once one of them closes, and Close ends a waiting Accept.
func TestLimit(t *testing.T) {
	l := listen(t, 2)
	accepted := make(chan net.Conn, 4)
	acceptErr := make(chan error, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		dial(t, l)
	}
	first, second := <-accepted, <-accepted
	if got := l.Open(); got != 2 {
		t.Fatalf("Open() = %d, want 2", got)
	}
	// The third waits in the backlog. (A wrong implementation could still
	// pass this check on a slow machine, never fail it on one.)
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close frees nothing more
	third := <-accepted
	if got := l.Open(); got != 2 {
		t.Fatalf("Open() after a close = %d, want 2", got)
	}
	second.Close()
	third.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-acceptErr; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

// TestServer: an HTTP server behind the limit keeps answering once idle
// connections that hold every slot go away (the node closes idle
// connections by its time-outs; here the holders hang up).
func TestServer(t *testing.T) {
	l := listen(t, 3)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	var holders []net.Conn
	for range 3 {
		holders = append(holders, dial(t, l))
	}
	// Wait until the server accepted all three (an event, not a sleep).
	for l.Open() < 3 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("request served while every slot was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	holders[0].Close()
	if err := <-done; err != nil {
		t.Fatalf("request after a slot freed: %v", err)
	}
}

// TestNoLimit: n < 1 leaves the listener unlimited.
func TestNoLimit(t *testing.T) {
	l := listen(t, 0)
	for range 5 {
		dial(t, l)
	}
	for i := range 5 {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if l.Open() != i+1 {
			t.Fatalf("Open() = %d, want %d", l.Open(), i+1)
		}
	}
}

package paths_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay/relaytest"
)

// TestStuckGuardDoesNotHangTheClient: a guard that takes a request and
// never answers (stuck, or hostile) must not hold a caller whose context
// has no deadline: each attempt has its own bound, the path is charged,
// and Do returns.
func TestStuckGuardDoesNotHangTheClient(t *testing.T) {
	var stuck atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFixture(t, relaytest.Options{Nodes: 8, Front: func(i int, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stuck.Load() {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	acct := identity.NewAccount().ID()
	dest := f.nw.SwarmFor(acct)[0]
	if status, _, err := f.m.Do(context.Background(), dest, storeBody(t, acct, []byte("first"))); err != nil || status != http.StatusOK {
		t.Fatalf("request on a healthy network: %d %v", status, err)
	}

	// The same guards and paths, with a short bound on each attempt (the
	// healthy request above could not count on one on a busy machine).
	f.m.Flush()
	m := f.manager(t, func(o *paths.Options) { o.AttemptTimeout = 300 * time.Millisecond })
	stuck.Store(true) // every node now takes requests and sits on them
	done := make(chan error, 1)
	go func() {
		_, _, err := m.Do(context.Background(), dest, storeBody(t, acct, []byte("second")))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a request through stuck guards succeeded")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Do with no deadline still waits on a stuck guard")
	}
}

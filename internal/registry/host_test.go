package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
)

func TestSingleHost(t *testing.T) {
	c := newCluster(t, 1)
	h := c.leader()
	n := newNode(t, 1)
	cl := h.client()
	defer cl.Close()
	ctx := context.Background()

	if err := cl.Register(ctx, n.desc, nil); !errors.Is(err, entry.ErrNotAdmitted) {
		t.Fatalf("register without admission: %v", err)
	}
	register(t, h, n)
	s := verifiedSnapshot(t, h, c.hostKeys(), "snapshot with the node", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })
	if len(s.Signatures) != 1 || s.SwarmMinSize != 3 {
		t.Fatalf("snapshot: %d signatures, min size %d", len(s.Signatures), s.SwarmMinSize)
	}

	// Long poll: a request for a newer epoch returns the next one.
	raw, err := cl.Snapshot(ctx, s.Epoch, 10*time.Second)
	if err != nil || raw == nil {
		t.Fatalf("long poll: %v, %d bytes", err, len(raw))
	}
	next, err := snapshot.Verify(raw, c.hostKeys(), testNet, time.Now(), s.Epoch)
	if err != nil || next.Epoch <= s.Epoch {
		t.Fatalf("long poll gave epoch %v after %d: %v", next, s.Epoch, err)
	}
}

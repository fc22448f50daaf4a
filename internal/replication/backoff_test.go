package replication

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestFrozenPeerIsBackedOff: a peer that accepts connections but never
// answers costs one forward its time-out; the next forwards skip it at
// once with ErrPeerDown until the back-off ends, and then it is tried
// again.
func TestFrozenPeerIsBackedOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, never answer
		}
	}()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, peerPriv, _ := ed25519.GenerateKey(rand.Reader)
	var now atomic.Int64
	now.Store(time.Now().UnixMilli())
	r, err := New(Config{Key: key, NetworkID: "n", Store: db, Membership: NewSnapshotMembership(identity.Ed25519PublicKey{}, nil), Logger: slog.New(slog.DiscardHandler),
		Clock: func() time.Time { return time.UnixMilli(now.Load()) }, ForwardTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	peer := snapshot.Node{Ed25519: identity.Ed25519PublicKeyOf(peerPriv), Address: ln.Addr().String()}
	acct := identity.NewAccount().ID()
	op := rpc.NodeOp{Kind: rpc.OpDelete, Account: acct}
	send := func() error {
		results := make(chan forwardResult, 1)
		if err := r.queue(peer).enqueue(&forwardReq{op: op, deadline: r.cfg.Clock().Add(r.cfg.ForwardTimeout), results: results}); err != nil {
			return err
		}
		return (<-results).err
	}
	if err := send(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first forward: %v, want the time-out", err)
	}
	// The queue notes the failure when the call returns.
	deadline := time.Now().Add(30 * time.Second) // busy machines
	for !errors.Is(send(), ErrPeerDown) {
		if time.Now().After(deadline) {
			t.Fatal("the frozen peer was not backed off")
		}
	}
	for range 5 {
		if err := send(); !errors.Is(err, ErrPeerDown) {
			t.Fatalf("forward during the back-off: %v, want ErrPeerDown", err)
		}
	}
	now.Add((maxBackoff + time.Second).Milliseconds())
	if err := send(); errors.Is(err, ErrPeerDown) {
		t.Fatal("the peer is still skipped after its back-off")
	}
}

package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestMountedInARealNode runs a node, whose relay is mounted next to the
// storage RPC, and sends onion requests to it.
func TestMountedInARealNode(t *testing.T) {
	n := nodetest.Start(t, nodetest.Standalone(t))
	ctx := context.Background()

	var self snapshot.Node
	self.Ed25519 = n.Identity().Ed25519Public()
	self.X25519 = n.Identity().X25519Public()
	self.Address = n.Addr().String()
	pool := onionclient.NewPool(onionclient.PoolConfig{})

	// The node as the destination of a one-layer onion.
	status, body, err := onionclient.Send(ctx, pool, nil, self, []byte(`{"method":"info"}`))
	var info rpc.InfoResult
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &info) != nil || info.PubkeyEd25519 != self.Ed25519.String() {
		t.Fatalf("info through the mounted relay: %d %s %v", status, body, err)
	}
	// A standalone node has no snapshot, so it knows no next node.
	other := self
	raw := other.Ed25519.Raw32()
	raw[0] ^= 1
	other.Ed25519 = identity.Ed25519PublicKeyFromRaw32(raw)
	_, _, err = onionclient.Send(ctx, pool, []snapshot.Node{self}, other, []byte(`{"method":"info"}`))
	var he *onionclient.HopError
	if !errors.Is(err, onion.ErrNextNodeNotFound) || !errors.As(err, &he) || he.Hop != 1 {
		t.Fatalf("relay from a standalone node: %v", err)
	}
	// A hold reaches the node's relay: only a retrieve may be held.
	status, body, err = onionclient.SendHold(ctx, pool, nil, self, []byte(`{"method":"info"}`), time.Second)
	var eb rpc.ErrorBody
	if err != nil || status != http.StatusBadRequest || json.Unmarshal(body, &eb) != nil || eb.Error == nil || eb.Error.Code != rpc.CodeBadField {
		t.Fatalf("held info through the mounted relay: %d %s %v", status, body, err)
	}
	// The storage RPC is still where it was.
	if s, _, err := pool.Post(ctx, self.Ed25519, self.Address, onionclient.RPCPath, []byte(`{"method":"info"}`), 1<<20); err != nil || s != http.StatusOK {
		t.Fatalf("storage RPC next to the relay: %d %v", s, err)
	}
}

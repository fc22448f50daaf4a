package node

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

func testSnapshot(epoch uint64, expires time.Time, swarms map[uint64][]byte) *snapshot.Snapshot {
	s := &snapshot.Snapshot{NetworkID: "t", Epoch: epoch, ExpiresAt: expires}
	for id, keys := range swarms {
		for _, b := range keys {
			s.Nodes = append(s.Nodes, snapshot.Node{Ed25519: identity.Ed25519PublicKeyFromRaw32([32]byte{b}), Address: "127.0.0.1:1", Swarm: id})
		}
	}
	// Lookups need canonical (ascending key) order.
	for i := range s.Nodes {
		for j := i + 1; j < len(s.Nodes); j++ {
			if s.Nodes[j].Ed25519.Compare(s.Nodes[i].Ed25519) < 0 {
				s.Nodes[i], s.Nodes[j] = s.Nodes[j], s.Nodes[i]
			}
		}
	}
	return s
}

func TestSnapshotMembership(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	low, high := uint64(1)<<60, uint64(3)<<62
	s := testSnapshot(5, now.Add(time.Hour), map[uint64][]byte{low: {1, 2, 3}, high: {4, 5, 6}})
	m := &snapshotMembership{self: identity.Ed25519PublicKeyFromRaw32([32]byte{2})}
	if err := m.Ready(now); err == nil {
		t.Fatal("ready without a snapshot")
	}
	if err := m.set(s, []byte("five")); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(now); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		acct := identity.NewAccount().ID()
		want, _ := swarm.ForKey(acct.PubKey(), []swarm.ID{swarm.ID(low), swarm.ID(high)})
		got := m.SwarmOf(acct)
		if got.ID != uint64(want) || len(got.Members) != 3 {
			t.Fatalf("SwarmOf = %x with %d members, want %x", got.ID, len(got.Members), want)
		}
		if m.Owns(acct) != (uint64(want) == low) {
			t.Fatalf("Owns = %v for swarm %x", m.Owns(acct), want)
		}
		for _, mem := range got.Members {
			if n, ok := s.Node(identity.Ed25519PublicKey(mem.Ed25519)); !ok || n.Swarm != uint64(want) {
				t.Fatalf("member %s not in swarm %x", mem.Ed25519, want)
			}
		}
	}
	tests := []struct {
		name    string
		epoch   uint64
		wantErr error
	}{
		{name: "same epoch", epoch: 5, wantErr: errStaleEpoch},
		{name: "rollback", epoch: 4, wantErr: errStaleEpoch},
		{name: "newer", epoch: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In the newer snapshot this node has no swarm.
			next := testSnapshot(tt.epoch, now.Add(time.Minute), map[uint64][]byte{high: {4, 5, 6}, snapshot.Unassigned: {2}})
			err := m.set(next, []byte("next"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("set: %v, want %v", err, tt.wantErr)
			}
			raw, epoch := m.snapshot()
			if tt.wantErr != nil && (epoch != 5 || string(raw) != "five") {
				t.Fatalf("kept epoch %d %q after a refused snapshot", epoch, raw)
			}
		})
	}
	if _, epoch := m.snapshot(); epoch != 6 {
		t.Fatalf("epoch %d", epoch)
	}
	if acct := identity.NewAccount().ID(); m.Owns(acct) || m.SwarmOf(acct).ID != high {
		t.Fatal("an unassigned node must own nothing and point to the only swarm")
	}
	if err := m.Ready(now.Add(2 * time.Minute)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Ready after expiry: %v", err)
	}
}

func TestLoadAdmission(t *testing.T) {
	_, steward, _ := ed25519.GenerateKey(nil)
	self := identity.Ed25519PublicKeyFromRaw32([32]byte{7})
	good := entry.Admit("devnet", self, 1, steward)
	other := entry.Admit("devnet", identity.Ed25519PublicKeyFromRaw32([32]byte{8}), 1, steward)
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "ours", path: write("good.json", good)},
		{name: "another node's", path: write("other.json", other), wantErr: "not this node's"},
		{name: "not json", path: write("bad.json", "x"), wantErr: "registration"},
		{name: "missing", path: filepath.Join(dir, "none.json"), wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := loadAdmission(tt.path, self)
			if tt.wantErr == "" {
				if err != nil || a.Signature != good.Signature {
					t.Fatalf("%v %+v", err, a)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

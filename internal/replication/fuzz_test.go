package replication

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// FuzzHandler sends arbitrary bodies, correctly signed by a member of the
// swarm, to the node RPC handler: it must never panic or answer 5xx.
func FuzzHandler(f *testing.F) {
	db, err := sqlite.Open(filepath.Join(f.TempDir(), "m.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	self := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	peer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	s := &snapshot.Snapshot{NetworkID: "fuzz", Epoch: 1}
	for i, k := range []ed25519.PrivateKey{self, peer} {
		var n snapshot.Node
		n.Ed25519 = identity.Ed25519PublicKeyOf(k)
		n.Address, n.Swarm = "127.0.0.1:"+strconv.Itoa(1000+i), 1
		s.Nodes = append(s.Nodes, n)
	}
	slices.SortFunc(s.Nodes, func(a, b snapshot.Node) int { return a.Ed25519.Compare(b.Ed25519) })
	selfKey := identity.Ed25519PublicKeyOf(self)
	peerKey := identity.Ed25519PublicKeyOf(peer)
	var clock atomic.Int64
	clock.Store(1_800_000_000_000)
	r, err := New(Config{Key: self, NetworkID: "fuzz", Store: db, Membership: NewSnapshotMembership(selfKey, s),
		Clock: func() time.Time { return time.UnixMilli(clock.Load()) }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	acct := identity.FromSeed(identity.Seed{9}).ID()
	op := rpc.NodeOp{Kind: rpc.OpStore, Account: acct, Hash: rpc.MessageHash(acct, 0, []byte("x")), Data: []byte("x"), Timestamp: 1, Expiry: 1_900_000_000_000}
	seed := func(method string, params any) []byte {
		p, _ := json.Marshal(params)
		b, _ := json.Marshal(envelope{Method: method, Params: p, Nonce: "n"})
		return b
	}
	f.Add(seed(rpc.NodeApply, rpc.ApplyParams{Source: rpc.SourceForward, Ops: []rpc.NodeOp{op}}))
	f.Add(seed(rpc.NodeApply, rpc.ApplyParams{Source: rpc.SourceRepair, Ops: []rpc.NodeOp{{Kind: rpc.OpDelete, Account: acct, Hashes: []string{op.Hash}}}}))
	f.Add(seed(rpc.NodeSummary, struct{}{}))
	f.Add(seed(rpc.NodeAccounts, rpc.AccountsParams{Buckets: []int{0, 255, 999}}))
	f.Add(seed(rpc.NodeHashes, rpc.HashesParams{Account: acct}))
	f.Add(seed(rpc.NodeFetch, rpc.HashesParams{Account: acct, Hashes: []string{op.Hash}}))
	f.Add([]byte(`{"method":"apply","params":{"source":"forward","ops":[{"kind":"expire","account":"05` + string(bytes.Repeat([]byte("0"), 64)) + `","mode":7,"expiry":5}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.UnixMilli(clock.Add(1))
		sum := sha256.Sum256(body)
		sig := ed25519.Sign(peer, rpc.SigNodeRequest("fuzz", peerKey, selfKey, now, sum))
		req := httptest.NewRequest(http.MethodPost, rpc.NodeRPCPath, bytes.NewReader(body))
		req.Header.Set(rpc.HeaderNode, peerKey.String())
		req.Header.Set(rpc.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
		req.Header.Set(rpc.HeaderBodySHA256, hex.EncodeToString(sum[:]))
		req.Header.Set(rpc.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
		w := httptest.NewRecorder()
		r.Handler().ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}

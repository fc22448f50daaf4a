package rpc

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

func TestConfirmation(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	node := identity.Ed25519PublicKeyOf(priv)
	acct := identity.NewAccount().ID()
	other := identity.NewAccount().ID()
	hash := MessageHash(acct, 0, []byte("hi"))
	sig := ed25519.Sign(priv, SigConfirmation("net", acct, hash))
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		network string
		key     identity.Ed25519PublicKey
		account identity.AccountID
		hash    string
		sig     []byte
		want    bool
	}{
		{"valid", "net", node, acct, hash, sig, true},
		{"other network", "net2", node, acct, hash, sig, false},
		{"other account", "net", node, other, hash, sig, false},
		{"other hash", "net", node, acct, MessageHash(acct, 0, []byte("ho")), sig, false},
		{"other signer", "net", node, acct, hash, ed25519.Sign(otherPriv, SigConfirmation("net", acct, hash)), false},
		{"short signature", "net", node, acct, hash, sig[:63], false},
		{"no key", "net", identity.Ed25519PublicKey{}, acct, hash, sig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyConfirmation(tt.network, tt.key, tt.account, tt.hash, tt.sig); got != tt.want {
				t.Errorf("VerifyConfirmation = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCountConfirmations(t *testing.T) {
	acct := identity.NewAccount().ID()
	hash := MessageHash(acct, 0, []byte("x"))
	swarm := map[string]Confirmation{}
	members := map[string]bool{}
	for i := range 3 {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		k := identity.Ed25519PublicKeyOf(priv).String()
		swarm[k] = Confirmation{Hash: hash, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, SigConfirmation("n", acct, hash)))}
		members[k] = i < 2 // the third signer is not a member
	}
	swarm["zz"] = Confirmation{Hash: hash, Signature: "AAAA"}
	got := CountConfirmations("n", acct, hash, swarm, func(k identity.Ed25519PublicKey) bool { return members[k.String()] })
	if got != 2 {
		t.Errorf("CountConfirmations = %d, want 2 (one signer is no member, one key malformed)", got)
	}
}

func TestSigNodeRequestBindsEveryField(t *testing.T) {
	_, ka, _ := ed25519.GenerateKey(rand.Reader)
	_, kb, _ := ed25519.GenerateKey(rand.Reader)
	a, b := identity.Ed25519PublicKeyOf(ka), identity.Ed25519PublicKeyOf(kb)
	ts := time.UnixMilli(1_700_000_000_000)
	base := string(SigNodeRequest("n", a, b, ts, [32]byte{1}))
	variants := map[string][]byte{
		"network":   SigNodeRequest("m", a, b, ts, [32]byte{1}),
		"swapped":   SigNodeRequest("n", b, a, ts, [32]byte{1}),
		"timestamp": SigNodeRequest("n", a, b, ts.Add(time.Millisecond), [32]byte{1}),
		"body":      SigNodeRequest("n", a, b, ts, [32]byte{2}),
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			if string(v) == base {
				t.Errorf("changing the %s leaves the signed string unchanged", name)
			}
		})
	}
}

func TestNodeOpCheck(t *testing.T) {
	acct := identity.NewAccount().ID()
	ns := int32(5)
	good := NodeOp{Kind: OpStore, Account: acct, Namespace: &ns, Data: []byte("d"), Hash: MessageHash(acct, 5, []byte("d")), Timestamp: 1, Expiry: 2}
	tests := []struct {
		name string
		edit func(op *NodeOp)
		ok   bool
	}{
		{"store", func(*NodeOp) {}, true},
		{"hash of other data", func(op *NodeOp) { op.Data = []byte("e") }, false},
		{"hash of other namespace", func(op *NodeOp) { op.Namespace = nil }, false},
		{"expiry before timestamp", func(op *NodeOp) { op.Expiry = 1 }, false},
		{"zero account", func(op *NodeOp) { op.Account = identity.AccountID{} }, false},
		{"unknown kind", func(op *NodeOp) { op.Kind = "drop_table" }, false},
		{"delete", func(op *NodeOp) { op.Kind, op.Hashes = OpDelete, []string{good.Hash} }, true},
		{"delete malformed hash", func(op *NodeOp) { op.Kind, op.Hashes = OpDelete, []string{"x"} }, false},
		{"bad tombstone", func(op *NodeOp) { op.Kind, op.Tombstones = OpDelete, []HashExpiry{{Hash: good.Hash}} }, false},
		{"expire without expiry", func(op *NodeOp) { op.Kind, op.Expiry = OpExpire, 0 }, false},
		{"delete_before", func(op *NodeOp) { op.Kind, op.Before = OpDeleteBefore, 5 }, true},
		{"delete_before without before", func(op *NodeOp) { op.Kind = OpDeleteBefore }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := good
			tt.edit(&op)
			if err := op.Check(); (err == nil) != tt.ok {
				t.Errorf("Check() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// FuzzNodeOp: decoding and checking any apply body never panics, and an
// op that passes Check survives a JSON round trip unchanged in meaning.
func FuzzNodeOp(f *testing.F) {
	acct := identity.NewAccount().ID()
	op := NodeOp{Kind: OpStore, Account: acct, Data: []byte("d"), Hash: MessageHash(acct, 0, []byte("d")), Timestamp: 1, Expiry: 2}
	seed, _ := json.Marshal(ApplyParams{Source: SourceForward, Ops: []NodeOp{op}})
	f.Add(seed)
	f.Add([]byte(`{"source":"repair","ops":[{"kind":"delete","account":"05` + "00" + `"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ApplyParams
		if json.Unmarshal(b, &p) != nil {
			return
		}
		for _, op := range p.Ops {
			if op.Check() != nil {
				continue
			}
			again, err := json.Marshal(op)
			if err != nil {
				t.Fatal(err)
			}
			var back NodeOp
			if err := json.Unmarshal(again, &back); err != nil || back.Check() != nil {
				t.Fatalf("checked op does not round-trip: %v", err)
			}
		}
	})
}

func TestNodeOpAccountDecoding(t *testing.T) {
	acct := identity.NewAccount().ID()
	tests := []struct {
		name    string
		account string
		ok      bool
	}{
		{"valid", acct.String(), true},
		{"other prefix", "15" + acct.String()[2:], false},
		{"short", acct.String()[:64], false},
		{"not hex", "05" + strings.Repeat("zz", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var op NodeOp
			err := json.Unmarshal([]byte(`{"kind":"delete","account":"`+tt.account+`"}`), &op)
			if (err == nil) != tt.ok {
				t.Fatalf("Unmarshal = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && op.Account != acct {
				t.Errorf("account %s, want %s", op.Account, acct)
			}
		})
	}
}

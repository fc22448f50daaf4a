package rpc

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/signatures.json from the current code")

// sigVector is one signed string and its signature by a fixed account, for
// other implementations (clients in other languages) to check against.
type sigVector struct {
	Name        string `json:"name"`
	Seed        string `json:"seed"`       // account seed, hex
	AccountID   string `json:"account_id"` // pubkey
	Ed25519     string `json:"pubkey_ed25519"`
	NetworkID   string `json:"network_id"`
	SignedHex   string `json:"signed_hex"` // the exact bytes signed, hex
	SignedText  string `json:"signed_text"`
	Signature   string `json:"signature"` // base64, as sent
	MessageHash string `json:"message_hash,omitempty"`
}

func buildVectors() []sigVector {
	seed := identity.Seed{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	acct := identity.FromSeed(seed)
	ts := time.UnixMilli(1764000000000)
	st := time.UnixMilli(1764000000500) // a request's signed time, for hush's own format
	ns := int32(-7)
	hashes := []string{MessageHash(acct.ID(), 0, []byte("hello")), MessageHash(acct.ID(), 1, []byte("note"))}
	cases := []struct {
		name string
		msg  []byte
	}{
		{"store ns 1", SigStore("devnet", 1, ts)},
		{"retrieve ns 0", SigRetrieve("devnet", 0, ts)},
		{"retrieve ns -7", SigRetrieve("devnet", ns, ts)},
		{"delete two", SigDelete("devnet", st, hashes)},
		{"delete_all all", SigDeleteAll("devnet", nil, ts)},
		{"delete_all ns -7", SigDeleteAll("devnet", &ns, ts)},
		{"delete_before all", SigDeleteBefore("devnet", st, nil, ts)},
		{"delete_before ns 0", SigDeleteBefore("devnet", st, new(int32), ts)},
		{"expire shorten", SigExpire("devnet", st, ExpireShorten, ts, hashes[:1])},
		{"expire extend two", SigExpire("devnet", st, ExpireExtend, ts, hashes)},
		{"expire_all all", SigExpireAll("devnet", st, nil, ts)},
		{"expire_all ns -7", SigExpireAll("devnet", st, &ns, ts)},
		{"get_expiries", SigGetExpiries("devnet", ts, hashes)},
		{"retrieve other network", SigRetrieve("standalone-0a1b2c3d", 0, ts)},
	}
	var out []sigVector
	for _, c := range cases {
		out = append(out, sigVector{
			Name: c.name, Seed: hex.EncodeToString(seed[:]), AccountID: acct.ID().String(),
			Ed25519: acct.Ed25519Public().String(), NetworkID: string(c.msg[len(DomainLabel)+1 : len(DomainLabel)+1+int(c.msg[len(DomainLabel)])]),
			SignedHex: hex.EncodeToString(c.msg), SignedText: string(c.msg),
			Signature: base64.StdEncoding.EncodeToString(acct.Sign(c.msg)),
		})
	}
	out[0].MessageHash = hashes[0]
	return out
}

// TestSignatureVectors checks the builders against testdata/signatures.json
// (regenerate with go test -run TestSignatureVectors -update) and that each
// vector's signature verifies through Auth.Verify.
func TestSignatureVectors(t *testing.T) {
	path := filepath.Join("testdata", "signatures.json")
	got := buildVectors()
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []sigVector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i := range want {
		t.Run(want[i].Name, func(t *testing.T) {
			if got[i] != want[i] {
				t.Fatalf("got  %+v\nwant %+v", got[i], want[i])
			}
			id, _ := identity.ParseAccountID(want[i].AccountID)
			ed, _ := identity.ParseEd25519PublicKey(want[i].Ed25519)
			sig, _ := base64.StdEncoding.DecodeString(want[i].Signature)
			msg, _ := hex.DecodeString(want[i].SignedHex)
			a := &Auth{Account: id, Ed25519: ed, Signature: sig}
			if err := a.Verify(msg, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

package entry

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current code")

// vector pins one signed message layout: a change to any SignedBytes
// breaks every signature already made, so it must be deliberate.
type vector struct {
	Name        string `json:"name"`
	Signer      string `json:"signer_seed"`
	SignedBytes string `json:"signed_bytes"`
	Signature   string `json:"signature"`
}

func makeVectors(t *testing.T) []vector {
	node, steward, host := key("node"), key("steward"), key("host")
	d := Descriptor{Ed25519: identity.Ed25519PublicKeyOf(node), X25519: snapshot.X25519Key{9}, Address: "node.example:22021", Version: "0.1.0", TimestampMs: 1_764_000_000_000}
	sd, err := SignDescriptor(net, d, node)
	if err != nil {
		t.Fatal(err)
	}
	a := Admit(net, identity.Ed25519PublicKeyOf(node), 1_764_000_000_001, steward)
	v := SignVote(net, Vote{Node: identity.Ed25519PublicKeyOf(node), Registration: d.TimestampMs, Unreachable: true, TimestampMs: 1_764_000_000_002}, host)
	c := SignHostChange(net, HostChange{Add: true, Host: HostInfo{Key: identity.Ed25519PublicKeyOf(node), RaftAddress: "10.0.0.2:7100", APIAddress: "10.0.0.2:7101"}, TimestampMs: 1_764_000_000_003}, host)
	dr := SignDeregister(net, 1_764_000_000_004, node)
	mk := func(name string, signer []byte, msg []byte, sig Signature) vector {
		return vector{Name: name, Signer: hex.EncodeToString(signer), SignedBytes: hex.EncodeToString(msg), Signature: hex.EncodeToString(sig[:])}
	}
	return []vector{
		mk("descriptor", node.Seed(), d.SignedBytes(net), sd.Signature),
		mk("admission", steward.Seed(), a.SignedBytes(net), a.Signature),
		mk("vote", host.Seed(), v.SignedBytes(net), v.Signature),
		mk("host change", host.Seed(), c.SignedBytes(net), c.Signature),
		mk("deregister", node.Seed(), dr.SignedBytes(net), dr.Signature),
	}
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	got := makeVectors(t)
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	var want []vector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i := range want {
		t.Run(want[i].Name, func(t *testing.T) {
			if got[i] != want[i] {
				t.Fatalf("signed message changed:\n got %+v\nwant %+v", got[i], want[i])
			}
		})
	}
}

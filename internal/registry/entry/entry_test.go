package entry

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

const net = "testnet"

func key(label string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(s[:])
}

func descriptor(t testing.TB, node ed25519.PrivateKey) SignedDescriptor {
	t.Helper()
	id, err := identity.Ed25519PublicKeyOf(node).AccountID()
	if err != nil {
		t.Fatal(err)
	}
	d := Descriptor{Ed25519: identity.Ed25519PublicKeyOf(node), X25519: snapshot.X25519Key(id.PubKey()), Address: "127.0.0.1:4000", Version: "0.1.0", TimestampMs: 1_700_000_000_000}
	sd, err := SignDescriptor(net, d, node)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestSignatures(t *testing.T) {
	node, steward, host := key("node"), key("steward"), key("host")
	tests := []struct {
		name   string
		verify func() error
		want   error
	}{
		{"descriptor", func() error { d := descriptor(t, node); return d.Verify(net) }, nil},
		{"descriptor other network", func() error { d := descriptor(t, node); return d.Verify("othernet") }, ErrBadSignature},
		{"descriptor changed address", func() error {
			d := descriptor(t, node)
			d.Address = "127.0.0.1:4001"
			return d.Verify(net)
		}, ErrBadSignature},
		{"descriptor signed by another key", func() error {
			d := descriptor(t, node)
			d.Ed25519 = identity.Ed25519PublicKeyOf(key("other"))
			return d.Verify(net)
		}, ErrBadSignature},
		{"descriptor bad address", func() error {
			d := descriptor(t, node)
			d.Address = "localhost"
			return d.Verify(net)
		}, ErrMalformed},
		{"admission", func() error { a := Admit(net, identity.Ed25519PublicKeyOf(node), 5, steward); return a.Verify(net) }, nil},
		{"admission for another node", func() error {
			a := Admit(net, identity.Ed25519PublicKeyOf(node), 5, steward)
			a.Node = identity.Ed25519PublicKeyOf(key("other"))
			return a.Verify(net)
		}, ErrBadSignature},
		{"admission claims another steward", func() error {
			a := Admit(net, identity.Ed25519PublicKeyOf(node), 5, steward)
			a.Steward = identity.Ed25519PublicKeyOf(host)
			return a.Verify(net)
		}, ErrBadSignature},
		{"vote", func() error {
			v := SignVote(net, Vote{Node: identity.Ed25519PublicKeyOf(node), Registration: 1, Unreachable: true, TimestampMs: 2}, host)
			return v.Verify(net)
		}, nil},
		{"vote flipped", func() error {
			v := SignVote(net, Vote{Node: identity.Ed25519PublicKeyOf(node), Registration: 1, Unreachable: true, TimestampMs: 2}, host)
			v.Unreachable = false
			return v.Verify(net)
		}, ErrBadSignature},
		{"host change", func() error {
			c := SignHostChange(net, HostChange{Add: true, Host: HostInfo{Key: identity.Ed25519PublicKeyOf(node), RaftAddress: "127.0.0.1:1", APIAddress: "127.0.0.1:2"}, TimestampMs: 3}, host)
			return c.Verify(net)
		}, nil},
		{"host change turned into removal", func() error {
			c := SignHostChange(net, HostChange{Add: true, Host: HostInfo{Key: identity.Ed25519PublicKeyOf(node), RaftAddress: "127.0.0.1:1", APIAddress: "127.0.0.1:2"}, TimestampMs: 3}, host)
			c.Add = false
			return c.Verify(net)
		}, ErrBadSignature},
		{"deregister", func() error { d := SignDeregister(net, 7, node); return d.Verify(net) }, nil},
		{"deregister other network", func() error { d := SignDeregister(net, 7, node); return d.Verify("othernet") }, ErrBadSignature},
		{"deregister for another node", func() error {
			d := SignDeregister(net, 7, node)
			d.Node = identity.Ed25519PublicKeyOf(key("other"))
			return d.Verify(net)
		}, ErrBadSignature},
		{"deregister changed timestamp", func() error {
			d := SignDeregister(net, 7, node)
			d.TimestampMs = 8
			return d.Verify(net)
		}, ErrBadSignature},
		{"deregister zero timestamp", func() error { d := SignDeregister(net, 0, node); return d.Verify(net) }, ErrMalformed},
		{"small-order signer", func() error {
			a := Admit(net, identity.Ed25519PublicKeyOf(node), 5, steward)
			a.Steward = identity.Ed25519PublicKeyFromRaw32([32]byte{1}) // the identity point
			return a.Verify(net)
		}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.verify()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeregisterRoundTrip(t *testing.T) {
	d := SignDeregister(net, 1_764_000_000_000, key("node"))
	b, err := Encode(&Command{Type: TypeDeregister, Deregister: &d})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != TypeDeregister || c.Deregister == nil || *c.Deregister != d {
		t.Fatalf("round trip: got %+v, want %+v", c.Deregister, d)
	}
	if err := c.Deregister.Verify(net); err != nil {
		t.Fatalf("decoded deregister does not verify: %v", err)
	}
	if _, err := Encode(&Command{Type: TypeDeregister}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("deregister without payload: %v, want ErrMalformed", err)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"tick", `{"type":"tick","tick":{"nonce":"` + Hash{}.String() + `","issued_at_ms":1,"expires_at_ms":2}}`, true},
		{"unknown type", `{"type":"mint","tick":{}}`, false},
		{"missing payload", `{"type":"tick"}`, false},
		{"second payload", `{"type":"tick","tick":{},"vote":{}}`, false},
		{"unknown field", `{"type":"tick","tick":{},"x":1}`, false},
		{"unknown inner field", `{"type":"tick","tick":{"y":1}}`, false},
		{"uppercase hex", `{"type":"tick","tick":{"nonce":"` + "AA" + Hash{}.String()[2:] + `"}}`, false},
		{"trailing", `{"type":"tick","tick":{}} {}`, false},
		{"not json", `tick`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if tt.ok != (err == nil) {
				t.Fatalf("Decode: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	for _, c := range codes {
		t.Run(c.code, func(t *testing.T) {
			if got := Code(c.err); got != c.code {
				t.Fatalf("Code = %q", got)
			}
			if got := FromCode(c.code); got != c.err {
				t.Fatalf("FromCode = %v", got)
			}
		})
	}
	if Code(errors.New("x")) != "internal" || FromCode("internal") != nil {
		t.Fatal("unknown errors must map to internal and back to nil")
	}
}

func FuzzDecode(f *testing.F) {
	node := key("node")
	d := descriptor(f, node)
	a := Admit(net, identity.Ed25519PublicKeyOf(node), 5, key("steward"))
	for _, c := range []*Command{
		{Type: TypeRegister, Register: &Register{Descriptor: d, Admission: &a, ReceivedAtMs: 9}},
		{Type: TypeAdmit, Admit: &a},
		{Type: TypeTick, Tick: &Tick{IssuedAtMs: 1, ExpiresAtMs: 2}},
		{Type: TypeGenesis, Genesis: &Genesis{NetworkID: net, Stewards: []identity.Ed25519PublicKey{identity.Ed25519PublicKeyOf(node)}, SwarmMinSize: 3, SwarmIdealSize: 4}},
	} {
		b, err := Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"vote"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(c)
		if err != nil {
			t.Fatalf("decoded command does not encode: %v", err)
		}
		c2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		b2, _ := Encode(c2)
		if string(b2) != string(again) {
			t.Fatalf("encoding not stable:\n%s\n%s", again, b2)
		}
	})
}

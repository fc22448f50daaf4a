package snapshot

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

const testNetwork = "testnet"

var testIssued = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seed32 derives a fixed 32-byte seed from a label, so every key in the
// tests (and the vectors) is reproducible.
func seed32(label string) []byte {
	h := sha256.Sum256([]byte("hush snapshot test " + label))
	return h[:]
}

func testHost(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(seed32(fmt.Sprintf("host %d", i)))
}

func testHosts(n int) ([]ed25519.PrivateKey, []ed25519.PublicKey) {
	var priv []ed25519.PrivateKey
	var pub []ed25519.PublicKey
	for i := range n {
		k := testHost(i)
		priv = append(priv, k)
		pub = append(pub, k.Public().(ed25519.PublicKey))
	}
	return priv, pub
}

func testNode(i int, swarm uint64) Node {
	ed := ed25519.NewKeyFromSeed(seed32(fmt.Sprintf("node ed %d", i)))
	x, err := ecdh.X25519().NewPrivateKey(seed32(fmt.Sprintf("node x %d", i)))
	if err != nil {
		panic(err)
	}
	var n Node
	n.Ed25519 = identity.Ed25519PublicKeyOf(ed)
	copy(n.X25519[:], x.PublicKey().Bytes())
	n.Address = fmt.Sprintf("10.%d.%d.%d:22021", i>>16&0xff, i>>8&0xff, i&0xff)
	n.Version = "0.1.0"
	n.Swarm = swarm
	return n
}

// testSnapshot builds an unsigned snapshot of n nodes in swarms of 5,
// with the last node unassigned.
func testSnapshot(n int) *Snapshot {
	s := &Snapshot{
		NetworkID:      testNetwork,
		Epoch:          42,
		IssuedAt:       testIssued,
		ExpiresAt:      testIssued.Add(2 * time.Hour),
		SwarmMinSize:   5,
		SwarmIdealSize: 7,
	}
	for i := range n {
		swarm := uint64(i/5) * 0x1111_1111_1111_1111
		if i == n-1 {
			swarm = Unassigned
		}
		s.Nodes = append(s.Nodes, testNode(i, swarm))
	}
	return s
}

// signed signs s with the given hosts and encodes it.
func signed(t testing.TB, s *Snapshot, hosts ...ed25519.PrivateKey) []byte {
	t.Helper()
	for _, h := range hosts {
		if err := Sign(s, h); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unchecked encodes s without validation or sorting, to build invalid input.
func unchecked(t testing.TB, s *Snapshot) []byte {
	t.Helper()
	raw, err := s.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerify(t *testing.T) {
	priv, pub := testHosts(3)
	stranger := ed25519.NewKeyFromSeed(seed32("stranger"))
	now := testIssued.Add(time.Minute)

	base := func() *Snapshot { return testSnapshot(12) }
	tests := []struct {
		name     string
		raw      func() []byte
		hosts    []ed25519.PublicKey
		network  string
		now      time.Time
		minEpoch uint64
		want     error // nil: accepted
	}{
		{name: "three of three", raw: func() []byte { return signed(t, base(), priv...) }},
		{name: "two of three", raw: func() []byte { return signed(t, base(), priv[0], priv[2]) }},
		{name: "one of three", raw: func() []byte { return signed(t, base(), priv[1]) }, want: ErrTooFewSignatures},
		{name: "unsigned", raw: func() []byte { return signed(t, base()) }, want: ErrTooFewSignatures},
		{name: "one of one", raw: func() []byte { return signed(t, base(), priv[0]) }, hosts: pub[:1]},
		{name: "two of four is no majority", raw: func() []byte { return signed(t, base(), priv[0], priv[1]) },
			hosts: append(pub[:3:3], stranger.Public().(ed25519.PublicKey)), want: ErrTooFewSignatures},
		{name: "unlisted signer not counted", raw: func() []byte { return signed(t, base(), priv[0], stranger) }, want: ErrTooFewSignatures},
		{name: "unlisted signer ignored", raw: func() []byte { return signed(t, base(), priv[0], priv[1], stranger) }},
		{name: "host listed twice counted once", raw: func() []byte { return signed(t, base(), priv[0]) },
			hosts: []ed25519.PublicKey{pub[0], pub[0], pub[1]}, want: ErrTooFewSignatures},
		{name: "duplicate signature entry", raw: func() []byte {
			s := base()
			signed(t, s, priv[0])
			s.Signatures = append(s.Signatures, s.Signatures[0])
			return unchecked(t, s)
		}, want: ErrMalformed},
		{name: "signatures unsorted", raw: func() []byte {
			s := base()
			signed(t, s, priv...)
			s.Signatures[0], s.Signatures[2] = s.Signatures[2], s.Signatures[0]
			return unchecked(t, s)
		}, want: ErrMalformed},
		{name: "tampered node address", raw: func() []byte {
			return bytes.Replace(signed(t, base(), priv...), []byte("10.0.0.3:22021"), []byte("10.0.0.3:22022"), 1)
		}, want: ErrBadSignature},
		{name: "tampered swarm", raw: func() []byte {
			s := base()
			signed(t, s, priv...)
			s.Nodes[4].Swarm = 7
			return unchecked(t, s)
		}, want: ErrBadSignature},
		{name: "forged signature by listed host", raw: func() []byte {
			s := base()
			signed(t, s, priv[0], priv[1])
			s.Signatures[1].Signature[10] ^= 1
			return unchecked(t, s)
		}, want: ErrBadSignature},
		{name: "forged signature beside a majority", raw: func() []byte {
			s := base()
			signed(t, s, priv...)
			s.Signatures[2].Signature[0] ^= 1
			return unchecked(t, s)
		}, want: ErrBadSignature},
		{name: "wrong network", raw: func() []byte { return signed(t, base(), priv...) }, network: "othernet", want: ErrWrongNetwork},
		{name: "signed for another network", raw: func() []byte {
			s := base()
			s.NetworkID = "othernet"
			signed(t, s, priv...)
			s.NetworkID = testNetwork
			return unchecked(t, s)
		}, want: ErrBadSignature},
		{name: "older epoch", raw: func() []byte { return signed(t, base(), priv...) }, minEpoch: 43, want: ErrRollback},
		{name: "same epoch again", raw: func() []byte { return signed(t, base(), priv...) }, minEpoch: 42},
		{name: "expired", raw: func() []byte { return signed(t, base(), priv...) }, now: testIssued.Add(2 * time.Hour), want: ErrExpired},
		{name: "last millisecond", raw: func() []byte { return signed(t, base(), priv...) }, now: testIssued.Add(2*time.Hour - time.Millisecond)},
		{name: "issued beyond skew", raw: func() []byte { return signed(t, base(), priv...) },
			now: testIssued.Add(-MaxClockSkew - time.Millisecond), want: ErrNotYetValid},
		{name: "issued within skew", raw: func() []byte { return signed(t, base(), priv...) }, now: testIssued.Add(-MaxClockSkew)},
		{name: "forged and old reports forgery", raw: func() []byte {
			return bytes.Replace(signed(t, base(), priv...), []byte(`"version":"0.1.0"`), []byte(`"version":"0.1.1"`), 1)
		}, minEpoch: 100, want: ErrBadSignature},
		{name: "signed low-order key", raw: func() []byte {
			s := base()
			s.sortInPlace()
			s.Nodes[3].X25519 = lowOrderX25519
			for _, h := range priv {
				var hs HostSignature
				hs.Host = identity.Ed25519PublicKeyOf(h)
				copy(hs.Signature[:], ed25519.Sign(h, s.signedBytes()))
				s.Signatures = append(s.Signatures, hs)
			}
			s.sortInPlace()
			return unchecked(t, s)
		}, want: ErrMalformed},
		{name: "unsigned low-order key fails on signatures first", raw: func() []byte {
			s := base()
			s.sortInPlace()
			s.Nodes[3].X25519 = lowOrderX25519
			return unchecked(t, s)
		}, want: ErrTooFewSignatures},
		{name: "garbage", raw: func() []byte { return []byte("not json") }, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, network, at := pub, testNetwork, now
			if tt.hosts != nil {
				hosts = tt.hosts
			}
			if tt.network != "" {
				network = tt.network
			}
			if !tt.now.IsZero() {
				at = tt.now
			}
			s, err := Verify(tt.raw(), hosts, network, at, tt.minEpoch)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if len(s.Nodes) != 12 || s.Epoch != 42 {
					t.Fatalf("Verify returned %d nodes, epoch %d", len(s.Nodes), s.Epoch)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if s != nil {
				t.Fatal("Verify returned a snapshot with an error")
			}
			for _, other := range allErrors {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

var allErrors = []error{ErrMalformed, ErrWrongNetwork, ErrRollback, ErrExpired, ErrNotYetValid, ErrTooFewSignatures, ErrBadSignature}

func TestVerifyBadArguments(t *testing.T) {
	priv, pub := testHosts(3)
	raw := signed(t, testSnapshot(3), priv...)
	tests := []struct {
		name    string
		hosts   []ed25519.PublicKey
		network string
	}{
		{name: "no hosts", hosts: nil, network: testNetwork},
		{name: "short host key", hosts: []ed25519.PublicKey{pub[0][:31]}, network: testNetwork},
		{name: "invalid network id", hosts: pub, network: "Test Net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(raw, tt.hosts, tt.network, testIssued, 0)
			if err == nil {
				t.Fatal("Verify accepted")
			}
			for _, e := range allErrors {
				if errors.Is(err, e) {
					t.Fatalf("argument error %v matches %v", err, e)
				}
			}
		})
	}
}

// lowOrderX25519 is a point of order 8 (RFC 7748 §6.1 mentions such
// inputs; this is the one listed in libsodium's blocklist).
var lowOrderX25519 = X25519Key{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}

func TestDecodeRejects(t *testing.T) {
	good := signed(t, testSnapshot(6), testHost(0))
	mutate := func(f func(s *Snapshot)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			s := testSnapshot(6)
			s.sortInPlace()
			f(s)
			return unchecked(t, s)
		}
	}
	replace := func(old, new string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			if !bytes.Contains(good, []byte(old)) {
				t.Fatalf("test input lacks %q", old)
			}
			return bytes.Replace(good, []byte(old), []byte(new), 1)
		}
	}
	tests := []struct {
		name string
		raw  func(t *testing.T) []byte
		msg  string // part of the error message
	}{
		{"unknown field", replace(`"epoch":`, `"era":1,"epoch":`), "era: unknown key"},
		{"case-variant field", replace(`"epoch":`, `"Epoch":`), "Epoch: unknown key"},
		{"duplicate field", replace(`"epoch":42`, `"epoch":42,"epoch":43`), "epoch: duplicate key"},
		{"trailing data", func(t *testing.T) []byte { return append(append([]byte{}, good...), "{}"...) }, "trailing"},
		{"missing epoch", replace(`"epoch":42,`, ``), "missing epoch"},
		{"missing nodes", func(t *testing.T) []byte {
			return []byte(`{"network_id":"testnet","epoch":1,"issued_at_ms":1,"expires_at_ms":2,"swarm_min_size":3,"swarm_ideal_size":3}`)
		}, "missing nodes"},
		{"negative epoch", replace(`"epoch":42`, `"epoch":-1`), ""},
		{"fractional epoch", replace(`"epoch":42`, `"epoch":42.0`), ""},
		{"uppercase hex", func(t *testing.T) []byte {
			k := testSnapshot(6)
			k.sortInPlace()
			h := k.Nodes[0].Ed25519.String()
			return replace(h, strings.ToUpper(h))(t)
		}, "lowercase hex"},
		{"short key", func(t *testing.T) []byte {
			k := testSnapshot(6)
			k.sortInPlace()
			h := k.Nodes[0].X25519.String()
			return replace(h, h[:62])(t)
		}, "hex characters"},
		{"reserved swarm id", replace(`"swarm_id":"0"`, `"swarm_id":"18446744073709551615"`), "reserved"},
		{"swarm id with leading zero", replace(`"swarm_id":"0"`, `"swarm_id":"00"`), "leading zeros"},
		{"swarm id as number", replace(`"swarm_id":"0"`, `"swarm_id":0`), ""},
		{"bad network id", replace(`"network_id":"testnet"`, `"network_id":"Test"`), "network_id"},
		{"expiry before issue", mutate(func(s *Snapshot) { s.ExpiresAt = s.IssuedAt }), "expires_at_ms"},
		{"swarm min below 3", mutate(func(s *Snapshot) { s.SwarmMinSize = 2 }), "swarm_min_size"},
		{"ideal below min", mutate(func(s *Snapshot) { s.SwarmIdealSize = 4 }), "swarm_ideal_size"},
		{"nodes unsorted", mutate(func(s *Snapshot) { s.Nodes[0], s.Nodes[1] = s.Nodes[1], s.Nodes[0] }), "not sorted"},
		{"duplicate node", mutate(func(s *Snapshot) { s.Nodes[1] = s.Nodes[0] }), "duplicate node"},
		{"duplicate address", mutate(func(s *Snapshot) { s.Nodes[3].Address = s.Nodes[1].Address }), "already used by nodes[1]"},
		{"duplicate x25519", mutate(func(s *Snapshot) { s.Nodes[3].X25519 = s.Nodes[2].X25519 }), "same key as nodes[2]"},
		{"low-order x25519", mutate(func(s *Snapshot) { s.Nodes[2].X25519 = lowOrderX25519 }), "low order"},
		{"zero x25519", mutate(func(s *Snapshot) { s.Nodes[2].X25519 = X25519Key{} }), "low order"},
		{"x25519 top bit set", mutate(func(s *Snapshot) { s.Nodes[2].X25519[31] |= 0x80 }), "non-canonical"},
		{"x25519 not reduced", mutate(func(s *Snapshot) {
			s.Nodes[2].X25519 = X25519Key{0xee, 31: 0x7f}
			for i := 1; i < 31; i++ {
				s.Nodes[2].X25519[i] = 0xff
			}
		}), "non-canonical"},
		{"small-order ed25519", mutate(func(s *Snapshot) { s.Nodes[0].Ed25519 = edKey(1) }), "small order"},
		{"ed25519 not a point", mutate(func(s *Snapshot) { s.Nodes[0].Ed25519 = edKey(2) }), "not a valid"},
		{"bad address", mutate(func(s *Snapshot) { s.Nodes[1].Address = "10.0.0.1" }), "host:port"},
		{"empty version", mutate(func(s *Snapshot) { s.Nodes[1].Version = "" }), "version"},
		{"version with space", mutate(func(s *Snapshot) { s.Nodes[1].Version = "1 2" }), "printable"},
		{"oversized", func(t *testing.T) []byte { return make([]byte, MaxEncodedSize+1) }, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.raw(t))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error = %v, want ErrMalformed", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Decode error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	priv, _ := testHosts(3)
	s := testSnapshot(20)
	// Shuffle so Encode and Sign must put things in order.
	s.Nodes[0], s.Nodes[19] = s.Nodes[19], s.Nodes[0]
	raw := signed(t, s, priv[2], priv[0], priv[1])
	again := signed(t, s, priv[1]) // re-signing replaces, does not add
	if !bytes.Equal(raw, again) {
		t.Fatal("re-signing by the same host changed the encoding")
	}
	d, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Signatures) != 3 {
		t.Fatalf("%d signatures, want 3", len(d.Signatures))
	}
	raw2, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, raw2) {
		t.Fatalf("decode+encode changed the bytes:\n%s\n%s", raw, raw2)
	}
	if !d.IssuedAt.Equal(s.IssuedAt) || !d.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatal("times changed in the round trip")
	}
	if n, ok := d.Node(s.Nodes[7].Ed25519); !ok || n != s.Nodes[7] {
		t.Fatalf("Node lookup = %+v, %v", n, ok)
	}
}

func TestSignRejectsInvalid(t *testing.T) {
	s := testSnapshot(4)
	s.Nodes[1].Address = s.Nodes[0].Address
	if err := Sign(s, testHost(0)); err == nil {
		t.Fatal("Sign accepted a snapshot with a duplicate address")
	}
	if _, err := Encode(s); err == nil {
		t.Fatal("Encode accepted a snapshot with a duplicate address")
	}
	if err := Sign(testSnapshot(4), ed25519.PrivateKey{1, 2}); err == nil {
		t.Fatal("Sign accepted a short private key")
	}
}

func TestSignedBytesCoverEveryField(t *testing.T) {
	base := testSnapshot(6)
	want, err := SignedBytes(base)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func(s *Snapshot)
	}{
		{"network", func(s *Snapshot) { s.NetworkID = "testnet2" }},
		{"epoch", func(s *Snapshot) { s.Epoch++ }},
		{"issued", func(s *Snapshot) { s.IssuedAt = s.IssuedAt.Add(time.Millisecond) }},
		{"expires", func(s *Snapshot) { s.ExpiresAt = s.ExpiresAt.Add(time.Millisecond) }},
		{"min size", func(s *Snapshot) { s.SwarmMinSize = 4 }},
		{"ideal size", func(s *Snapshot) { s.SwarmIdealSize = 8 }},
		{"node dropped", func(s *Snapshot) { s.Nodes = s.Nodes[1:] }},
		{"ed25519", func(s *Snapshot) { s.Nodes[2] = testNode(99, s.Nodes[2].Swarm) }},
		{"x25519", func(s *Snapshot) { s.Nodes[2].X25519 = testNode(99, 0).X25519 }},
		{"address", func(s *Snapshot) { s.Nodes[2].Address = "10.0.0.2:1" }},
		{"address into version", func(s *Snapshot) { s.Nodes[2].Address = "10.0.0.2:2202"; s.Nodes[2].Version = "10.1.0" }},
		{"version", func(s *Snapshot) { s.Nodes[2].Version = "0.1.1" }},
		{"swarm", func(s *Snapshot) { s.Nodes[2].Swarm = 9 }},
		{"unassigned", func(s *Snapshot) { s.Nodes[2].Swarm = Unassigned }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSnapshot(6)
			tt.f(s)
			got, err := SignedBytes(s)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				t.Fatal("change not reflected in the signed bytes")
			}
		})
	}
	signed(t, base, testHost(0))
	if got, _ := SignedBytes(base); !bytes.Equal(got, want) {
		t.Fatal("signatures changed the signed bytes")
	}
}

func TestLookups(t *testing.T) {
	s := testSnapshot(12) // swarms 0 (nodes 0-4), 0x1111.. (5-9), 0x2222.. (10), node 11 unassigned
	raw := signed(t, s, testHost(0))
	d, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	ids := d.SwarmIDs()
	wantIDs := []uint64{0, 0x1111_1111_1111_1111, 0x2222_2222_2222_2222}
	if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
		t.Fatalf("SwarmIDs = %x, want %x", ids, wantIDs)
	}
	if m := d.Members(0x1111_1111_1111_1111); len(m) != 5 {
		t.Fatalf("swarm 0x1111.. has %d members, want 5", len(m))
	}
	if m := d.Members(Unassigned); len(m) != 1 || m[0].Ed25519 != testNode(11, 0).Ed25519 {
		t.Fatalf("unassigned members = %v", m)
	}
	if m := d.Members(12345); m != nil {
		t.Fatalf("unknown swarm has members %v", m)
	}
	if _, ok := d.Node(edKey(9)); ok {
		t.Fatal("found a node that does not exist")
	}
	for i := range 12 {
		n := testNode(i, 0)
		got, ok := d.Node(n.Ed25519)
		if !ok || got.Address != n.Address {
			t.Fatalf("Node(%d) = %+v, %v", i, got, ok)
		}
	}

	// An account whose key starts with pos and is zero after sits at ring
	// position pos (swarm.KeyPosition XORs the key's four uint64s).
	at := func(pos uint64) identity.AccountID {
		id := identity.AccountID{identity.AccountPrefix}
		binary.BigEndian.PutUint64(id[1:], pos)
		return id
	}
	tests := []struct {
		name   string
		snap   *Snapshot
		acct   identity.AccountID
		wantID uint64
		wantN  int
		wantOK bool
	}{
		{"nearest is the last swarm", d, at(0x2222_2222_2222_2223), 0x2222_2222_2222_2222, 1, true},
		{"nearest is the middle swarm", d, at(0x1111_1111_1111_1000), 0x1111_1111_1111_1111, 5, true},
		{"nearest is swarm 0", d, at(1), 0, 5, true},
		{"wraps around to swarm 0", d, at(0xffff_ffff_ffff_fff0), 0, 5, true},
		{"no swarms", &Snapshot{Nodes: []Node{testNode(1, Unassigned)}}, at(1), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, m, ok := tt.snap.SwarmOf(tt.acct)
			if id != tt.wantID || len(m) != tt.wantN || ok != tt.wantOK {
				t.Fatalf("SwarmOf = %x, %d members, %v", id, len(m), ok)
			}
			for _, n := range m {
				if n.Swarm != id {
					t.Fatalf("member %s is in swarm %x", n.Ed25519, n.Swarm)
				}
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:22021", true},
		{"[::1]:443", true},
		{"[2001:db8::1]:1", true},
		{"node-1.example.org:65535", true},
		{"localhost:80", true},
		{"127.0.0.1", false},
		{"127.0.0.1:0", false},
		{"127.0.0.1:65536", false},
		{"127.0.0.1:080", false},
		{"127.000.0.1:80", false},
		{"[::ffff:1.2.3.4]:80", false},
		{"[2001:DB8::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"Example.org:80", false},
		{"-bad.org:80", false},
		{"bad-.org:80", false},
		{"a..b:80", false},
		{"1.2.3:80", false},
		{":80", false},
		{"exa mple:80", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if err := CheckAddress(tt.addr); (err == nil) != tt.ok {
				t.Fatalf("CheckAddress(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
			}
		})
	}
}

// edKey returns the Ed25519 key whose first byte is b and the rest zero.
func edKey(b byte) identity.Ed25519PublicKey {
	raw := make([]byte, identity.Ed25519PublicKeySize)
	raw[0] = b
	k, err := identity.Ed25519PublicKeyFromBytes(raw)
	if err != nil {
		panic(err)
	}
	return k
}

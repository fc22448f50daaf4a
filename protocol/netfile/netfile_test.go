package netfile

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

var update = flag.Bool("update", false, "rewrite testdata/devnet.json")

func seed32(label string) []byte {
	h := sha256.Sum256([]byte("hush netfile test " + label))
	return h[:]
}

func edKey(label string) identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(seed32(label)))
}

func xKey(label string) snapshot.X25519Key {
	k, err := ecdh.X25519().NewPrivateKey(seed32(label))
	if err != nil {
		panic(err)
	}
	return snapshot.X25519Key(k.PublicKey().Bytes())
}

// testNetwork is a devnet-like network with every optional part filled.
func testNetwork() *Network {
	files, push, turn := xKey("files"), xKey("push"), xKey("turn")
	filesEd, pushEd, turnEd := edKey("files"), edKey("push"), edKey("turn")
	return &Network{
		ID: "devnet",
		Registries: []Registry{
			{Address: "127.0.0.1:7100", Ed25519: edKey("registry 0")},
			{Address: "127.0.0.1:7101", Ed25519: edKey("registry 1")},
			{Address: "127.0.0.1:7102", Ed25519: edKey("registry 2")},
		},
		Seeds: []Seed{
			{Address: "127.0.0.1:7200", Ed25519: edKey("seed 0"), X25519: xKey("seed 0")},
			{Address: "[::1]:7201", Ed25519: edKey("seed 1"), X25519: xKey("seed 1")},
		},
		Loopback: true,
		Limits:   Limits{SwarmMinSize: 3, SwarmIdealSize: 4, MaxMessageBytes: 76_800, MaxTTL: 14 * 24 * time.Hour},
		Services: Services{
			Files: &Service{Address: "127.0.0.1:7300", Ed25519: &filesEd, X25519: &files},
			Push:  &Service{Address: "127.0.0.1:7301", Ed25519: &pushEd, X25519: &push},
			TURN: &Service{Address: "127.0.0.1:3478", TLSAddress: "127.0.0.1:5349", Endpoint: "127.0.0.1:7302",
				Ed25519: &turnEd, X25519: &turn},
		},
	}
}

func TestGolden(t *testing.T) {
	const path = "testdata/devnet.json"
	out, err := Marshal(testNetwork())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("Marshal output differs from %s (run with -update if the format changed on purpose)", path)
	}
	n, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n, testNetwork()) {
		t.Fatalf("Parse(%s) = %+v", path, n)
	}
	if v := n.SnapshotVerifier(); len(v.Hosts) != 3 || !bytes.Equal(v.Hosts[1], n.Registries[1].Ed25519.Bytes()) || v.NetworkID != n.ID {
		t.Fatal("SnapshotVerifier does not match the registries")
	}
}

func TestDefaults(t *testing.T) {
	n := testNetwork()
	doc := fmt.Sprintf(`{"format":1,"network_id":"mainnet",
		"registries":[{"address":"reg.example.org:7100","pubkey_ed25519":"%s"}],
		"seeds":[{"address":"seed.example.org:443","pubkey_ed25519":"%s","pubkey_x25519":"%s"}]}`,
		n.Registries[0].Ed25519, n.Seeds[0].Ed25519, n.Seeds[0].X25519)
	got, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got.Loopback || got.Limits != DefaultLimits() || got.Services != (Services{}) {
		t.Fatalf("defaults not applied: %+v", got)
	}
	partial := strings.Replace(doc, `"format":1,`, `"format":1,"limits":{"max_ttl_ms":60000},`, 1)
	got, err = Parse([]byte(partial))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultLimits()
	want.MaxTTL = time.Minute
	if got.Limits != want {
		t.Fatalf("partial limits = %+v, want %+v", got.Limits, want)
	}
}

func TestParseRejects(t *testing.T) {
	good, err := Marshal(testNetwork())
	if err != nil {
		t.Fatal(err)
	}
	n := testNetwork()
	reg1 := n.Registries[1].Ed25519.String()
	seed0x := n.Seeds[0].X25519.String()
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("golden file lacks %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name  string
		data  []byte
		field string // the error must start with "network file: <field>:"
		msg   string
	}{
		{"not json", []byte("{"), "", "not valid json"},
		{"trailing data", append(append([]byte{}, good...), "{}"...), "", "not valid json"},
		{"not an object", []byte("[]"), "", "json object"},
		{"unknown top field", replace(`"loopback"`, `"loopbak"`), "loopbak", "unknown field"},
		{"case variant key", replace(`"network_id"`, `"Network_ID"`), "Network_ID", "unknown field"},
		{"repeated key", replace(`"loopback": true`, `"loopback": true, "loopback": false`), "loopback", "appears twice"},
		{"missing format", replace(`"format": 1,`, ``), "format", "missing"},
		{"future format", replace(`"format": 1`, `"format": 2`), "format", "not supported"},
		{"format as string", replace(`"format": 1`, `"format": "1"`), "format", "integer"},
		{"missing network id", replace(`"network_id": "devnet",`, ``), "network_id", "missing"},
		{"bad network id", replace(`"devnet"`, `"Dev Net"`), "network_id", "only a-z"},
		{"network id not a string", replace(`"devnet"`, `7`), "network_id", "must be a string"},
		{"registries not array", []byte(`{"format":1,"network_id":"devnet","registries":{}}`), "registries", "json array"},
		{"no registries", []byte(strings.Replace(string(good), string(good[bytes.Index(good, []byte(`"registries"`)):bytes.Index(good, []byte(`"seeds"`))]), `"registries": [], `, 1)), "registries", "1 to 31"},
		{"registry bad hex", replace(reg1, strings.ToUpper(reg1)), "registries[1].pubkey_ed25519", "lowercase hex"},
		{"registry short key", replace(reg1, reg1[:10]), "registries[1].pubkey_ed25519", "hex characters"},
		{"registry small-order key", replace(reg1, "01"+strings.Repeat("0", 62)), "registries[1].pubkey_ed25519", "small order"},
		{"registry duplicate key", replace(reg1, n.Registries[0].Ed25519.String()), "registries[1].pubkey_ed25519", "same key as registries[0]"},
		{"registry duplicate address", replace(`"127.0.0.1:7101"`, `"127.0.0.1:7100"`), "registries[1].address", "already used by registries[0]"},
		{"registry bad address", replace(`"127.0.0.1:7101"`, `"127.0.0.1"`), "registries[1].address", "host:port"},
		{"registry unknown field", replace(`"address": "127.0.0.1:7101"`, `"address": "127.0.0.1:7101", "pubkey_x25519": "00"`), "registries[1].pubkey_x25519", "unknown field"},
		{"registry not object", replace(`"registries": [`, `"registries": [1, `), "registries[0]", "json object"},
		{"seed low-order x25519", replace(seed0x, strings.Repeat("0", 64)), "seeds[0].pubkey_x25519", "low order"},
		{"seed missing x25519", replace(`,
      "pubkey_x25519": "`+seed0x+`"`, ``), "seeds[0].pubkey_x25519", "missing"},
		{"seed duplicate x25519", replace(n.Seeds[1].X25519.String(), seed0x), "seeds[1].pubkey_x25519", "same key as seeds[0]"},
		{"seed ipv6 not canonical", replace(`[::1]:7201`, `[0::1]:7201`), "seeds[1].address", "canonical"},
		{"loopback as string", replace(`"loopback": true`, `"loopback": "true"`), "loopback", "true or false"},
		{"limits min 2", replace(`"swarm_min_size": 3`, `"swarm_min_size": 2`), "limits.swarm_min_size", "outside"},
		{"limits ideal below min", replace(`"swarm_ideal_size": 4`, `"swarm_ideal_size": 2`), "limits.swarm_ideal_size", "outside"},
		{"limits fractional", replace(`"swarm_ideal_size": 4`, `"swarm_ideal_size": 4.0`), "limits.swarm_ideal_size", "integer"},
		{"limits huge", replace(`"max_message_bytes": 76800`, `"max_message_bytes": 99999999999`), "limits.max_message_bytes", "out of range"},
		{"limits small message", replace(`"max_message_bytes": 76800`, `"max_message_bytes": 10`), "limits.max_message_bytes", "outside"},
		{"limits ttl too long", replace(`"max_ttl_ms": 1209600000`, `"max_ttl_ms": 9209600000`), "limits.max_ttl_ms", "outside"},
		{"limits ttl too short", replace(`"max_ttl_ms": 1209600000`, `"max_ttl_ms": 999`), "limits.max_ttl_ms", "outside"},
		{"limits unknown", replace(`"max_ttl_ms"`, `"max_tll_ms"`), "limits.max_tll_ms", "unknown field"},
		{"services unknown", replace(`"turn":`, `"stun":`), "services.stun", "unknown field"},
		{"files without key", replace(`,
      "pubkey_x25519": "`+xKey("files").String()+`"`, ``), "services.files.pubkey_x25519", "missing"},
		{"files without ed25519", replace(`"pubkey_ed25519": "`+edKey("files").String()+`",`, ``), "services.files.pubkey_ed25519", "missing"},
		{"files bad ed25519", replace(edKey("files").String(), strings.ToUpper(edKey("files").String())), "services.files.pubkey_ed25519", "hex"},
		{"turn without endpoint", replace(`"endpoint": "127.0.0.1:7302",`, ``), "services.turn.endpoint", "missing"},
		{"turn bad endpoint", replace(`"endpoint": "127.0.0.1:7302"`, `"endpoint": "127.0.0.1"`), "services.turn.endpoint", "host:port"},
		{"turn bad tls address", replace(`"tls_address": "127.0.0.1:5349"`, `"tls_address": "x"`), "services.turn.tls_address", "host:port"},
		{"turn without key", replace(`,
      "pubkey_x25519": "`+xKey("turn").String()+`"`, ``), "services.turn.pubkey_x25519", "missing"},
		{"files with endpoint", replace(`"address": "127.0.0.1:7300"`, `"address": "127.0.0.1:7300", "endpoint": "127.0.0.1:7309"`), "services.files.endpoint", "only the turn"},
		{"files with tls address", replace(`"address": "127.0.0.1:7300"`, `"address": "127.0.0.1:7300", "tls_address": "127.0.0.1:7309"`), "services.files.tls_address", "only the turn"},
		{"null field", replace(`"devnet"`, `null`), "network_id", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.data)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error = %v, want ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Parse error %q names field %q, want %q", err, fe.Field, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		f     func(n *Network)
		field string
	}{
		{"no seeds", func(n *Network) { n.Seeds = nil }, "seeds"},
		{"bad limits", func(n *Network) { n.Limits = Limits{} }, "limits.swarm_min_size"},
		{"ttl not whole ms", func(n *Network) { n.Limits.MaxTTL += time.Microsecond }, "limits.max_ttl_ms"},
		{"push without key", func(n *Network) { n.Services.Push.X25519 = nil }, "services.push.pubkey_x25519"},
		{"push without ed25519", func(n *Network) { n.Services.Push.Ed25519 = nil }, "services.push.pubkey_ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := testNetwork()
			tt.f(n)
			_, err := Marshal(n)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Marshal error = %v, want a field error for %s", err, tt.field)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that its errors are field
// errors, and that whatever it accepts survives Marshal and Parse
// unchanged.
func FuzzParse(f *testing.F) {
	good, err := os.ReadFile("testdata/devnet.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"network_id":"x","registries":[],"seeds":[],"limits":{},"services":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v is not a *FieldError", err)
			}
			return
		}
		out, err := Marshal(n)
		if err != nil {
			t.Fatalf("Marshal of a parsed file: %v", err)
		}
		n2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of Marshal output: %v", err)
		}
		if !reflect.DeepEqual(n, n2) {
			t.Fatalf("round trip changed the network:\n%+v\n%+v", n, n2)
		}
	})
}

// TestVerifiesSnapshots shows the intended wiring: the registry keys of
// a parsed network file decide which snapshots are valid.
func TestVerifiesSnapshots(t *testing.T) {
	n := testNetwork()
	var hosts []ed25519.PrivateKey
	for i := range n.Registries {
		hosts = append(hosts, ed25519.NewKeyFromSeed(seed32(fmt.Sprintf("registry %d", i))))
	}
	raw, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		signers []ed25519.PrivateKey
		want    error
	}{
		{"majority", hosts[1:], nil},
		{"minority", hosts[:1], snapshot.ErrTooFewSignatures},
		{"strangers", []ed25519.PrivateKey{ed25519.NewKeyFromSeed(seed32("x")), ed25519.NewKeyFromSeed(seed32("y"))}, snapshot.ErrTooFewSignatures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &snapshot.Snapshot{NetworkID: parsed.ID, Epoch: 1, IssuedAt: issued, ExpiresAt: issued.Add(time.Hour),
				SwarmMinSize: parsed.Limits.SwarmMinSize, SwarmIdealSize: parsed.Limits.SwarmIdealSize}
			for _, h := range tt.signers {
				if err := snapshot.Sign(s, h); err != nil {
					t.Fatal(err)
				}
			}
			enc, err := snapshot.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parsed.SnapshotVerifier().Verify(enc, issued, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOnionTarget(t *testing.T) {
	tests := []struct {
		name, addr string
		want       onion.ServerTarget
	}{
		{"ipv4", "127.0.0.1:7300", onion.ServerTarget{Host: "127.0.0.1", Port: 7300, Protocol: "https", Method: "POST", Target: "/x/v1"}},
		{"ipv6", "[::1]:443", onion.ServerTarget{Host: "[::1]", Port: 443, Protocol: "https", Method: "POST", Target: "/x/v1"}},
		{"name", "files.example.org:8443", onion.ServerTarget{Host: "files.example.org", Port: 8443, Protocol: "https", Method: "POST", Target: "/x/v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Service{Address: tt.addr}).OnionTarget("/x/v1"); got != tt.want {
				t.Fatalf("OnionTarget = %+v, want %+v", got, tt.want)
			}
		})
	}
}

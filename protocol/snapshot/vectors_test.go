package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json: a snapshot signed
// by fixed keys, its canonical signed bytes, and verification cases with
// the outcome every implementation must reach.
type vectorFile struct {
	Comment     string       `json:"comment"`
	HostSeeds   []string     `json:"host_seeds"` // ed25519 seeds (hex) of registry hosts 0..n
	SignedBytes string       `json:"signed_bytes"`
	Cases       []vectorCase `json:"cases"`
}

type vectorCase struct {
	Name      string `json:"name"`
	Snapshot  string `json:"snapshot"`
	Hosts     []int  `json:"hosts"` // indexes into host_seeds given to Verify
	NetworkID string `json:"network_id"`
	NowMs     int64  `json:"now_ms"`
	MinEpoch  uint64 `json:"min_epoch"`
	Error     string `json:"error"` // name of the expected error, "" for success
}

var errorNames = map[string]error{
	"ErrMalformed": ErrMalformed, "ErrWrongNetwork": ErrWrongNetwork, "ErrRollback": ErrRollback,
	"ErrExpired": ErrExpired, "ErrNotYetValid": ErrNotYetValid,
	"ErrTooFewSignatures": ErrTooFewSignatures, "ErrBadSignature": ErrBadSignature,
}

func makeVectors(t testing.TB) []byte {
	priv, _ := testHosts(3)
	v := vectorFile{Comment: "hush registry snapshot vectors; regenerate with go test -run TestVectors -update"}
	for i := range priv {
		v.HostSeeds = append(v.HostSeeds, hex.EncodeToString(priv[i].Seed()))
	}
	s := testSnapshot(6)
	sb, err := SignedBytes(s)
	if err != nil {
		t.Fatal(err)
	}
	v.SignedBytes = hex.EncodeToString(sb)
	all := string(signed(t, testSnapshot(6), priv...))
	two := string(signed(t, testSnapshot(6), priv[0], priv[2]))
	one := string(signed(t, testSnapshot(6), priv[1]))
	tampered := string(bytes.Replace([]byte(all), []byte(`"version":"0.1.0"`), []byte(`"version":"0.1.9"`), 1))
	now := testIssued.Add(time.Minute).UnixMilli()
	add := func(name, raw string, network string, nowMs int64, minEpoch uint64, want string) {
		v.Cases = append(v.Cases, vectorCase{Name: name, Snapshot: raw, Hosts: []int{0, 1, 2},
			NetworkID: network, NowMs: nowMs, MinEpoch: minEpoch, Error: want})
	}
	add("three of three", all, testNetwork, now, 42, "")
	add("two of three", two, testNetwork, now, 0, "")
	add("one of three", one, testNetwork, now, 0, "ErrTooFewSignatures")
	add("tampered version", tampered, testNetwork, now, 0, "ErrBadSignature")
	add("wrong network", all, "othernet", now, 0, "ErrWrongNetwork")
	add("rollback", all, testNetwork, now, 43, "ErrRollback")
	add("expired", all, testNetwork, testIssued.Add(2*time.Hour).UnixMilli(), 0, "ErrExpired")
	add("not yet valid", all, testNetwork, testIssued.Add(-time.Hour).UnixMilli(), 0, "ErrNotYetValid")
	add("malformed", all[:len(all)-1], testNetwork, now, 0, "ErrMalformed")
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestVectors(t *testing.T) {
	want := makeVectors(t)
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what this code produces: the format changed (run with -update if intended)", vectorsPath)
	}
	var v vectorFile
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	var hosts []ed25519.PublicKey
	for _, h := range v.HostSeeds {
		seed, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var hs []ed25519.PublicKey
			for _, i := range c.Hosts {
				hs = append(hs, hosts[i])
			}
			s, err := Verify([]byte(c.Snapshot), hs, c.NetworkID, time.UnixMilli(c.NowMs), c.MinEpoch)
			if c.Error == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				sb, _ := SignedBytes(s)
				if hex.EncodeToString(sb) != v.SignedBytes {
					t.Fatal("signed bytes differ from the vector")
				}
				return
			}
			if !errors.Is(err, errorNames[c.Error]) {
				t.Fatalf("Verify error = %v, want %s", err, c.Error)
			}
		})
	}
}

// FuzzDecodeVerify feeds arbitrary bytes to Decode and Verify. Whatever
// decodes must re-encode to a fixed point with the same signed bytes,
// and every failure must be exactly one of the package's errors.
func FuzzDecodeVerify(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join(vectorsPath))
	if err != nil {
		f.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		f.Fatal(err)
	}
	for _, c := range v.Cases {
		f.Add([]byte(c.Snapshot), c.MinEpoch)
	}
	f.Add([]byte(`{}`), uint64(0))
	_, hosts := testHosts(3)
	now := testIssued.Add(time.Minute)
	f.Fuzz(func(t *testing.T, raw []byte, minEpoch uint64) {
		s, err := Decode(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error %v is not ErrMalformed", err)
			}
		} else {
			enc, err := Encode(s)
			if err != nil {
				t.Fatalf("Encode of a decoded snapshot: %v", err)
			}
			s2, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode of Encode output: %v", err)
			}
			enc2, _ := Encode(s2)
			if !bytes.Equal(enc, enc2) {
				t.Fatal("Encode is not a fixed point")
			}
			sb1, _ := SignedBytes(s)
			sb2, _ := SignedBytes(s2)
			if !bytes.Equal(sb1, sb2) {
				t.Fatal("re-encoding changed the signed bytes")
			}
		}
		got, err := Verify(raw, hosts, testNetwork, now, minEpoch)
		if err == nil {
			if s == nil || got.Epoch < minEpoch {
				t.Fatal("Verify accepted what Decode rejected, or an old epoch")
			}
			return
		}
		n := 0
		for _, e := range allErrors {
			if errors.Is(err, e) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Verify error %v matches %d package errors", err, n)
		}
	})
}

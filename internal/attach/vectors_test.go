package attach

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"

	"github.com/hushnet/hush/crypto/stream"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vector is one sealed file of testdata/vectors.json, made under a fixed
// crypto/rand source (testing/cryptotest.SetGlobalRandom(random_seed)) so
// the key, and so every byte, is reproducible. The plaintext is sample(size).
// Padded is the whole padded ciphertext when it is short, for other
// implementations to open; the digests pin the longer ones.
type vector struct {
	Name         string   `json:"name"`
	Seed         uint64   `json:"random_seed"`
	Size         uint64   `json:"size"`
	PieceSize    int      `json:"piece_size"`
	Key          string   `json:"key"`
	PaddedSize   uint64   `json:"padded_size"`
	Digest       string   `json:"digest"`
	PieceDigests []string `json:"piece_digests"`
	Padded       string   `json:"padded,omitempty"`
}

var vectorCases = []vector{
	{Name: "empty", Seed: 1, Size: 0, PieceSize: 1 << 20},
	{Name: "five bytes", Seed: 2, Size: 5, PieceSize: 1 << 20},
	{Name: "one chunk and a byte in pieces of 10000", Seed: 3, Size: stream.ChunkSize + 1, PieceSize: 10_000},
	{Name: "1 MiB + 3 in pieces of 300000", Seed: 4, Size: 1<<20 + 3, PieceSize: 300_000},
}

func makeVector(t *testing.T, v vector) vector {
	cryptotest.SetGlobalRandom(t, v.Seed)
	s := sealBytes(t, sample(int(v.Size)), v.PieceSize)
	v.Key, v.Digest, v.PaddedSize = hex.EncodeToString(s.p.Key), hex.EncodeToString(s.p.Digest), s.p.PaddedSize
	v.PieceDigests = nil
	for _, pc := range s.p.Pieces {
		v.PieceDigests = append(v.PieceDigests, hex.EncodeToString(pc.Digest))
	}
	v.Padded = ""
	if s.p.PaddedSize <= 256 {
		v.Padded = hex.EncodeToString(s.padded())
	}
	return v
}

// TestVectors fails when the bytes of a sealed attachment change: every
// attachment on a file server and every copy at rest depends on them.
// Regenerate deliberately with -update.
func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	var got []vector
	for _, v := range vectorCases {
		got = append(got, makeVector(t, v))
	}
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want []vector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d vectors made, %d stored", len(got), len(want))
	}
	for i := range want {
		t.Run(want[i].Name, func(t *testing.T) {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			if !bytes.Equal(g, w) {
				t.Fatalf("sealed bytes changed:\n got  %s\n want %s", g, w)
			}
			if want[i].Padded == "" {
				return
			}
			// The stored ciphertext opens to the plaintext.
			p := Pointer{Size: want[i].Size, PaddedSize: want[i].PaddedSize}
			p.Key, _ = hex.DecodeString(want[i].Key)
			p.Digest, _ = hex.DecodeString(want[i].Digest)
			d, _ := hex.DecodeString(want[i].PieceDigests[0])
			p.Pieces = []Piece{{ID: "p", Digest: d, Size: want[i].PaddedSize}}
			padded, _ := hex.DecodeString(want[i].Padded)
			var out bytes.Buffer
			if err := OpenLocal(&out, p, bytes.NewReader(padded)); err != nil || !bytes.Equal(out.Bytes(), sample(int(want[i].Size))) {
				t.Fatalf("stored ciphertext does not open: %v", err)
			}
		})
	}
}

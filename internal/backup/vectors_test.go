package backup

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
)

var update = flag.Bool("update", false, "rewrite testdata/v1.backup")

const vectorPass = "vector passphrase"

// vectorItems span two chunks, so the vector pins the chunk nonces too.
func vectorItems() []item {
	db := bytes.Repeat([]byte("hush database page "), 3500)
	return []item{
		{Entry{Kind: KindKeys, Size: 8}, []byte("keys....")},
		{Entry{Kind: KindFile, Name: "paths.json", Size: 2}, []byte("{}")},
		{Entry{Kind: KindDatabase, Size: int64(len(db))}, db},
	}
}

// TestVectors checks that a version 1 file keeps reading as it did, and
// that the writer still produces it byte for byte from the same
// randomness (the salt is its only random input).
func TestVectors(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	built := build(t, vectorPass, vectorItems())
	path := filepath.Join("testdata", "v1.backup")
	if *update {
		if err := os.WriteFile(path, built, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readBack(stored, vectorPass)
	if err != nil {
		t.Fatal(err)
	}
	want := vectorItems()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].e != want[i].e || !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("entry %d: %+v", i, got[i].e)
		}
	}
	if !bytes.Equal(built, stored) {
		t.Fatal("the writer's output changed; run with -update only if the format changed on purpose (and bump the version)")
	}
}

// FuzzArchive feeds arbitrary plaintext through a valid header and valid
// chunks, so the archive parser behind the AEAD is reached.
func FuzzArchive(f *testing.F) {
	plain := func(items []item, end bool) []byte {
		var b []byte
		for _, it := range items {
			b = append(b, byte(it.e.Kind), byte(len(it.e.Name)))
			b = append(b, it.e.Name...)
			b = append(b, make([]byte, 8)...)
			for i, n := 0, it.e.Size; i < 8; i++ {
				b[len(b)-1-i] = byte(n >> (8 * i))
			}
			b = append(b, it.data...)
		}
		if end {
			b = append(b, make([]byte, entryHeadSize)...)
		}
		return b
	}
	f.Add(plain(sample(10), true))
	f.Add(plain(sample(10), false))
	f.Add(plain(nil, true))
	f.Add(append(plain(sample(3), true), 1))
	f.Add([]byte{3, 200, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, []byte("pw"), testParams)
		if err != nil {
			t.Fatal(err)
		}
		w.s.Write(p)
		w.s.Close()
		items, err := readBack(buf.Bytes(), "pw")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		for _, it := range items {
			if err := it.e.check(); err != nil || int64(len(it.data)) != it.e.Size {
				t.Fatalf("accepted a bad entry %+v: %v", it.e, err)
			}
		}
		// What parses is what the writer would have written.
		if want := plain(items, true); !bytes.Equal(want, p) {
			t.Fatalf("parsed %d entries from %d bytes that the writer would not produce", len(items), len(p))
		}
	})
}

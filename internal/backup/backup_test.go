package backup

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/internal/keystore"
)

var testParams = keystore.TestParams

const (
	encChunkSize = stream.EncryptedChunkSize
	tagSize      = stream.Overhead
)

type item struct {
	e    Entry
	data []byte
}

func build(t testing.TB, pass string, items []item) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []byte(pass), testParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := w.Add(it.e, bytes.NewReader(it.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBack reads every entry and its content, up to the verified end.
func readBack(b []byte, pass string) ([]item, error) {
	r, err := NewReader(bytes.NewReader(b), []byte(pass))
	if err != nil {
		return nil, err
	}
	var out []item
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		out = append(out, item{e, data})
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func sample(dbSize int) []item {
	return []item{
		{Entry{Kind: KindKeys, Size: 40}, random(40)},
		{Entry{Kind: KindFile, Name: "paths.json", Size: 7}, []byte(`{"a":1}`)},
		{Entry{Kind: KindDatabase, Size: int64(dbSize)}, random(dbSize)},
	}
}

func TestRoundTrip(t *testing.T) {
	head := 3*entryHeadSize + len("paths.json") + 40 + 7 // plaintext before the database content
	tests := []struct {
		name   string
		dbSize int
	}{
		{"empty database", 0},
		{"one byte", 1},
		{"payload exactly one chunk", ChunkSize - head},
		{"payload one chunk and one byte", ChunkSize - head + 1},
		{"payload exactly two chunks", 2*ChunkSize - head},
		{"several chunks", 3*ChunkSize + 12345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := sample(tt.dbSize)
			b := build(t, "pw", items)
			got, err := readBack(b, "pw")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(items) {
				t.Fatalf("%d entries, want %d", len(got), len(items))
			}
			for i := range items {
				if got[i].e != items[i].e || !bytes.Equal(got[i].data, items[i].data) {
					t.Fatalf("entry %d differs: %+v", i, got[i].e)
				}
			}
			// Next skips unread content.
			r, _ := NewReader(bytes.NewReader(b), []byte("pw"))
			for range items {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("after skipping: %v", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	good := build(t, "pw", sample(100))
	newer := bytes.Clone(good)
	newer[len(magic)] = version + 1
	tests := []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong passphrase", good, "nope", ErrWrongPassphrase},
		{"not a backup", []byte("{\"account_id\": \"05\"}"), "pw", ErrCorrupt},
		{"empty file", nil, "pw", ErrCorrupt},
		{"newer version", newer, "pw", ErrUnsupportedVersion},
		{"trailing byte", append(bytes.Clone(good), 0), "pw", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readBack(tt.file, tt.pass); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewWriter(io.Discard, nil, testParams); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
}

// wantRejected fails unless b is refused as damaged (or, for the version
// byte, as another version): never opened, never "wrong passphrase".
func wantRejected(t *testing.T, b []byte, what string) {
	t.Helper()
	_, err := readBack(b, "pw")
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("%s: err = %v, want ErrCorrupt", what, err)
	}
}

func TestEveryByteFlip(t *testing.T) {
	good := build(t, "pw", sample(300))
	for i := range good {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(good)
			b[i] ^= mask
			wantRejected(t, b, "flip")
		}
	}
}

func TestEveryTruncation(t *testing.T) {
	good := build(t, "pw", sample(300))
	for n := range len(good) {
		wantRejected(t, good[:n], "truncation")
	}
	// A multi-chunk file cut at and around every chunk boundary.
	big := build(t, "pw", sample(3*ChunkSize))
	for c := headerSize; c < len(big); c += encChunkSize {
		for _, n := range []int{c - 1, c, c + 1, c + tagSize} {
			if n > 0 && n < len(big) {
				wantRejected(t, big[:n], "truncation")
			}
		}
	}
}

func TestChunkSurgery(t *testing.T) {
	good := build(t, "pw", sample(3*ChunkSize))
	hdr, payload := good[:headerSize], good[headerSize:]
	var chunks [][]byte
	for len(payload) > 0 {
		n := min(encChunkSize, len(payload))
		chunks = append(chunks, payload[:n])
		payload = payload[n:]
	}
	if len(chunks) != 4 {
		t.Fatalf("%d chunks, want 4", len(chunks))
	}
	join := func(idx ...int) []byte {
		out := bytes.Clone(hdr)
		for _, i := range idx {
			out = append(out, chunks[i]...)
		}
		return out
	}
	if _, err := readBack(join(0, 1, 2, 3), "pw"); err != nil {
		t.Fatalf("reassembled file: %v", err)
	}
	tests := []struct {
		name  string
		order []int
	}{
		{"swap first two", []int{1, 0, 2, 3}},
		{"swap middle", []int{0, 2, 1, 3}},
		{"drop middle", []int{0, 1, 3}},
		{"drop last", []int{0, 1, 2}},
		{"repeat one", []int{0, 1, 1, 2, 3}},
		{"repeat last", []int{0, 1, 2, 3, 3}},
		{"last moved forward", []int{0, 1, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, join(tt.order...), tt.name)
		})
	}
	// A chunk from another backup under the same passphrase has another key.
	other := build(t, "pw", sample(3*ChunkSize))
	spliced := join(0)
	spliced = append(spliced, other[headerSize+encChunkSize:]...)
	wantRejected(t, spliced, "spliced")
}

func TestHostileHeader(t *testing.T) {
	good := build(t, "pw", sample(10))
	// Parameters that would cost gigabytes: refused before the KDF runs,
	// even with a checksum that matches.
	b := bytes.Clone(good)
	binary.BigEndian.PutUint32(b[13:], 1<<30)
	binary.BigEndian.PutUint32(b[crcOffset:], crc32IEEE(b[:crcOffset]))
	if _, err := readBack(b, "pw"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("huge memory: %v", err)
	}
	if _, err := NewWriter(io.Discard, []byte("pw"), keystore.Params{Time: 1, MemoryKiB: 1, Threads: 1}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("writer accepted bad params: %v", err)
	}
}

func TestBadEntries(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
	}{
		{"unknown kind", Entry{Kind: 9}},
		{"named keys", Entry{Kind: KindKeys, Name: "x"}},
		{"path in name", Entry{Kind: KindFile, Name: "../x"}},
		{"hidden name", Entry{Kind: KindFile, Name: ".x"}},
		{"file too large", Entry{Kind: KindFile, Name: "x", Size: maxFileSize + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := NewWriter(io.Discard, []byte("pw"), testParams)
			if err := w.Add(tt.e, bytes.NewReader(nil)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	w, _ := NewWriter(io.Discard, []byte("pw"), testParams)
	if err := w.Add(Entry{Kind: KindDatabase, Size: 10}, bytes.NewReader(make([]byte, 3))); err == nil {
		t.Fatal("short content accepted")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(build(f, "pw", sample(10)))
	f.Add(build(f, "pw", nil))
	f.Add(build(f, "pw", sample(ChunkSize+5)))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := readBack(b, "pw")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		for _, it := range items {
			if err := it.e.check(); err != nil || int64(len(it.data)) != it.e.Size {
				t.Fatalf("accepted a bad entry %+v: %v", it.e, err)
			}
		}
	})
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func sample(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func seal(t testing.TB, key, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, key)
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"exactly one chunk", ChunkSize},
		{"one chunk and one byte", ChunkSize + 1},
		{"exactly two chunks", 2 * ChunkSize},
		{"several chunks", 3*ChunkSize + 12345},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain := sample(tc.n)
			sealed := seal(t, testKey(1), plain)
			if got := EncryptedSize(uint64(tc.n)); got != uint64(len(sealed)) {
				t.Fatalf("EncryptedSize(%d) = %d, sealed %d bytes", tc.n, got, len(sealed))
			}
			got, err := io.ReadAll(NewReader(bytes.NewReader(sealed), testKey(1)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("plaintext differs")
			}
		})
	}
}

// TestKnownAnswer pins the bytes: the backup format (internal/backup
// testdata/v1.backup) and every stored attachment depend on them.
func TestKnownAnswer(t *testing.T) {
	sealed := seal(t, testKey(0x42), sample(2*ChunkSize+100))
	sum := sha256.Sum256(sealed)
	const want = "827bde456cf86eaba07335a93aec5062c96d3ae0b6fdbb75401a4053703e6b20" // also what internal/backup's own code gave before the move
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("sealed stream SHA-256 = %s, want %s", got, want)
	}
}

func TestDamageRefused(t *testing.T) {
	good := seal(t, testKey(1), sample(3*ChunkSize+500))
	chunk := func(i int) []byte {
		return good[i*EncryptedChunkSize : min((i+1)*EncryptedChunkSize, len(good))]
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := bytes.Clone(good)
	flip[EncryptedChunkSize+10] ^= 1
	other := seal(t, testKey(1), sample(4*ChunkSize)) // whole chunks only
	tests := []struct {
		name string
		in   []byte
		key  []byte
		want error
	}{
		{"empty input", nil, testKey(1), ErrTruncated},
		{"cut at a chunk boundary", good[:2*EncryptedChunkSize], testKey(1), ErrTruncated},
		{"cut after the first chunk", good[:EncryptedChunkSize], testKey(1), ErrTruncated},
		{"cut inside the last chunk", good[:len(good)-1], testKey(1), ErrCorrupt},
		{"cut inside a middle chunk", good[:EncryptedChunkSize+100], testKey(1), ErrCorrupt},
		{"cut to less than a tag", good[:EncryptedChunkSize+5], testKey(1), ErrCorrupt},
		{"flipped bit", flip, testKey(1), ErrCorrupt},
		{"chunks swapped", cat(chunk(1), chunk(0), chunk(2), chunk(3)), testKey(1), ErrCorrupt},
		{"chunk dropped", cat(chunk(0), chunk(2), chunk(3)), testKey(1), ErrCorrupt},
		{"chunk repeated", cat(chunk(0), chunk(0), chunk(1), chunk(2), chunk(3)), testKey(1), ErrCorrupt},
		{"trailing garbage", cat(good, []byte{0}), testKey(1), ErrCorrupt},
		{"an empty last chunk appended", cat(other, seal(t, testKey(1), nil)), testKey(1), ErrCorrupt},
		{"wrong key", good, testKey(2), ErrCorrupt},
		{"short key", good, testKey(1)[:16], ErrKeySize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.in), tc.key)
			_, err := io.ReadAll(r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// Sticky: nothing more comes out after a failure.
			if n, err2 := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err2, tc.want) {
				t.Fatalf("after failure Read = %d, %v", n, err2)
			}
		})
	}
}

// TestReleasedOnlyAuthenticated checks that what a damaged stream releases
// before its error is a prefix of the plaintext, whole chunks only.
func TestReleasedOnlyAuthenticated(t *testing.T) {
	plain := sample(3 * ChunkSize)
	sealed := seal(t, testKey(1), plain)
	sealed[2*EncryptedChunkSize+3] ^= 0x80
	got, err := io.ReadAll(NewReader(bytes.NewReader(sealed), testKey(1)))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 2*ChunkSize || !bytes.Equal(got, plain[:len(got)]) {
		t.Fatalf("released %d bytes, want the first two chunks", len(got))
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(io.Discard, testKey(1)[:31])
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Write with a short key: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Close with a short key: %v", err)
	}
	w = NewWriter(io.Discard, testKey(1))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after close accepted")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(seal(f, testKey(1), sample(ChunkSize+5)))
	f.Add(seal(f, testKey(1), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := io.ReadAll(NewReader(bytes.NewReader(b), testKey(1)))
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

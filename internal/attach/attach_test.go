package attach

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/protocol/envelope"
)

func sample(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i/509)
	}
	return b
}

// sealed is a file sealed in memory: its pointer and pieces.
type sealed struct {
	p      Pointer
	pieces [][]byte
}

func sealBytes(t testing.TB, plain []byte, pieceSize int) sealed {
	t.Helper()
	var pieces [][]byte
	s, err := Seal(bytes.NewReader(plain), pieceSize, func(i int, piece []byte) error {
		if i != len(pieces) {
			t.Fatalf("put(%d) out of order", i)
		}
		pieces = append(pieces, piece)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(pieces))
	for i := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("piece-%d", i)))
	}
	p, err := s.Pointer(ids)
	if err != nil {
		t.Fatal(err)
	}
	return sealed{p, pieces}
}

func (s sealed) get(i int) ([]byte, error) { return s.pieces[i], nil }

func (s sealed) padded() []byte { return bytes.Join(s.pieces, nil) }

// resealed cuts a padded ciphertext into pieces like the original and
// gives them correct digests: what a lying sender can do.
func (s sealed) resealed(padded []byte) sealed {
	out := sealed{p: s.p}
	out.p.Pieces = nil
	size := int(s.p.Pieces[0].Size)
	for i := 0; len(padded) > 0; i++ {
		k := min(size, len(padded))
		d := sha256.Sum256(padded[:k])
		out.p.Pieces = append(out.p.Pieces, Piece{ID: "x", Digest: d[:], Size: uint64(k)})
		out.pieces = append(out.pieces, padded[:k])
		padded = padded[k:]
	}
	whole := sha256.Sum256(bytes.Join(out.pieces, nil))
	out.p.Digest = whole[:]
	out.p.PaddedSize = uint64(len(bytes.Join(out.pieces, nil)))
	return out
}

func TestSealOpen(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		pieceSize int
	}{
		{"empty", 0, 1000},
		{"one byte", 1, 1000},
		{"one chunk", stream.ChunkSize, 1 << 20},
		{"one chunk and a byte, small pieces", stream.ChunkSize + 1, 10_000},
		{"pieces on chunk boundaries", 4 * stream.ChunkSize, stream.EncryptedChunkSize},
		{"a few pieces", 1<<20 + 3, 300_000},
		{"pieces of one byte", 100, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain := sample(tc.n)
			s := sealBytes(t, plain, tc.pieceSize)
			sealedLen := stream.EncryptedSize(uint64(tc.n))
			if s.p.Size != uint64(tc.n) || s.p.PaddedSize != Padme(sealedLen) {
				t.Fatalf("sizes %d/%d, want %d/%d", s.p.Size, s.p.PaddedSize, tc.n, Padme(sealedLen))
			}
			for i, pc := range s.pieces {
				if i < len(s.pieces)-1 && len(pc) != tc.pieceSize || len(pc) > tc.pieceSize {
					t.Fatalf("piece %d is %d bytes", i, len(pc))
				}
			}
			if tail := s.padded()[sealedLen:]; !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Fatal("padding is not zero")
			}
			var out bytes.Buffer
			if err := Open(&out, s.p, s.get); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatal("plaintext differs")
			}
			out.Reset()
			if err := OpenLocal(&out, s.p, bytes.NewReader(s.padded())); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatal("OpenLocal: plaintext differs")
			}
			// The pointer survives the envelope and its validation.
			c := &envelope.Content{MessageId: make([]byte, 16), SentAtMs: 1, Body: &envelope.Content_Data{Data: &envelope.DataMessage{Attachments: []*envelope.AttachmentPointer{s.p.Proto()}}}}
			b, err := envelope.MarshalContent(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := envelope.UnmarshalContent(b)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := FromProto(c2.GetData().GetAttachments()[0])
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			if err := Open(&out, p2, s.get); err != nil || !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("through the envelope: %v", err)
			}
		})
	}
}

func TestSealKeysAreFresh(t *testing.T) {
	a, b := sealBytes(t, sample(10), 100), sealBytes(t, sample(10), 100)
	if bytes.Equal(a.p.Key, b.p.Key) || bytes.Equal(a.p.Digest, b.p.Digest) {
		t.Fatal("two seals of the same file share a key or a digest")
	}
}

var errGone = errors.New("blob not found")

// TestOpenRefuses: every damage is refused with its named error, and what
// reached the writer is a prefix of the plaintext, none of it from a piece
// that failed.
func TestOpenRefuses(t *testing.T) {
	const pieceSize = 100_000
	plain := sample(5*stream.ChunkSize + 777) // 4 pieces
	good := sealBytes(t, plain, pieceSize)
	if len(good.pieces) != 4 {
		t.Fatalf("%d pieces", len(good.pieces))
	}
	sealedLen := int(stream.EncryptedSize(uint64(len(plain))))
	type tc struct {
		name  string
		s     sealed
		get   func(sealed) func(int) ([]byte, error)
		want  error
		piece int // the piece a *PieceError must name, or -1
	}
	plainGet := func(s sealed) func(int) ([]byte, error) { return s.get }
	var tests []tc
	for i := range good.pieces {
		i := i
		tests = append(tests, tc{fmt.Sprintf("piece %d tampered", i), good, func(s sealed) func(int) ([]byte, error) {
			return func(j int) ([]byte, error) {
				b := bytes.Clone(s.pieces[j])
				if j == i {
					b[len(b)/2] ^= 1
				}
				return b, nil
			}
		}, ErrPieceDigest, i})
	}
	tests = append(tests,
		tc{"pieces 1 and 2 swapped", good, func(s sealed) func(int) ([]byte, error) {
			order := []int{0, 2, 1, 3}
			return func(j int) ([]byte, error) { return s.pieces[order[j]], nil }
		}, ErrPieceDigest, 1},
		tc{"piece 2 missing on the server", good, func(s sealed) func(int) ([]byte, error) {
			return func(j int) ([]byte, error) {
				if j == 2 {
					return nil, errGone
				}
				return s.pieces[j], nil
			}
		}, errGone, 2},
		tc{"last piece cut by a byte", good, func(s sealed) func(int) ([]byte, error) {
			return func(j int) ([]byte, error) {
				if j == 3 {
					return s.pieces[j][:len(s.pieces[j])-1], nil
				}
				return s.pieces[j], nil
			}
		}, ErrPieceDigest, 3},
		tc{"piece 0 empty", good, func(s sealed) func(int) ([]byte, error) {
			return func(j int) ([]byte, error) {
				if j == 0 {
					return nil, nil
				}
				return s.pieces[j], nil
			}
		}, ErrPieceDigest, 0},
	)
	// A lying sender: digests that match bytes that are wrong.
	cut := good.padded()[:sealedLen-100] // the last chunk cut short
	cut = append(cut, make([]byte, len(good.padded())-len(cut))...)
	atBoundary := good.padded()[:5*stream.EncryptedChunkSize] // the last chunk dropped
	atBoundary = append(atBoundary, make([]byte, len(good.padded())-len(atBoundary))...)
	nonZero := good.padded()
	nonZero[len(nonZero)-1] = 1
	wrongKey := good
	wrongKey.p.Key = bytes.Repeat([]byte{7}, 32)
	wrongDigest := good
	wrongDigest.p.Digest = make([]byte, 32)
	longer := good.resealed(append(good.padded(), 0))
	lieSize := good
	lieSize.p.Size -= 10 // same padded size: the last chunk is not where the size says
	tests = append(tests,
		tc{"last chunk cut (sender)", good.resealed(cut), plainGet, ErrCorrupt, -1},
		tc{"last chunk dropped at a boundary (sender)", good.resealed(atBoundary), plainGet, ErrCorrupt, -1},
		tc{"non-zero padding (sender)", good.resealed(nonZero), plainGet, ErrPadding, -1},
		tc{"padding longer than Padmé (sender)", longer, plainGet, ErrPointer, -1},
		tc{"size smaller than the stream (sender)", lieSize, plainGet, ErrCorrupt, -1},
		tc{"wrong key", wrongKey, plainGet, ErrCorrupt, -1},
		tc{"wrong whole digest", wrongDigest, plainGet, ErrDigest, -1},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Open(&out, tt.s.p, tt.get(tt.s))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *PieceError
			if tt.piece >= 0 && (!errors.As(err, &pe) || pe.Index != tt.piece) {
				t.Fatalf("err = %v, want a PieceError for piece %d", err, tt.piece)
			}
			if !bytes.HasPrefix(plain, out.Bytes()) {
				t.Fatal("wrote bytes that are not the plaintext")
			}
			// Nothing from the failing piece or after: the plaintext of
			// piece i starts after at least i*pieceSize ciphertext bytes.
			if tt.piece >= 0 && out.Len() > tt.piece*pieceSize {
				t.Fatalf("wrote %d bytes, beyond the verified pieces", out.Len())
			}
			// The copy at rest, damaged the same way, writes nothing.
			padded := bytes.Join(collect(tt.s, tt.get(tt.s)), nil)
			out.Reset()
			if err := OpenLocal(&out, tt.s.p, bytes.NewReader(padded)); err == nil || out.Len() != 0 {
				t.Fatalf("OpenLocal: %v, wrote %d bytes", err, out.Len())
			}
		})
	}
}

// collect gets every piece it can, for the local-copy check.
func collect(s sealed, get func(int) ([]byte, error)) [][]byte {
	var out [][]byte
	for i := range s.p.Pieces {
		b, err := get(i)
		if err != nil {
			b = make([]byte, s.p.Pieces[i].Size)
		}
		out = append(out, b)
	}
	return out
}

func TestOpenLocalLength(t *testing.T) {
	s := sealBytes(t, sample(1000), 500)
	for _, tc := range []struct {
		name string
		f    []byte
		want error
	}{
		{"one byte longer", append(s.padded(), 0), ErrPadding},
		{"one byte shorter", s.padded()[:len(s.padded())-1], ErrPieceDigest},
		{"empty", nil, ErrPieceDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := OpenLocal(&out, s.p, bytes.NewReader(tc.f)); !errors.Is(err, tc.want) || out.Len() != 0 {
				t.Fatalf("err = %v, wrote %d; want %v", err, out.Len(), tc.want)
			}
		})
	}
}

// TestMemoryBounded checks the streaming: Seal hands piece i to put before
// it has read much past it, and Open asks for piece i only once the
// plaintext before it is out.
func TestMemoryBounded(t *testing.T) {
	const pieceSize = 200_000
	plain := sample(3 << 20)
	cr := &countingReader{r: bytes.NewReader(plain)}
	_, err := Seal(cr, pieceSize, func(i int, piece []byte) error {
		// The plaintext read so far is at most the pieces so far plus
		// the chunk being sealed and io.Copy's buffer.
		if limit := (i+1)*pieceSize + stream.ChunkSize + 32<<10; cr.n > limit {
			t.Fatalf("put(%d) after reading %d bytes (limit %d)", i, cr.n, limit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := sealBytes(t, plain, pieceSize)
	var out bytes.Buffer
	err = Open(&out, s.p, func(i int) ([]byte, error) {
		if low := i*pieceSize - 3*stream.EncryptedChunkSize; out.Len() < low {
			t.Fatalf("get(%d) with only %d bytes written (want %d)", i, out.Len(), low)
		}
		return s.pieces[i], nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

func TestSealErrors(t *testing.T) {
	put := func(int, []byte) error { return nil }
	if _, err := Seal(bytes.NewReader(nil), 0, put); err == nil {
		t.Fatal("piece size 0 accepted")
	}
	if _, err := Seal(bytes.NewReader(nil), envelope.MaxPieceSize+1, put); err == nil {
		t.Fatal("piece size above the onion class accepted")
	}
	calls := 0
	_, err := Seal(bytes.NewReader(sample(200_000)), 1000, func(int, []byte) error { calls++; return nil })
	if !errors.Is(err, ErrTooLarge) || calls != envelope.MaxAttachmentPieces {
		t.Fatalf("err = %v after %d puts, want ErrTooLarge after %d", err, calls, envelope.MaxAttachmentPieces)
	}
	boom := errors.New("upload failed")
	if _, err := Seal(bytes.NewReader(sample(5000)), 1000, func(i int, _ []byte) error {
		if i == 2 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("put's error lost: %v", err)
	}
}

// patternReader yields n deterministic bytes without holding them.
type patternReader struct{ off, n int }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off == p.n {
		return 0, io.EOF
	}
	k := min(len(b), p.n-p.off)
	for i := range b[:k] {
		b[i] = byte((p.off + i) * 31 >> 3)
	}
	p.off += k
	return k, nil
}

// TestHeapBounded seals a 24 MiB file into a file on disk and opens it
// back, measuring the live heap at every piece: it must stay near one
// piece, far below the file's size.
func TestHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("forces a garbage collection per piece")
	}
	const size, pieceSize, slack = 24 << 20, 1 << 20, 3 << 20
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := uint64(0)
	measure := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base {
			peak = max(peak, ms.HeapAlloc-base)
		}
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "pieces"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Seal(&patternReader{n: size}, pieceSize, func(_ int, piece []byte) error {
		measure()
		_, err := f.Write(piece)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(s.PieceDigests))
	for i := range ids {
		ids[i] = "p"
	}
	p, err := s.Pointer(ids)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	writes := 0
	if err := OpenLocal(writerFunc(func(b []byte) (int, error) {
		if writes++; writes%8 == 0 { // chunks come 16 a piece
			measure()
		}
		return h.Write(b)
	}), p, f); err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	io.Copy(want, &patternReader{n: size})
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatal("plaintext differs")
	}
	t.Logf("peak live heap over the start: %d KiB for a %d MiB file", peak>>10, size>>20)
	if peak > pieceSize+slack {
		t.Fatalf("live heap reached %d bytes for pieces of %d", peak, pieceSize)
	}
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(b []byte) (int, error) { return w(b) }

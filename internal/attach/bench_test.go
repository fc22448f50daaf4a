package attach

import (
	"bytes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/crypto/stream"
)

const benchSize = 10 << 20

// BenchmarkSealOpen measures a round trip through Seal and Open (pieces of
// 1 MiB kept in memory, as an upload and a download would hand them
// over); BenchmarkBaseline moves the same bytes through the least a
// sealed, digested copy costs: one SHA-256 pass and one XChaCha20-Poly1305
// pass each way, in 64 KiB chunks. The ratio of their MB/s is the cost of
// the format (padding, pieces, per-piece digests, the stream's framing).
func BenchmarkSealOpen(b *testing.B) {
	plain := sample(benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		sealOpen(b, plain)
	}
}

func BenchmarkBaseline(b *testing.B) {
	plain := sample(benchSize)
	bl := newBaseline()
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		bl.run(b, plain)
	}
}

// BenchmarkSealOpenRatio alternates the two, so that a machine busy with
// other work slows both alike, and reports the format's throughput as a
// fraction of the baseline's.
func BenchmarkSealOpenRatio(b *testing.B) {
	plain := sample(benchSize)
	bl := newBaseline()
	var tFormat, tBase time.Duration
	b.SetBytes(2 * benchSize)
	for b.Loop() {
		t0 := time.Now()
		sealOpen(b, plain)
		t1 := time.Now()
		bl.run(b, plain)
		tFormat, tBase = tFormat+t1.Sub(t0), tBase+time.Since(t1)
	}
	b.ReportMetric(float64(tBase)/float64(tFormat), "ratio")
}

func sealOpen(b *testing.B, plain []byte) {
	pieces := make([][]byte, 0, 16)
	s, err := Seal(bytes.NewReader(plain), 1<<20, func(_ int, p []byte) error {
		pieces = append(pieces, p)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(pieces))
	for i := range ids {
		ids[i] = "id"
	}
	p, err := s.Pointer(ids)
	if err != nil {
		b.Fatal(err)
	}
	if err := Open(io.Discard, p, func(i int) ([]byte, error) { return pieces[i], nil }); err != nil {
		b.Fatal(err)
	}
}

type baseline struct {
	aead           cipher.AEAD
	nonce          []byte
	sealed, opened []byte
	digest         [32]byte // the downloader's, kept so it is not optimised away
}

func newBaseline() *baseline {
	aead, _ := chacha20poly1305.NewX(make([]byte, 32))
	return &baseline{
		aead: aead, nonce: make([]byte, chacha20poly1305.NonceSizeX),
		sealed: make([]byte, 0, benchSize+benchSize/stream.ChunkSize*stream.Overhead+stream.Overhead),
		opened: make([]byte, stream.ChunkSize),
	}
}

// run seals in 64 KiB chunks, hashes the ciphertext once for the upload
// and once for the download, and opens it again.
func (bl *baseline) run(b *testing.B, plain []byte) {
	bl.sealed = bl.sealed[:0]
	for i := 0; i < len(plain); i += stream.ChunkSize {
		binary.BigEndian.PutUint64(bl.nonce[15:], uint64(i))
		bl.sealed = bl.aead.Seal(bl.sealed, bl.nonce, plain[i:min(i+stream.ChunkSize, len(plain))], nil)
	}
	up := sha256.Sum256(bl.sealed) // the uploader's digest
	bl.digest = sha256.Sum256(bl.sealed)
	if up != bl.digest {
		b.Fatal("digest")
	}
	for i, j := 0, 0; i < len(bl.sealed); i, j = i+stream.EncryptedChunkSize, j+stream.ChunkSize {
		binary.BigEndian.PutUint64(bl.nonce[15:], uint64(j))
		if _, err := bl.aead.Open(bl.opened[:0], bl.nonce, bl.sealed[i:min(i+stream.EncryptedChunkSize, len(bl.sealed))], nil); err != nil {
			b.Fatal(err)
		}
	}
}

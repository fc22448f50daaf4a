package attach

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"testing"

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
	pieces := make([][]byte, 0, 16)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		pieces = pieces[:0]
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
}

func BenchmarkBaseline(b *testing.B) {
	plain := sample(benchSize)
	key := make([]byte, 32)
	aead, _ := chacha20poly1305.NewX(key)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	sealed := make([]byte, 0, benchSize+benchSize/stream.ChunkSize*stream.Overhead+stream.Overhead)
	opened := make([]byte, stream.ChunkSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		sealed = sealed[:0]
		for i := 0; i < len(plain); i += stream.ChunkSize {
			binary.BigEndian.PutUint64(nonce[15:], uint64(i))
			sealed = aead.Seal(sealed, nonce, plain[i:min(i+stream.ChunkSize, len(plain))], nil)
		}
		up := sha256.Sum256(sealed)
		down := sha256.Sum256(sealed)
		if up != down {
			b.Fatal("digest")
		}
		for i, j := 0, 0; i < len(sealed); i, j = i+stream.EncryptedChunkSize, j+stream.ChunkSize {
			binary.BigEndian.PutUint64(nonce[15:], uint64(j))
			if _, err := aead.Open(opened[:0], nonce, sealed[i:min(i+stream.EncryptedChunkSize, len(sealed))], nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

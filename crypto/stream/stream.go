// Package stream is hush's chunked authenticated encryption of a byte
// stream: the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár
// ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
// CRYPTO 2015), as age uses it (FiloSottile/age internal/stream). Backups
// (internal/backup) and attachments (internal/attach) share it, so there is
// one construction to review.
//
// # Format
//
// The plaintext is cut into chunks of [ChunkSize] (64 KiB) bytes; every
// chunk but the last is full, and the last holds 1 to 64 KiB (it may be
// empty only when it is also the first, for an empty plaintext). Chunk i is
// sealed with XChaCha20-Poly1305 under a 32-byte key with the 24-byte nonce
//
//	15 zero bytes ‖ uint64 i (big-endian) ‖ flag (0x01 for the last chunk, else 0x00)
//
// and no associated data, and is written as its ciphertext and 16-byte tag.
// The counter in the nonce rejects reordered, repeated or dropped chunks;
// the last-chunk flag rejects a stream cut at a chunk boundary. The key must
// be used for one stream only: the nonces repeat from one stream to the next.
//
// # Reading
//
// A reader knows a chunk is the last when its input ends after it, and then
// insists that the chunk's flag says so. Plaintext is released chunk by
// chunk as each chunk authenticates, so a stream cut short is only known to
// be whole when Read returns io.EOF: treat nothing read as final before
// that. A stream cut at a chunk boundary is [ErrTruncated]; any other damage
// (a chunk that does not open, a wrong key, bytes after the last chunk, a
// cut inside the last chunk) is [ErrCorrupt].
//
// The package does no I/O of its own: it reads and writes the io.Reader and
// io.Writer it is given.
package stream

import (
	"bufio"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 64 << 10
	// KeySize is the size of a stream key.
	KeySize = chacha20poly1305.KeySize
	// Overhead is what sealing adds to each chunk (the Poly1305 tag).
	Overhead = chacha20poly1305.Overhead
	// EncryptedChunkSize is the size of every sealed chunk but the last.
	EncryptedChunkSize = ChunkSize + Overhead

	lastFlag = 0x01
)

// Errors returned (wrapped, with the chunk's index) by the reader.
var (
	// ErrTruncated: the stream ends at a chunk boundary before its last
	// chunk, or holds no chunk at all.
	ErrTruncated = errors.New("stream: truncated")
	// ErrCorrupt: a chunk does not authenticate under the key (damaged,
	// reordered, cut inside, or the key is wrong), the last chunk is empty
	// where it may not be, or bytes follow the last chunk.
	ErrCorrupt = errors.New("stream: corrupt or tampered")
	// ErrKeySize: the key is not KeySize bytes.
	ErrKeySize = errors.New("stream: key must be 32 bytes")
)

// EncryptedSize returns the length of the sealed stream of an n-byte
// plaintext.
func EncryptedSize(n uint64) uint64 {
	chunks := (n + ChunkSize - 1) / ChunkSize
	if chunks == 0 {
		chunks = 1 // an empty plaintext is one empty last chunk
	}
	return n + chunks*Overhead
}

// nonce builds chunk i's nonce: 15 zero bytes, i, and the last-chunk flag.
func nonce(i uint64, last bool) []byte {
	n := make([]byte, chacha20poly1305.NonceSizeX)
	binary.BigEndian.PutUint64(n[15:], i)
	if last {
		n[23] = lastFlag
	}
	return n
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	return chacha20poly1305.NewX(key)
}

// writer seals plaintext in chunks. A full chunk is held back until more
// plaintext arrives, so Close can flag it as the last one.
type writer struct {
	w       io.Writer
	aead    cipher.AEAD
	buf     []byte
	out     []byte // sealed chunk, reused
	counter uint64
	closed  bool
	err     error // sticky: a stream with a failed write is unusable
}

// NewWriter returns a writer that seals what is written to it onto w, in
// chunks. Close must be called to write the last chunk; it does not close
// w. Nothing written is a valid stream before Close returns nil. The key
// must be KeySize bytes and never used for another stream; with a key of
// another size every Write and Close fails with [ErrKeySize].
func NewWriter(w io.Writer, key []byte) io.WriteCloser {
	aead, err := newAEAD(key)
	return &writer{w: w, aead: aead, err: err, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, EncryptedChunkSize)}
}

func (s *writer) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("stream: write after close")
	}
	if s.err != nil {
		return 0, s.err
	}
	total := len(p)
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			if err := s.flush(false); err != nil {
				return total - len(p), err
			}
		}
		n := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+n]
		p = p[n:]
	}
	return total, nil
}

func (s *writer) flush(last bool) error {
	if s.counter == ^uint64(0) {
		s.err = errors.New("stream: too many chunks")
		return s.err
	}
	s.out = s.aead.Seal(s.out[:0], nonce(s.counter, last), s.buf, nil)
	s.counter++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(s.out); err != nil {
		s.err = err
		return err
	}
	return nil
}

// Close seals what is buffered as the last chunk.
func (s *writer) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	return s.flush(true)
}

// reader opens chunks as they are read.
type reader struct {
	r       *bufio.Reader
	aead    cipher.AEAD
	enc     []byte // sealed chunk
	dec     []byte // opened chunk: apart from enc, which a failed Open would wipe
	plain   []byte // opened, not yet returned
	counter uint64
	last    bool  // the last chunk was opened
	err     error // sticky: nothing is read past a failure
}

// NewReader returns a reader of the plaintext sealed in r. It holds about
// three chunks (read-ahead, sealed, opened). Read fails with [ErrTruncated],
// [ErrCorrupt], r's own errors, or [ErrKeySize] when key is not KeySize
// bytes.
func NewReader(r io.Reader, key []byte) io.Reader {
	aead, err := newAEAD(key)
	return &reader{
		r: bufio.NewReaderSize(r, EncryptedChunkSize+1), aead: aead, err: err,
		enc: make([]byte, EncryptedChunkSize), dec: make([]byte, 0, ChunkSize),
	}
}

func (s *reader) Read(p []byte) (int, error) {
	for len(s.plain) == 0 {
		if s.last {
			return 0, io.EOF
		}
		if s.err != nil {
			return 0, s.err
		}
		if s.err = s.next(); s.err != nil {
			return 0, s.err
		}
	}
	n := copy(p, s.plain)
	s.plain = s.plain[n:]
	return n, nil
}

func (s *reader) next() error {
	n, err := io.ReadFull(s.r, s.enc)
	last := false
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: ends after chunk %d", ErrTruncated, s.counter)
	case errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	case err != nil:
		return err
	default:
		if _, perr := s.r.Peek(1); errors.Is(perr, io.EOF) {
			last = true
		} else if perr != nil {
			return perr
		}
	}
	if n < Overhead {
		return fmt.Errorf("%w: chunk %d too short", ErrCorrupt, s.counter)
	}
	plain, err := s.aead.Open(s.dec[:0], nonce(s.counter, last), s.enc[:n], nil)
	if err != nil {
		// A full chunk that opens as a middle chunk where the input ends
		// is a stream cut at a chunk boundary: say so, it is the common
		// case of an interrupted copy.
		if last && n == EncryptedChunkSize {
			if _, err2 := s.aead.Open(s.dec[:0], nonce(s.counter, false), s.enc[:n], nil); err2 == nil {
				return fmt.Errorf("%w: ends after chunk %d", ErrTruncated, s.counter+1)
			}
		}
		return fmt.Errorf("%w: chunk %d does not authenticate", ErrCorrupt, s.counter)
	}
	// Only an empty plaintext has an empty last chunk; otherwise a stream
	// cut right after a full chunk could be completed by an empty one.
	if last && len(plain) == 0 && s.counter > 0 {
		return fmt.Errorf("%w: empty last chunk", ErrCorrupt)
	}
	s.counter++
	s.plain, s.last = plain, last
	return nil
}

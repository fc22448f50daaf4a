package backup

import (
	"bufio"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// ChunkSize is the plaintext size of every payload chunk but the last.
const ChunkSize = 64 << 10

const (
	tagSize      = chacha20poly1305.Overhead
	encChunkSize = ChunkSize + tagSize
	lastFlag     = 0x01
)

// nonce builds chunk i's nonce: 15 zero bytes, i, and the last-chunk flag.
func nonce(i uint64, last bool) []byte {
	n := make([]byte, chacha20poly1305.NonceSizeX)
	binary.BigEndian.PutUint64(n[15:], i)
	if last {
		n[23] = lastFlag
	}
	return n
}

// streamWriter seals plaintext in chunks. A full chunk is held back until
// more plaintext arrives, so Close can flag it as the last one.
type streamWriter struct {
	w       io.Writer
	aead    cipher.AEAD
	buf     []byte
	counter uint64
	closed  bool
}

func newStreamWriter(w io.Writer, key []byte) *streamWriter {
	aead, _ := chacha20poly1305.NewX(key) // key is always 32 bytes
	return &streamWriter{w: w, aead: aead, buf: make([]byte, 0, ChunkSize)}
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("backup: write after close")
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

func (s *streamWriter) flush(last bool) error {
	if s.counter == ^uint64(0) {
		return errors.New("backup: too many chunks")
	}
	out := s.aead.Seal(nil, nonce(s.counter, last), s.buf, nil)
	s.counter++
	s.buf = s.buf[:0]
	_, err := s.w.Write(out)
	return err
}

// Close seals what is buffered as the last chunk.
func (s *streamWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush(true)
}

// streamReader opens chunks as they are read. It knows a chunk is the last
// when the file ends after it, and then insists that its flag says so.
type streamReader struct {
	r       *bufio.Reader
	aead    cipher.AEAD
	enc     []byte
	plain   []byte // opened, not yet returned
	counter uint64
	last    bool  // the last chunk was opened
	err     error // sticky: nothing is read past a failure
}

func newStreamReader(r io.Reader, key []byte) *streamReader {
	aead, _ := chacha20poly1305.NewX(key)
	return &streamReader{r: bufio.NewReaderSize(r, encChunkSize+1), aead: aead, enc: make([]byte, encChunkSize)}
}

func (s *streamReader) Read(p []byte) (int, error) {
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

func (s *streamReader) next() error {
	n, err := io.ReadFull(s.r, s.enc)
	last := false
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: cut short after chunk %d", ErrCorrupt, s.counter)
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
	if n < tagSize {
		return fmt.Errorf("%w: chunk %d too short", ErrCorrupt, s.counter)
	}
	plain, err := s.aead.Open(s.enc[:0], nonce(s.counter, last), s.enc[:n], nil)
	if err != nil {
		return fmt.Errorf("%w: chunk %d does not authenticate", ErrCorrupt, s.counter)
	}
	// Only an empty payload has an empty last chunk; otherwise a file cut
	// right after a full chunk could be completed by an empty one.
	if last && len(plain) == 0 && s.counter > 0 {
		return fmt.Errorf("%w: empty last chunk", ErrCorrupt)
	}
	s.counter++
	s.plain, s.last = plain, last
	return nil
}

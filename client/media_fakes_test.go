package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// In-memory stand-ins for the two seams of attachments, until the file
// server's client (internal/filesclient) and internal/attach are merged.

// fakeFiles is a FileServer holding blobs in a map. Its hooks let a test
// fail, tamper with or count requests.
type fakeFiles struct {
	mu    sync.Mutex
	blobs map[string][]byte
	token map[string][]byte
	// uploads, downloads and deletes count the calls that reached it.
	uploads, downloads, deletes atomic.Int64
	inflight, maxInflight       atomic.Int64
	// failUpload, when set, is asked before each upload; a non-nil error
	// is returned instead.
	failUpload   func(n int64, piece []byte) error
	failDownload func(id string, n int64) error
	// slow makes each upload wait, so parallel uploads overlap.
	slow time.Duration
	ttls []time.Duration
}

func newFakeFiles() *fakeFiles {
	return &fakeFiles{blobs: map[string][]byte{}, token: map[string][]byte{}}
}

func (f *fakeFiles) Upload(ctx context.Context, piece []byte, ttl time.Duration) (UploadedPiece, error) {
	n := f.uploads.Add(1)
	cur := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if cur <= m || f.maxInflight.CompareAndSwap(m, cur) {
			break
		}
	}
	if f.slow > 0 {
		time.Sleep(f.slow)
	}
	if f.failUpload != nil {
		if err := f.failUpload(n, piece); err != nil {
			return UploadedPiece{}, err
		}
	}
	id := make([]byte, 32)
	rand.Read(id)
	tok := make([]byte, 32)
	rand.Read(tok)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[hex.EncodeToString(id)] = bytes.Clone(piece)
	f.token[hex.EncodeToString(id)] = tok
	f.ttls = append(f.ttls, ttl)
	return UploadedPiece{ID: hex.EncodeToString(id), Expires: time.Now().Add(ttl), Token: tok}, nil
}

func (f *fakeFiles) Download(ctx context.Context, id string, offset, length int64) ([]byte, int64, error) {
	n := f.downloads.Add(1)
	if f.failDownload != nil {
		if err := f.failDownload(id, n); err != nil {
			return nil, 0, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blobs[id]
	if !ok {
		return nil, 0, fmt.Errorf("%w: no blob %s", ErrAttachmentExpired, id)
	}
	if offset > int64(len(b)) {
		return nil, 0, errors.New("bad range")
	}
	end := min(int64(len(b)), offset+length)
	return bytes.Clone(b[offset:end]), int64(len(b)), nil
}

func (f *fakeFiles) Delete(ctx context.Context, id string, token []byte) error {
	f.deletes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.blobs[id]; !ok {
		return ErrAttachmentExpired
	}
	if !bytes.Equal(f.token[id], token) {
		return errors.New("forbidden")
	}
	delete(f.blobs, id)
	return nil
}

func (f *fakeFiles) Extend(ctx context.Context, id string, token []byte, ttl time.Duration) (time.Time, error) {
	return time.Now().Add(ttl), nil
}

func (f *fakeFiles) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.blobs)
}

// edit changes the stored blobs (tampering tests).
func (f *fakeFiles) edit(fn func(blobs map[string][]byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.blobs)
}

// fakeCodec is a trivial mediaCodec: the "ciphertext" is the plaintext
// XORed with the key, padded with zeros to a multiple of 1000 bytes (a
// stand-in for Padmé), cut into pieces; digests are SHA-256 as the
// contract says. Its wire pointer is the existing envelope pointer whose
// id names the full pointer in a map the test's clients share, which is
// enough to carry a message between them.
type fakeCodec struct {
	mu       sync.Mutex
	pointers map[string]pointer
}

func newFakeCodec() *fakeCodec { return &fakeCodec{pointers: map[string]pointer{}} }

func xorKey(b, key []byte, off int) {
	for i := range b {
		b[i] ^= key[(off+i)%len(key)]
	}
}

func (f *fakeCodec) seal(r io.Reader, size int, put func(int, []byte) error) (sealedFile, error) {
	key := make([]byte, 32)
	rand.Read(key)
	var s sealedFile
	s.Key = key
	whole := sha256.New()
	buf := make([]byte, size)
	index, total := 0, 0
	flush := func(b []byte) error {
		d := sha256.Sum256(b)
		s.PieceDigests = append(s.PieceDigests, d[:])
		whole.Write(b)
		s.PaddedSize += uint64(len(b))
		if err := put(index, b); err != nil {
			return err
		}
		index++
		return nil
	}
	n := 0
	for {
		m, err := io.ReadFull(r, buf[n:])
		xorKey(buf[n:n+m], key, total)
		n += m
		total += m
		if n == size {
			if err := flush(buf[:n]); err != nil {
				return s, err
			}
			buf, n = make([]byte, size), 0
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return s, err
		}
	}
	s.Size = uint64(total)
	pad := (1000 - total%1000) % 1000
	for pad > 0 {
		k := min(pad, size-n)
		clear(buf[n : n+k])
		n += k
		pad -= k
		if n == size {
			if err := flush(buf[:n]); err != nil {
				return s, err
			}
			buf, n = make([]byte, size), 0
		}
	}
	if n > 0 {
		if err := flush(buf[:n]); err != nil {
			return s, err
		}
	}
	s.Digest = whole.Sum(nil)
	return s, nil
}

func (f *fakeCodec) openLocal(w io.Writer, p pointer, r io.ReaderAt) error {
	b := make([]byte, p.PaddedSize)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if d := sha256.Sum256(b); !bytes.Equal(d[:], p.Digest) {
		return errors.New("digest")
	}
	if bytes.ContainsFunc(b[p.Size:], func(r rune) bool { return r != 0 }) {
		return errors.New("padding")
	}
	plain := b[:p.Size]
	xorKey(plain, p.Key, 0)
	_, err := w.Write(plain)
	return err
}

func (f *fakeCodec) sniffMIME(head []byte, name string) string {
	return http.DetectContentType(head)
}

// prepareImage "re-encodes" by dropping the marker "EXIF-GPS" and makes a
// fixed thumbnail.
func (f *fakeCodec) prepareImage(r io.Reader) (preparedImage, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return preparedImage{}, err
	}
	if bytes.Contains(b, []byte("BOMB")) {
		return preparedImage{}, errors.New("image too large")
	}
	clean := bytes.ReplaceAll(b, []byte("EXIF-GPS"), nil)
	return preparedImage{Clean: clean, MIME: "image/png", Width: 3, Height: 2, Thumb: []byte("thumbnail-jpeg")}, nil
}

func (f *fakeCodec) toWire(p pointer) *envelope.AttachmentPointer {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "fake:" + hex.EncodeToString(p.Digest)
	f.pointers[id] = p
	return &envelope.AttachmentPointer{Id: id, Key: p.Key, Digest: p.Digest, Size: p.Size, ContentType: p.MIME, FileName: p.FileName}
}

func (f *fakeCodec) fromWire(a *envelope.AttachmentPointer) (pointer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pointers[a.GetId()]
	if !ok {
		return pointer{}, errors.New("malformed pointer")
	}
	// The thumbnail travels in the message; a receiver gets its own copy.
	p.Thumbnail = bytes.Clone(p.Thumbnail)
	p.Pieces = append([]clientdb.Piece(nil), p.Pieces...)
	return p, nil
}

var (
	_ mediaCodec = (*fakeCodec)(nil)
	_ FileServer = (*fakeFiles)(nil)
)

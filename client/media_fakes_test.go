package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// An in-memory file server for the client's attachment tests: the real
// one (internal/files) runs in the devnet tests; this one lets a test
// fail, tamper with and count requests piece by piece.

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

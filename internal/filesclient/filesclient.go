// Package filesclient speaks to hush's file server (internal/files)
// through whatever carries one onion request to it: a [Doer]. It builds
// each request with protocol/files, checks each answer strictly, and
// turns error answers into errors that match [ErrNotFound],
// [ErrTooLarge], [ErrRateLimited], [ErrFull] and [ErrForbidden]; an
// *[Error] carries the server's retry_after_ms as RetryAfter.
//
// It knows nothing of paths or keys: a client builds the Doer from its
// path manager (paths.Manager.DoServer with the network file's
// services.files target and X25519 key), tests from relays of their own.
// Nothing here retries; callers decide, per piece, with RetryAfter.
package filesclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Doer sends one request body to the file server and returns its status
// and answer body: one onion request through a path.
type Doer func(ctx context.Context, body []byte) (status int, resp []byte, err error)

// Error is a file server's error answer: its code, message and the wait
// it asked for (RetryAfter, 0 when none).
type Error = wire.Error

// Errors an *[Error] matches by its code.
var (
	// ErrNotFound: unknown or expired; a client shows "attachment expired".
	ErrNotFound    = wire.ErrNotFound
	ErrTooLarge    = wire.ErrTooLarge
	ErrRateLimited = wire.ErrRateLimited
	ErrFull        = wire.ErrFull
	ErrForbidden   = wire.ErrForbidden
	ErrBadRequest  = wire.ErrBadRequest
	ErrInternal    = wire.ErrInternal
)

// ErrBadAnswer is matched by errors for answers that break the format or
// do not answer what was asked (a download of other bytes than asked
// for): the server or the path misbehaved, and another try may do better.
var ErrBadAnswer = errors.New("filesclient: bad answer from the file server")

// MaxPiece is the largest piece Upload takes and Download returns.
const MaxPiece = wire.MaxPiece

// Uploaded is what an upload returns: the blob's ID, its expiry, and the
// token that deletes or extends it (keep it secret; it is the only
// capability over the blob).
type Uploaded struct {
	ID      string
	Expires time.Time
	Token   []byte
}

// BlobInfo is what the server says of a blob.
type BlobInfo struct {
	Size    int64
	Expires time.Time
}

func call(ctx context.Context, do Doer, req *wire.Request) (*wire.Response, error) {
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("filesclient: %w", err)
	}
	status, resp, err := do(ctx, body)
	if err != nil {
		return nil, err
	}
	r, err := wire.ParseResponse(req.Op, status, resp)
	var e *wire.Error
	switch {
	case errors.As(err, &e):
		return nil, e
	case err != nil:
		return nil, fmt.Errorf("%w: %s (status %d): %w", ErrBadAnswer, req.Op, status, err)
	}
	return r, nil
}

// Upload stores piece (1 to MaxPiece bytes) for ttl (0: the server's
// default; the server cuts a longer one to its maximum).
func Upload(ctx context.Context, do Doer, piece []byte, ttl time.Duration) (Uploaded, error) {
	if len(piece) == 0 || len(piece) > MaxPiece {
		return Uploaded{}, fmt.Errorf("filesclient: piece of %d bytes: %w", len(piece), ErrTooLarge)
	}
	r, err := call(ctx, do, &wire.Request{Op: wire.OpUpload, Body: piece, TTL: ttl.Truncate(time.Millisecond)})
	if err != nil {
		return Uploaded{}, err
	}
	return Uploaded{ID: r.ID, Expires: r.Expires, Token: r.Token}, nil
}

// Download returns up to length bytes (at most MaxPiece) of the blob
// from offset, and the blob's size, so that an interrupted download
// resumes where it stopped. The answer must be exactly the bytes asked
// for, clipped at the end of the blob; anything else is ErrBadAnswer.
func Download(ctx context.Context, do Doer, id string, offset, length int64) (data []byte, size int64, err error) {
	if length <= 0 || length > MaxPiece {
		length = MaxPiece
	}
	r, err := call(ctx, do, &wire.Request{Op: wire.OpDownload, ID: id, Offset: offset, Length: length})
	if err != nil {
		return nil, 0, err
	}
	if want := min(length, r.Size-offset); want < 0 || int64(len(r.Data)) != want {
		return nil, 0, fmt.Errorf("%w: %d bytes at %d of a %d-byte blob, asked %d", ErrBadAnswer, len(r.Data), offset, r.Size, length)
	}
	return r.Data, r.Size, nil
}

// Info returns the blob's size and expiry.
func Info(ctx context.Context, do Doer, id string) (BlobInfo, error) {
	r, err := call(ctx, do, &wire.Request{Op: wire.OpInfo, ID: id})
	if err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Size: r.Size, Expires: r.Expires}, nil
}

// Extend moves the blob's expiry to ttl from now (never earlier than it
// was; the server cuts it to its maximum) and returns the new expiry.
func Extend(ctx context.Context, do Doer, id string, token []byte, ttl time.Duration) (time.Time, error) {
	if ttl < time.Millisecond {
		return time.Time{}, fmt.Errorf("filesclient: ttl %v: %w", ttl, ErrBadRequest)
	}
	r, err := call(ctx, do, &wire.Request{Op: wire.OpExtend, ID: id, Token: token, TTL: ttl.Truncate(time.Millisecond)})
	if err != nil {
		return time.Time{}, err
	}
	return r.Expires, nil
}

// Delete removes the blob. A blob already gone is ErrNotFound, which a
// caller cleaning up may take as done.
func Delete(ctx context.Context, do Doer, id string, token []byte) error {
	_, err := call(ctx, do, &wire.Request{Op: wire.OpDelete, ID: id, Token: token})
	return err
}

// HTTPStatus is the status an error answer came with, 0 for other errors.
func HTTPStatus(err error) int {
	var e *wire.Error
	if errors.As(err, &e) {
		return e.Code.Status()
	}
	return 0
}

// Endpoint returns the file server of a network file: the target its last
// relay forwards to (which nodes allow) and the X25519 key the request is
// sealed to. ok is false when the network has no file server.
func Endpoint(n *netfile.Network) (target onion.ServerTarget, key snapshot.X25519Key, ok bool) {
	svc := n.Services.Files
	if svc == nil || svc.X25519 == nil {
		return onion.ServerTarget{}, snapshot.X25519Key{}, false
	}
	return svc.OnionTarget(wire.Target), *svc.X25519, true
}

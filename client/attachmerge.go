package client

// The glue to internal/attach (the attachment format) and
// internal/filesclient (the file server through onion paths).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/hushnet/hush/internal/attach"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/filesclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
)

func newMediaCodec() mediaCodec { return attachCodec{} }

// attachCodec is mediaCodec over internal/attach.
type attachCodec struct{}

var _ mediaCodec = attachCodec{}

func (attachCodec) seal(r io.Reader, size int, put func(int, []byte) error) (sealedFile, error) {
	s, err := attach.Seal(r, size, put)
	return sealedFile{Key: s.Key, Digest: s.Digest, PieceDigests: s.PieceDigests, PaddedSize: s.PaddedSize, Size: s.Size}, err
}

func (attachCodec) openLocal(w io.Writer, p pointer, f io.ReaderAt) error {
	return attach.OpenLocal(w, toAttach(p), f)
}

func (attachCodec) sniffMIME(head []byte, name string) string { return attach.SniffMIME(head, name) }

func (attachCodec) prepareImage(r io.Reader, fitSide int) (preparedImage, error) {
	clean, mime, w, h, thumb, err := attach.PrepareImage(r, attach.ImageLimits{FitSide: fitSide})
	return preparedImage{Clean: clean, MIME: mime, Width: w, Height: h, Thumb: thumb}, err
}

func (attachCodec) toWire(p pointer) *envelope.AttachmentPointer { return toAttach(p).Proto() }

func (attachCodec) fromWire(a *envelope.AttachmentPointer) (pointer, error) {
	p, err := attach.FromProto(a)
	if err != nil {
		return pointer{}, err
	}
	return fromAttach(p), nil
}

// toAttach and fromAttach map the client's pointer to attach.Pointer and
// back.
func toAttach(p pointer) attach.Pointer {
	out := attach.Pointer{Key: p.Key, Digest: p.Digest, Size: p.Size, PaddedSize: p.PaddedSize, MIME: p.MIME,
		FileName: p.FileName, Width: int(p.Width), Height: int(p.Height), Thumbnail: p.Thumbnail,
		Flags: p.Flags, DurationMS: p.DurationMS, Waveform: p.Waveform}
	for _, pc := range p.Pieces {
		out.Pieces = append(out.Pieces, attach.Piece{ID: pc.ID, Digest: pc.Digest, Size: pc.Size})
	}
	return out
}

func fromAttach(a attach.Pointer) pointer {
	p := pointer{Key: a.Key, Digest: a.Digest, Size: a.Size, PaddedSize: a.PaddedSize, MIME: a.MIME,
		FileName: a.FileName, Width: uint32(a.Width), Height: uint32(a.Height), Thumbnail: a.Thumbnail,
		Flags: a.Flags, DurationMS: a.DurationMS, Waveform: a.Waveform}
	for _, pc := range a.Pieces {
		p.Pieces = append(p.Pieces, clientdb.Piece{ID: pc.ID, Digest: pc.Digest, Size: pc.Size})
	}
	return p
}

// newNetworkFiles is the network file's file server through onion paths.
func newNetworkFiles(m *paths.Manager, s netfile.Service) FileServer {
	host, port, err := net.SplitHostPort(s.Address)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil || s.X25519 == nil {
		return nil // netfile.Validate refuses such a file
	}
	target := onion.ServerTarget{Host: host, Port: uint16(p), Protocol: "https", Target: files.Target, Method: "POST"}
	key := *s.X25519
	return filesClient{do: func(ctx context.Context, body []byte) (int, []byte, error) {
		return m.DoServer(ctx, target, key, body)
	}}
}

// filesClient is FileServer over internal/filesclient.
type filesClient struct{ do filesclient.Doer }

func (f filesClient) Upload(ctx context.Context, piece []byte, ttl time.Duration) (UploadedPiece, error) {
	u, err := filesclient.Upload(ctx, f.do, piece, ttl)
	return UploadedPiece{ID: u.ID, Expires: u.Expires, Token: u.Token}, filesErr(err)
}

func (f filesClient) Download(ctx context.Context, id string, offset, length int64) ([]byte, int64, error) {
	data, size, err := filesclient.Download(ctx, f.do, id, offset, length)
	return data, size, filesErr(err)
}

func (f filesClient) Delete(ctx context.Context, id string, token []byte) error {
	return filesErr(filesclient.Delete(ctx, f.do, id, token))
}

func (f filesClient) Extend(ctx context.Context, id string, token []byte, ttl time.Duration) (time.Time, error) {
	t, err := filesclient.Extend(ctx, f.do, id, token, ttl)
	return t, filesErr(err)
}

// filesErr maps filesclient's errors to the client's.
func filesErr(err error) error {
	var fe *filesclient.Error
	retry := time.Duration(0)
	if errors.As(err, &fe) {
		retry = fe.RetryAfter
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, filesclient.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrAttachmentExpired, err)
	case errors.Is(err, filesclient.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrAttachmentTooLarge, err)
	case errors.Is(err, filesclient.ErrRateLimited), errors.Is(err, filesclient.ErrFull):
		return &busyError{err: err, after: retry}
	}
	// ErrForbidden among them: a relay the server does not serve (try
	// another path) or a wrong token (a pending delete retried until the
	// piece expires).
	return err
}

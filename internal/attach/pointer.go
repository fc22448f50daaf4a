package attach

import (
	"bytes"
	"fmt"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/protocol/envelope"
)

// Pointer is the Go view of an envelope AttachmentPointer as hush sends it
// (envelope.proto says how the fields fit).
type Pointer struct {
	Pieces     []Piece
	Key        []byte // the stream key, 32 bytes
	Digest     []byte // SHA-256 of the padded ciphertext
	Size       uint64 // plaintext length
	PaddedSize uint64 // the pieces' total, Padmé(sealed stream length)

	// The description, as claimed by the sender.
	MIME          string
	FileName      string // never used as a path
	Width, Height int
	Thumbnail     []byte // inline JPEG, at most envelope.MaxThumbnailSize bytes
	// Flags (envelope.FlagVoiceMessage), DurationMS and Waveform (at most
	// envelope.MaxWaveformSize peak levels) describe audio.
	Flags      uint32
	DurationMS uint32
	Waveform   []byte
}

// Piece is one blob of the padded ciphertext on the file server.
type Piece struct {
	ID     string // the file server's ID, unpadded base64url
	Digest []byte // SHA-256 of the piece
	Size   uint64
}

// FromProto converts and checks a received pointer. Besides the schema's
// shape rules (envelope's validation, which the message already passed) it
// checks what ties the sizes to the construction: the padded size must be
// Padmé of the sealed length the plaintext size gives. Session's
// single-blob form (no pieces, an id or a url) is ErrPointer: hush fetches
// only pieces, and never a URL.
func FromProto(a *envelope.AttachmentPointer) (Pointer, error) {
	if a == nil {
		return Pointer{}, fmt.Errorf("%w: nil", ErrPointer)
	}
	p := Pointer{
		Key: bytes.Clone(a.GetKey()), Digest: bytes.Clone(a.GetDigest()),
		Size: a.GetSize(), PaddedSize: a.GetPaddedSize(),
		MIME: a.GetContentType(), FileName: a.GetFileName(),
		Width: int(a.GetWidth()), Height: int(a.GetHeight()),
		Thumbnail: bytes.Clone(a.GetThumbnailJpeg()),
		Flags:     a.GetFlags(), DurationMS: a.GetDurationMs(), Waveform: bytes.Clone(a.GetWaveform()),
	}
	for _, pc := range a.GetPieces() {
		p.Pieces = append(p.Pieces, Piece{ID: pc.GetId(), Digest: bytes.Clone(pc.GetDigest()), Size: pc.GetSize()})
	}
	if err := p.check(); err != nil {
		return Pointer{}, err
	}
	return p, nil
}

// Proto returns p as an envelope AttachmentPointer (Session's id, url and
// thumbnail-pointer fields left empty).
func (p Pointer) Proto() *envelope.AttachmentPointer {
	a := &envelope.AttachmentPointer{
		Key: bytes.Clone(p.Key), Digest: bytes.Clone(p.Digest),
		Size: p.Size, PaddedSize: p.PaddedSize,
		ContentType: p.MIME, FileName: p.FileName,
		Width: uint32(p.Width), Height: uint32(p.Height),
		ThumbnailJpeg: bytes.Clone(p.Thumbnail),
		Flags:         p.Flags, DurationMs: p.DurationMS, Waveform: bytes.Clone(p.Waveform),
	}
	for _, pc := range p.Pieces {
		a.Pieces = append(a.Pieces, &envelope.AttachmentPointer_Piece{Id: pc.ID, Digest: bytes.Clone(pc.Digest), Size: pc.Size})
	}
	return a
}

// check applies the schema's bounds (kept in step with envelope's
// validateAttachment) and the construction's size rule.
func (p Pointer) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrPointer, fmt.Sprintf(format, args...))
	}
	if len(p.Key) != stream.KeySize {
		return bad("key is %d bytes", len(p.Key))
	}
	if len(p.Digest) != envelope.DigestSize {
		return bad("digest is %d bytes", len(p.Digest))
	}
	if len(p.Pieces) == 0 || len(p.Pieces) > envelope.MaxAttachmentPieces {
		return bad("%d pieces", len(p.Pieces))
	}
	var total uint64
	for i, pc := range p.Pieces {
		if !validPieceID(pc.ID) {
			return bad("piece %d has a bad id", i)
		}
		if len(pc.Digest) != envelope.DigestSize {
			return bad("piece %d digest is %d bytes", i, len(pc.Digest))
		}
		if pc.Size == 0 || pc.Size > envelope.MaxPieceSize {
			return bad("piece %d is %d bytes", i, pc.Size)
		}
		total += pc.Size
	}
	if total != p.PaddedSize {
		return bad("padded size %d, pieces hold %d", p.PaddedSize, total)
	}
	// Size is bounded by the padded size before the sealed length is
	// computed from it, so the arithmetic cannot overflow.
	if p.Size >= p.PaddedSize || Padme(stream.EncryptedSize(p.Size)) != p.PaddedSize {
		return bad("padded size %d does not fit size %d", p.PaddedSize, p.Size)
	}
	if len(p.Thumbnail) > envelope.MaxThumbnailSize {
		return bad("thumbnail is %d bytes", len(p.Thumbnail))
	}
	if len(p.FileName) > envelope.MaxFileNameLength || len(p.MIME) > envelope.MaxContentTypeLength {
		return bad("file name or MIME type too long")
	}
	if p.Width < 0 || p.Height < 0 || uint64(p.Width) > 1<<32-1 || uint64(p.Height) > 1<<32-1 {
		return bad("dimensions %dx%d", p.Width, p.Height)
	}
	if len(p.Waveform) > envelope.MaxWaveformSize || p.DurationMS > envelope.MaxVoiceDurationMs {
		return bad("waveform of %d bytes or duration %d ms", len(p.Waveform), p.DurationMS)
	}
	return nil
}

func validPieceID(id string) bool {
	if id == "" || len(id) > envelope.MaxPieceIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

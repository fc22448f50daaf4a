package envelope

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Sizes of the fixed-length fields and the limits the codecs enforce.
const (
	// MessageIDSize is the length of Content.message_id and of every field
	// that refers to a message by it.
	MessageIDSize = 16
	// AccountIDSize is the length of an Account ID in binary: the prefix
	// byte (0x05) followed by the 32-byte X25519 key.
	AccountIDSize = 33
	// DeviceIDSize is the length of a device ID.
	DeviceIDSize = 16
	// DevicePublicKeySize is the length of a device's Ed25519 public key.
	DevicePublicKeySize = 32
	// CallUUIDSize is the length of CallMessage.call_uuid, a binary UUID.
	CallUUIDSize = 16
	// MaxEmojiSize bounds Reaction.emoji in bytes: the longest emoji
	// sequences (families, tag flags) take about 35.
	MaxEmojiSize = 64
	// MaxQuoteText bounds Quote.text in bytes: an excerpt, not a copy
	// (clients cut it at QuoteSnippet runes, well below).
	MaxQuoteText = 2048
	// ShareIDSize is the length of HistoryShare.share_id.
	ShareIDSize = 16
	// DigestSize is the length of an attachment digest (SHA-256).
	DigestSize = 32
	// AttachmentKeySize is the length of AttachmentPointer.key.
	AttachmentKeySize = 32
	// MaxPieceSize bounds AttachmentPointer.Piece.size: the 2 MiB onion
	// size class, which no piece can exceed whatever the file server's own
	// limit (protocol/files MaxPiece, a little less) is.
	MaxPieceSize = 2 << 20
	// MaxAttachmentPieces bounds AttachmentPointer.pieces: 128 pieces of
	// about 1 MiB or more cover 128 MiB, above any size cap a client may
	// set, and 128 piece descriptors (about 90 bytes each) fit a Content.
	MaxAttachmentPieces = 128
	// MaxPieceIDLength bounds a piece's file-server ID (32 random bytes
	// are 43 characters of unpadded base64url).
	MaxPieceIDLength = 64
	// MaxThumbnailSize bounds AttachmentPointer.thumbnail_jpeg.
	MaxThumbnailSize = 8 << 10
	// MaxFileNameLength and MaxContentTypeLength bound the claimed file
	// name and MIME type, in bytes.
	MaxFileNameLength    = 255
	MaxContentTypeLength = 255
	// FlagVoiceMessage is the AttachmentPointer.flags bit of a voice note.
	FlagVoiceMessage = 1
	// MaxWaveformSize bounds AttachmentPointer.waveform: 64 peak levels
	// draw a voice note's bar at any width a chat row has.
	MaxWaveformSize = 64
	// MaxVoiceDurationMs bounds AttachmentPointer.duration_ms: one hour.
	MaxVoiceDurationMs = 3600 * 1000

	// MaxLinkPreviews bounds DataMessage.previews; MaxPreviewURLLength,
	// MaxPreviewTitleLength and MaxPreviewDescriptionLength bound its
	// strings in bytes, and MaxPreviewImageSize its inline JPEG.
	MaxLinkPreviews             = 3
	MaxPreviewURLLength         = 2048
	MaxPreviewTitleLength       = 300
	MaxPreviewDescriptionLength = 1000
	MaxPreviewImageSize         = 24 << 10

	// MaxEnvelopeSize is the largest encoded Envelope: the service node's
	// limit on stored data (DESIGN.md §4, 76,800 bytes, as Session's).
	MaxEnvelopeSize = 76800
	// MaxPaddedContentSize is the largest padded Content, 400 blocks. It
	// leaves MaxEnvelopeSize−MaxPaddedContentSize = 12,800 bytes for the seal
	// and the envelope fields: v1 adds 144 bytes (sealed-box overhead, sender
	// key, signature), v2 about 1,150 per recipient device.
	MaxPaddedContentSize = 400 * BlockSize
	// MaxContentSize is the largest encoded Content: one byte less than
	// MaxPaddedContentSize, because Pad always adds at least one byte.
	MaxContentSize = MaxPaddedContentSize - 1

	// CoarseTimestampGranularity is the rounding senders apply to
	// Envelope.coarse_timestamp_s; see CoarseTimestamp.
	CoarseTimestampGranularity = time.Minute
)

// Errors returned (wrapped, with detail) by the Marshal and Unmarshal
// functions. Test for them with errors.Is.
var (
	// ErrMalformed means the bytes are not a valid protobuf encoding of the
	// message (truncated, bad wire type, invalid UTF-8 in a string, ...).
	ErrMalformed = errors.New("envelope: malformed encoding")
	// ErrOversized means the encoding exceeds MaxEnvelopeSize or
	// MaxContentSize.
	ErrOversized = errors.New("envelope: message too large")
	// ErrUnknownType means Envelope.type is unset or a value this version
	// does not know how to open.
	ErrUnknownType = errors.New("envelope: unknown envelope type")
	// ErrEmptyContent means an Envelope has no content bytes, or a Content
	// has no body at all (and no unknown fields that could be one).
	ErrEmptyContent = errors.New("envelope: empty content")
	// ErrUnknownContent means a Content carries a body or an enum value this
	// version does not know: the sender runs a newer version. Callers should
	// tell the user rather than treat the message as an attack.
	ErrUnknownContent = errors.New("envelope: unsupported content")
	// ErrInvalid means a field is missing or has the wrong shape (length,
	// range, combination). The wrapped message names the field.
	ErrInvalid = errors.New("envelope: invalid field")
)

// unmarshalOptions keeps unknown fields, for forward compatibility, and caps
// nesting: no valid Content is more than six messages deep, so a deeper one
// (a chain of thumbnails, say) is refused before it costs anything.
var unmarshalOptions = proto.UnmarshalOptions{
	DiscardUnknown: false,
	RecursionLimit: 16,
}

// Deterministic output keeps golden vectors and signatures stable.
var marshalOptions = proto.MarshalOptions{Deterministic: true}

// MarshalEnvelope validates e and returns its encoding. It fails with
// ErrUnknownType, ErrEmptyContent or ErrOversized.
func MarshalEnvelope(e *Envelope) ([]byte, error) {
	if err := ValidateEnvelope(e); err != nil {
		return nil, err
	}
	if n := proto.Size(e); n > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope is %d bytes, limit %d", ErrOversized, n, MaxEnvelopeSize)
	}
	b, err := marshalOptions.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

// UnmarshalEnvelope decodes and validates an Envelope received from a swarm.
// It fails with ErrOversized, ErrMalformed, ErrUnknownType or
// ErrEmptyContent.
func UnmarshalEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope is %d bytes, limit %d", ErrOversized, len(b), MaxEnvelopeSize)
	}
	e := new(Envelope)
	if err := decode(b, e); err != nil {
		return nil, err
	}
	if err := ValidateEnvelope(e); err != nil {
		return nil, err
	}
	return e, nil
}

// MarshalContent validates c and returns its encoding, ready for Pad. It
// fails with ErrEmptyContent, ErrInvalid, ErrUnknownContent or ErrOversized.
func MarshalContent(c *Content) ([]byte, error) {
	if err := ValidateContent(c); err != nil {
		return nil, err
	}
	if n := proto.Size(c); n > MaxContentSize {
		return nil, fmt.Errorf("%w: content is %d bytes, limit %d", ErrOversized, n, MaxContentSize)
	}
	b, err := marshalOptions.Marshal(c)
	if err != nil {
		// Only invalid UTF-8 in a string field gets here.
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

// UnmarshalContent decodes and validates a Content, after the seal has been
// opened and Unpad applied. It fails with ErrOversized, ErrMalformed,
// ErrEmptyContent, ErrUnknownContent or ErrInvalid.
func UnmarshalContent(b []byte) (*Content, error) {
	if len(b) > MaxContentSize {
		return nil, fmt.Errorf("%w: content is %d bytes, limit %d", ErrOversized, len(b), MaxContentSize)
	}
	c := new(Content)
	if err := decode(b, c); err != nil {
		return nil, err
	}
	if err := ValidateContent(c); err != nil {
		return nil, err
	}
	return c, nil
}

// decode parses b into m and then looks for known field numbers among the
// unknown fields. The protobuf library files a field that arrives with the
// wrong wire type (message_id as a varint, say) as unknown instead of failing;
// kept, it would make a corrupt message look like one from a newer client.
func decode(b []byte, m proto.Message) error {
	if err := unmarshalOptions.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return checkUnknown(m.ProtoReflect())
}

func checkUnknown(m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for raw := m.GetUnknown(); len(raw) > 0; {
		num, typ, n := protowire.ConsumeField(raw)
		if n < 0 {
			// The library has already checked the framing of unknown fields.
			return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		if fields.ByNumber(num) != nil {
			return fmt.Errorf("%w: %s field %d has wire type %d", ErrMalformed, m.Descriptor().Name(), num, typ)
		}
		raw = raw[n:]
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = checkUnknown(l.Get(i).Message())
			}
		} else {
			err = checkUnknown(v.Message())
		}
		return err == nil
	})
	return err
}

// CoarseTimestamp returns the value a sender puts in
// Envelope.coarse_timestamp_s for a message created at t: Unix seconds
// rounded down to CoarseTimestampGranularity, and 0 before 1970. The caller
// supplies t because this package reads no clock.
func CoarseTimestamp(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	g := int64(CoarseTimestampGranularity / time.Second)
	return uint64(s - s%g)
}

package envelope

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seed corpora")

func TestContentRoundTrip(t *testing.T) {
	for _, tc := range contentCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalContent(tc.content)
			if err != nil {
				t.Fatalf("MarshalContent: %v", err)
			}
			padded := Pad(b)
			unpadded, err := Unpad(padded)
			if err != nil {
				t.Fatalf("Unpad: %v", err)
			}
			got, err := UnmarshalContent(unpadded)
			if err != nil {
				t.Fatalf("UnmarshalContent: %v", err)
			}
			if !proto.Equal(got, tc.content) {
				t.Errorf("round trip changed the content:\n got  %v\n want %v", got, tc.content)
			}
		})
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, typ := range []Envelope_Type{Envelope_TYPE_SESSION_MESSAGE_V1, Envelope_TYPE_SESSION_MESSAGE_V2} {
		t.Run(typ.String(), func(t *testing.T) {
			e := fixedEnvelope()
			e.Type = typ
			b, err := MarshalEnvelope(e)
			if err != nil {
				t.Fatalf("MarshalEnvelope: %v", err)
			}
			got, err := UnmarshalEnvelope(b)
			if err != nil {
				t.Fatalf("UnmarshalEnvelope: %v", err)
			}
			if !proto.Equal(got, e) {
				t.Errorf("round trip changed the envelope:\n got  %v\n want %v", got, e)
			}
		})
	}
}

// TestUnknownFieldsSurvive shows that a field added by a newer client is kept
// through decode and re-encode, as DiscardUnknown=false promises.
func TestUnknownFieldsSurvive(t *testing.T) {
	b, err := MarshalContent(contentCases[0].content)
	if err != nil {
		t.Fatal(err)
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType) // a future top-level field
	b = protowire.AppendBytes(b, []byte("from the future"))
	c, err := UnmarshalContent(b)
	if err != nil {
		t.Fatalf("UnmarshalContent: %v", err)
	}
	again, err := MarshalContent(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("re-encoding lost the unknown field:\n got  %x\n want %x", again, b)
	}
}

// field appends one length-delimited field; the bad-input cases build their
// encodings by hand so they can hold what Marshal refuses to write.
func field(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// header is a valid message_id and sent_at_ms, to which cases add one body.
func header() []byte {
	return varint(field(nil, 1, fixedMessageID), 2, fixedSentAt)
}

// nestedThumbnails encodes an AttachmentPointer whose thumbnail has a
// thumbnail, depth levels deep.
func nestedThumbnails(depth int) []byte {
	var b []byte
	for range depth {
		b = field(nil, 8, b)
	}
	return b
}

func TestUnmarshalContentErrors(t *testing.T) {
	valid, err := MarshalContent(contentCases[1].content)
	if err != nil {
		t.Fatal(err)
	}
	typing := func(action uint64) []byte { return field(header(), 12, varint(nil, 1, action)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrEmptyContent},
		{"header only", header(), ErrEmptyContent},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"truncated tag", append(header(), 0x80), ErrMalformed},
		{"wire type 7", []byte{0x0f}, ErrMalformed},
		{"message_id as varint", varint(field(nil, 12, varint(nil, 1, 1)), 1, 7), ErrMalformed},
		{"body field as varint", varint(header(), 10, 1), ErrMalformed},
		{"nested field as bytes", field(header(), 12, field(nil, 1, []byte{1})), ErrMalformed},
		{"invalid utf-8 text", field(header(), 10, field(nil, 1, []byte{0xff, 0xfe})), ErrMalformed},
		{"oversized", make([]byte, MaxContentSize+1), ErrOversized},
		{"unknown body", field(header(), 99, []byte{0x08, 0x01}), ErrUnknownContent},
		{"unknown enum value", typing(9), ErrUnknownContent},
		{"unset enum", typing(0), ErrInvalid},
		{"message_id 15 bytes", field(varint(field(nil, 1, fixedMessageID[:15]), 2, 1), 12, varint(nil, 1, 1)), ErrInvalid},
		{"no sent_at", field(field(nil, 1, fixedMessageID), 12, varint(nil, 1, 1)), ErrInvalid},
		{"empty data", field(header(), 10, nil), ErrEmptyContent},
		{"data with only unknown", field(header(), 10, varint(nil, 15, 1)), ErrUnknownContent},
		{"receipt for nothing", field(header(), 11, varint(nil, 1, 1)), ErrInvalid},
		{"receipt short id", field(header(), 11, field(varint(nil, 1, 1), 2, []byte{1, 2})), ErrInvalid},
		{"unsend without author", field(header(), 13, field(nil, 2, fixedMessageID)), ErrInvalid},
		{"expiration off with seconds", field(header(), 14, field(varint(varint(nil, 1, 1), 2, 60), 3, alice)), ErrInvalid},
		{"expiration after send without seconds", field(header(), 14, field(varint(nil, 1, 2), 3, alice)), ErrInvalid},
		{"expiration change without changed_by", field(header(), 14, varint(varint(nil, 1, 2), 2, 60)), ErrInvalid},
		{"thumbnails nested too deep", field(header(), 10, field(nil, 2, nestedThumbnails(20))), ErrMalformed},
		{"call without uuid", field(header(), 15, varint(nil, 1, 5)), ErrInvalid},
		{"call offer without sdp", field(header(), 15, field(varint(nil, 1, 2), 2, fill(16, 0))), ErrInvalid},
		{"device short key", field(header(), 16, field(field(nil, 1, fill(16, 0)), 2, fill(31, 0))), ErrInvalid},
		{"config unknown kind", field(header(), 17, field(varint(nil, 1, 99), 4, []byte{1})), ErrUnknownContent},
		{"history part out of range", field(header(), 18, varint(varint(field(nil, 1, fill(16, 0)), 2, 2), 3, 2)), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := UnmarshalContent(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("UnmarshalContent(%x) = %v, %v; want error %v", tc.in, c, err, tc.want)
			}
			if c != nil {
				t.Errorf("returned a content alongside error %v", err)
			}
		})
	}
}

func TestMarshalContentErrors(t *testing.T) {
	withData := func(d *DataMessage) *Content { return content(&Content_Data{Data: d}) }
	noThumbs := attachment()
	noThumbs.Thumbnail = pointer(1)
	noThumbs.Thumbnail.Thumbnail = pointer(2)
	tests := []struct {
		name string
		in   *Content
		want error
	}{
		{"nil", nil, ErrEmptyContent},
		{"no body", &Content{MessageId: fixedMessageID, SentAtMs: 1}, ErrEmptyContent},
		{"nil body message", content(&Content_Typing{}), ErrEmptyContent},
		{"no message id", &Content{SentAtMs: 1, Body: &Content_Data{Data: &DataMessage{Body: "x"}}}, ErrInvalid},
		{"oversized", withData(&DataMessage{Body: strings.Repeat("x", MaxContentSize)}), ErrOversized},
		{"invalid utf-8", withData(&DataMessage{Body: "\xff"}), ErrInvalid},
		{"thumbnail of thumbnail", withData(&DataMessage{Attachments: []*AttachmentPointer{noThumbs}}), ErrInvalid},
		{"quote short author", withData(&DataMessage{Body: "x", Quote: &Quote{MessageId: fixedMessageID, Author: alice[:32]}}), ErrInvalid},
		{"quote text too long", withData(&DataMessage{Body: "x", Quote: &Quote{MessageId: fixedMessageID, Author: alice, Text: strings.Repeat("q", MaxQuoteText+1)}}), ErrInvalid},
		{"nil reaction", content(&Content_Reaction{}), ErrEmptyContent},
		{"reaction short message id", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID[:15], Author: alice, Emoji: "👍"}}), ErrInvalid},
		{"reaction short author", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID, Author: alice[:32], Emoji: "👍"}}), ErrInvalid},
		{"reaction without emoji", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID, Author: alice}}), ErrInvalid},
		{"reaction emoji too long", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID, Author: alice, Emoji: strings.Repeat("👍", 17)}}), ErrInvalid},
		{"reaction emoji with a space", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID, Author: alice, Emoji: "👍 👍"}}), ErrInvalid},
		{"reaction emoji with a control", content(&Content_Reaction{Reaction: &Reaction{MessageId: fixedMessageID, Author: alice, Emoji: "👍\u0085"}}), ErrInvalid},
		{"timer with changed_by", withData(&DataMessage{Expiration: &ExpirationSettings{Mode: ExpirationSettings_MODE_AFTER_SEND, Seconds: 1, ChangedBy: alice}}), ErrInvalid},
		{"unknown call type", content(&Content_Call{Call: &CallMessage{Type: 42, CallUuid: fill(16, 0)}}), ErrUnknownContent},
		{"ice without candidates", content(&Content_Call{Call: &CallMessage{Type: CallMessage_TYPE_ICE_CANDIDATES, CallUuid: fill(16, 0)}}), ErrInvalid},
		{"config without blob", content(&Content_ConfigSync{ConfigSync: &ConfigSync{Kind: ConfigSync_KIND_USER_PROFILE}}), ErrInvalid},
		{"history entry without content", content(&Content_HistoryShare{HistoryShare: &HistoryShare{
			ShareId: fill(16, 0), Parts: 1, Messages: []*HistoryShare_SharedMessage{{Conversation: bob, Author: bob}},
		}}), ErrInvalid},
		{"history entry with content and signed part", content(&Content_HistoryShare{HistoryShare: &HistoryShare{
			ShareId: fill(16, 0), Parts: 1, Messages: []*HistoryShare_SharedMessage{{Conversation: bob, Author: bob, Content: []byte{1}, Signed: []byte{2}}},
		}}), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalContent(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("MarshalContent = %x, %v; want error %v", b, err, tc.want)
			}
		})
	}
}

func TestEnvelopeErrors(t *testing.T) {
	valid, err := MarshalEnvelope(fixedEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrUnknownType},
		{"unset type", field(nil, 3, []byte{1}), ErrUnknownType},
		{"unknown type", field(varint(nil, 1, 7), 3, []byte{1}), ErrUnknownType},
		{"no content", varint(varint(nil, 1, 1), 2, 1), ErrEmptyContent},
		{"empty content", field(varint(nil, 1, 1), 3, nil), ErrEmptyContent},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"content as varint", varint(varint(nil, 1, 1), 3, 5), ErrMalformed},
		{"type as bytes", field(field(nil, 1, []byte{1}), 3, []byte{1}), ErrMalformed},
		{"oversized", field(varint(nil, 1, 1), 3, make([]byte, MaxEnvelopeSize)), ErrOversized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := UnmarshalEnvelope(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("UnmarshalEnvelope(%.40x) = %v, %v; want error %v", tc.in, e, err, tc.want)
			}
		})
	}

	marshalTests := []struct {
		name string
		in   *Envelope
		want error
	}{
		{"nil", nil, ErrEmptyContent},
		{"unset type", &Envelope{Content: []byte{1}}, ErrUnknownType},
		{"unknown type", &Envelope{Type: 4, Content: []byte{1}}, ErrUnknownType},
		{"no content", &Envelope{Type: Envelope_TYPE_SESSION_MESSAGE_V1}, ErrEmptyContent},
		{"oversized", &Envelope{Type: Envelope_TYPE_SESSION_MESSAGE_V1, Content: make([]byte, MaxEnvelopeSize)}, ErrOversized},
	}
	for _, tc := range marshalTests {
		t.Run("marshal "+tc.name, func(t *testing.T) {
			b, err := MarshalEnvelope(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("MarshalEnvelope = %.40x, %v; want error %v", b, err, tc.want)
			}
		})
	}
}

// TestLimitsFit checks that the largest Content, padded and sealed with v1's
// 144 bytes of overhead, fits in the largest Envelope.
func TestLimitsFit(t *testing.T) {
	max := content(&Content_Data{Data: &DataMessage{}})
	max.GetData().Body = strings.Repeat("x", 60_000)
	// The body's length prefix stays three bytes wide near the limit, so
	// growing the body by the shortfall lands exactly on it.
	max.GetData().Body += strings.Repeat("x", MaxContentSize-proto.Size(max))
	b, err := MarshalContent(max)
	if err != nil {
		t.Fatalf("MarshalContent at the limit: %v", err)
	}
	if len(b) != MaxContentSize {
		t.Fatalf("test content is %d bytes, want exactly %d", len(b), MaxContentSize)
	}
	padded := Pad(b)
	if len(padded) != MaxPaddedContentSize {
		t.Errorf("padded maximum is %d bytes, want %d", len(padded), MaxPaddedContentSize)
	}
	const v1Overhead = 48 + 32 + 64 // sealed box, sender Ed25519 key, signature
	e := &Envelope{Type: Envelope_TYPE_SESSION_MESSAGE_V1, CoarseTimestampS: 1 << 40, Content: make([]byte, len(padded)+v1Overhead)}
	if _, err := MarshalEnvelope(e); err != nil {
		t.Errorf("largest v1 envelope: %v", err)
	}
	max.GetData().Body += "x"
	if _, err := MarshalContent(max); !errors.Is(err, ErrOversized) {
		t.Errorf("one byte over the limit: err = %v, want ErrOversized", err)
	}
}

func TestCoarseTimestamp(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want uint64
	}{
		{"on the minute", time.Unix(1_764_028_800, 0), 1_764_028_800},
		{"rounds down", time.Unix(1_764_028_859, 999_999_999), 1_764_028_800},
		{"next minute", time.Unix(1_764_028_860, 0), 1_764_028_860},
		{"epoch", time.Unix(0, 0), 0},
		{"before epoch", time.Unix(-90, 0), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CoarseTimestamp(tc.in); got != tc.want {
				t.Errorf("CoarseTimestamp(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

// vector is one entry of testdata/vectors.json.
type vector struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "content", "padded_content" or "envelope"
	Hex  string `json:"hex"`
}

func goldenVectors(t *testing.T) []vector {
	t.Helper()
	var vs []vector
	for _, tc := range contentCases {
		b, err := MarshalContent(tc.content)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		vs = append(vs, vector{tc.name, "content", hex.EncodeToString(b)})
	}
	b, err := MarshalContent(contentCases[0].content)
	if err != nil {
		t.Fatal(err)
	}
	vs = append(vs, vector{contentCases[0].name, "padded_content", hex.EncodeToString(Pad(b))})
	b, err = MarshalEnvelope(fixedEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	return append(vs, vector{"envelope_v1", "envelope", hex.EncodeToString(b)})
}

// TestGoldenVectors pins the encodings: a schema change that alters the bytes
// of an existing message fails here. Regenerate deliberately with -update.
func TestGoldenVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	got := goldenVectors(t)
	if *update {
		out, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want []vector
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d vectors generated, %d in %s", len(got), len(want), path)
	}
	for i := range want {
		t.Run(want[i].Kind+"/"+want[i].Name, func(t *testing.T) {
			if got[i] != want[i] {
				t.Errorf("encoding changed:\n got  %+v\n want %+v", got[i], want[i])
			}
			// The stored bytes must also still decode: this catches a change
			// that breaks reading old messages even if writing still matches.
			b, err := hex.DecodeString(want[i].Hex)
			if err != nil {
				t.Fatal(err)
			}
			switch want[i].Kind {
			case "content":
				_, err = UnmarshalContent(b)
			case "padded_content":
				var c []byte
				if c, err = Unpad(b); err == nil {
					_, err = UnmarshalContent(c)
				}
			case "envelope":
				_, err = UnmarshalEnvelope(b)
			}
			if err != nil {
				t.Errorf("stored vector no longer decodes: %v", err)
			}
		})
	}
}

// TestValidateAttachment holds the pointer rules (envelope.proto
// AttachmentPointer), each case one change from a valid pointer.
func TestValidateAttachment(t *testing.T) {
	piece := func(id string, size uint64) *AttachmentPointer_Piece {
		return &AttachmentPointer_Piece{Id: id, Digest: fill(DigestSize, 1), Size: size}
	}
	many := func(n int) []*AttachmentPointer_Piece {
		ps := make([]*AttachmentPointer_Piece, n)
		for i := range ps {
			ps[i] = piece("p", 1)
		}
		return ps
	}
	tests := []struct {
		name   string
		change func(a *AttachmentPointer)
		ok     bool
	}{
		{"valid", func(*AttachmentPointer) {}, true},
		{"thumbnail pointer allowed at top level", func(a *AttachmentPointer) { a.Thumbnail = pointer(9) }, true},
		{"session url set but ignored", func(a *AttachmentPointer) { a.Url = "http://x/y" }, true},
		{"thumbnail at the limit", func(a *AttachmentPointer) { a.ThumbnailJpeg = make([]byte, MaxThumbnailSize) }, true},
		{"64-character id", func(a *AttachmentPointer) { a.Pieces[2].Id = strings.Repeat("A", 64) }, true},
		{"most pieces", func(a *AttachmentPointer) {
			a.Pieces = many(MaxAttachmentPieces)
			a.PaddedSize = MaxAttachmentPieces
			a.Size = 1
		}, true},
		{"largest piece", func(a *AttachmentPointer) {
			a.Pieces = []*AttachmentPointer_Piece{piece("p", MaxPieceSize)}
			a.PaddedSize = MaxPieceSize
			a.Size = 1
		}, true},
		{"no key", func(a *AttachmentPointer) { a.Key = nil }, false},
		{"short key", func(a *AttachmentPointer) { a.Key = a.Key[:31] }, false},
		{"long key", func(a *AttachmentPointer) { a.Key = append(a.Key, 0) }, false},
		{"short digest", func(a *AttachmentPointer) { a.Digest = a.Digest[:31] }, false},
		{"no pieces", func(a *AttachmentPointer) { a.Pieces = nil; a.Id = "legacy" }, false},
		{"too many pieces", func(a *AttachmentPointer) {
			a.Pieces = many(MaxAttachmentPieces + 1)
			a.PaddedSize = MaxAttachmentPieces + 1
			a.Size = 1
		}, false},
		{"piece without id", func(a *AttachmentPointer) { a.Pieces[0].Id = "" }, false},
		{"piece id too long", func(a *AttachmentPointer) { a.Pieces[0].Id = strings.Repeat("A", 65) }, false},
		{"piece id with padding", func(a *AttachmentPointer) { a.Pieces[0].Id = "abc=" }, false},
		{"piece id with a slash", func(a *AttachmentPointer) { a.Pieces[0].Id = "../etc" }, false},
		{"piece id with std base64", func(a *AttachmentPointer) { a.Pieces[0].Id = "ab+c" }, false},
		{"piece short digest", func(a *AttachmentPointer) { a.Pieces[1].Digest = fill(31, 0) }, false},
		{"empty piece", func(a *AttachmentPointer) { a.Pieces[2].Size = 0; a.PaddedSize -= 327_680 }, false},
		{"piece over the onion class", func(a *AttachmentPointer) {
			a.Pieces = []*AttachmentPointer_Piece{piece("p", MaxPieceSize+1)}
			a.PaddedSize = MaxPieceSize + 1
			a.Size = 1
		}, false},
		{"padded size not the pieces' sum", func(a *AttachmentPointer) { a.PaddedSize++ }, false},
		{"size not below padded size", func(a *AttachmentPointer) { a.Size = a.PaddedSize }, false},
		{"thumbnail too large", func(a *AttachmentPointer) { a.ThumbnailJpeg = make([]byte, MaxThumbnailSize+1) }, false},
		{"file name too long", func(a *AttachmentPointer) { a.FileName = strings.Repeat("x", MaxFileNameLength+1) }, false},
		{"content type too long", func(a *AttachmentPointer) { a.ContentType = strings.Repeat("x", MaxContentTypeLength+1) }, false},
		{"invalid thumbnail pointer", func(a *AttachmentPointer) { a.Thumbnail = pointer(9); a.Thumbnail.Key = nil }, false},
		{"voice note at the limits", func(a *AttachmentPointer) {
			a.Flags, a.DurationMs, a.Waveform = FlagVoiceMessage, MaxVoiceDurationMs, make([]byte, MaxWaveformSize)
		}, true},
		{"unknown flag bits", func(a *AttachmentPointer) { a.Flags = 0xfffffffe }, true},
		{"waveform too long", func(a *AttachmentPointer) { a.Waveform = make([]byte, MaxWaveformSize+1) }, false},
		{"voice note over an hour", func(a *AttachmentPointer) { a.DurationMs = MaxVoiceDurationMs + 1 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := attachment()
			tc.change(a)
			c := content(&Content_Data{Data: &DataMessage{Attachments: []*AttachmentPointer{a}}})
			err := ValidateContent(c)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			// The same rules hold for an avatar and a quote's thumbnail.
			if tc.name == "thumbnail pointer allowed at top level" {
				return
			}
			prof := content(&Content_Data{Data: &DataMessage{Profile: &Profile{Avatar: a}}})
			if err := ValidateContent(prof); (err == nil) != tc.ok {
				t.Fatalf("as an avatar: %v", err)
			}
		})
	}
}

// TestValidatePreviews: each case one change from a valid link preview.
func TestValidatePreviews(t *testing.T) {
	const body = "see https://example.com/a"
	tests := []struct {
		name   string
		change func(d *DataMessage)
		ok     bool
	}{
		{"valid", func(*DataMessage) {}, true},
		{"at the limits", func(d *DataMessage) {
			p := d.Previews[0]
			p.Title, p.Description = strings.Repeat("t", MaxPreviewTitleLength), strings.Repeat("d", MaxPreviewDescriptionLength)
			p.ImageJpeg = make([]byte, MaxPreviewImageSize)
		}, true},
		{"no url", func(d *DataMessage) { d.Previews[0].Url = "" }, false},
		{"url not in the body", func(d *DataMessage) { d.Previews[0].Url = "https://other.example/" }, false},
		{"not http", func(d *DataMessage) { d.Body = "javascript:alert(1)"; d.Previews[0].Url = d.Body }, false},
		{"title too long", func(d *DataMessage) { d.Previews[0].Title = strings.Repeat("t", MaxPreviewTitleLength+1) }, false},
		{"description too long", func(d *DataMessage) { d.Previews[0].Description = strings.Repeat("d", MaxPreviewDescriptionLength+1) }, false},
		{"image too large", func(d *DataMessage) { d.Previews[0].ImageJpeg = make([]byte, MaxPreviewImageSize+1) }, false},
		{"too many", func(d *DataMessage) {
			for range MaxLinkPreviews {
				d.Previews = append(d.Previews, &LinkPreview{Url: "https://example.com/a"})
			}
		}, false},
		{"bad image pointer", func(d *DataMessage) { d.Previews[0].Image = pointer(3); d.Previews[0].Image.Key = nil }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &DataMessage{Body: body, Previews: []*LinkPreview{{Url: "https://example.com/a", Title: "A"}}}
			tc.change(d)
			err := ValidateContent(content(&Content_Data{Data: d}))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

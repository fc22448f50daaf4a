package attach

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/protocol/envelope"
)

// FuzzFromProto feeds FromProto any decodable AttachmentPointer: it must
// accept or refuse with ErrPointer, never panic, and what it accepts must
// survive the way back unchanged and pass the envelope's validation.
func FuzzFromProto(f *testing.F) {
	s := sealBytes(f, sample(3000), 1000)
	s.p.MIME, s.p.FileName, s.p.Width, s.p.Height, s.p.Thumbnail = "image/jpeg", "a.jpg", 3, 4, []byte{0xff, 0xd8}
	good, _ := proto.Marshal(s.p.Proto())
	f.Add(good)
	legacy, _ := proto.Marshal(&envelope.AttachmentPointer{Id: "x", Url: "http://x", Key: make([]byte, 32), Digest: make([]byte, 32)})
	f.Add(legacy)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a envelope.AttachmentPointer
		if proto.Unmarshal(b, &a) != nil {
			return
		}
		p, err := FromProto(&a)
		if err != nil {
			if !errors.Is(err, ErrPointer) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		p2, err := FromProto(p.Proto())
		if err != nil {
			t.Fatalf("accepted pointer does not convert back: %v", err)
		}
		if !proto.Equal(p.Proto(), p2.Proto()) {
			t.Fatal("round trip changed the pointer")
		}
		c := &envelope.Content{MessageId: make([]byte, 16), SentAtMs: 1, Body: &envelope.Content_Data{Data: &envelope.DataMessage{Attachments: []*envelope.AttachmentPointer{p.Proto()}}}}
		if err := envelope.ValidateContent(c); err != nil {
			t.Fatalf("FromProto accepted what the envelope refuses: %v", err)
		}
	})
}

// FuzzOpen opens garbage pieces under a pointer whose digests match them
// (a lying sender: the digests pass and the stream, padding and size
// checks are what stand). Open must refuse with one of its errors, never
// panic, and whatever it writes must be the output of authenticated chunks.
func FuzzOpen(f *testing.F) {
	good := sealBytes(f, sample(2*stream.ChunkSize+10), 50_000)
	f.Add(good.padded(), uint64(2*stream.ChunkSize+10), uint16(50_000))
	f.Add([]byte{0}, uint64(0), uint16(1))
	key := good.p.Key
	f.Fuzz(func(t *testing.T, padded []byte, size uint64, pieceSize uint16) {
		if pieceSize == 0 {
			return
		}
		// Fit the bytes to the padded length the size gives, so the
		// pointer is consistent and the stream and padding checks run.
		size %= 1 << 18
		want := int(Padme(stream.EncryptedSize(size)))
		padded = append(padded[:min(len(padded), want)], make([]byte, want-min(len(padded), want))...)
		s := sealed{p: Pointer{Key: key, Size: size}}
		whole := sha256.Sum256(padded)
		s.p.Digest = whole[:]
		for rest := padded; len(rest) > 0; {
			k := min(int(pieceSize), len(rest))
			d := sha256.Sum256(rest[:k])
			s.p.Pieces = append(s.p.Pieces, Piece{ID: "p", Digest: d[:], Size: uint64(k)})
			s.pieces = append(s.pieces, rest[:k])
			rest = rest[k:]
		}
		s.p.PaddedSize = uint64(len(padded))
		var out bytes.Buffer
		err := Open(&out, s.p, s.get)
		if err == nil {
			if uint64(out.Len()) != s.p.Size {
				t.Fatalf("accepted %d bytes, announced %d", out.Len(), s.p.Size)
			}
			return
		}
		for _, want := range []error{ErrPointer, ErrCorrupt, ErrPadding, ErrSize, ErrDigest, ErrPieceDigest} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("unexpected error kind: %v", err)
	})
}

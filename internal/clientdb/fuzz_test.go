package clientdb

import (
	"errors"
	"testing"
)

// FuzzDecodeContent: the sealed message layout is authenticated before it is
// parsed, so only this package's own bytes reach decodeContent; still, no
// input may make it panic or read past its end, and every encoding must
// decode to what was encoded.
func FuzzDecodeContent(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add(make([]byte, 53), "hello")
	f.Add(append(make([]byte, 49), 0xff, 0xff, 0xff, 0xff), "x")
	f.Fuzz(func(t *testing.T, raw []byte, body string) {
		var m Message
		if err := decodeContent(raw, &m); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
		in := Message{Sender: account(1), MessageID: mid(7), Body: body}
		enc := encodeContent(&in)
		if len(enc)%32 != 0 {
			t.Fatalf("encoding of %d bytes is not padded to 32", len(enc))
		}
		var out Message
		if err := decodeContent(enc, &out); err != nil || out.Body != body || out.Sender != in.Sender || out.MessageID != in.MessageID {
			t.Fatalf("round trip: %+v, %v", out, err)
		}
	})
}

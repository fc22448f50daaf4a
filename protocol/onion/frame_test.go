package onion

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func frameOf(blob []byte, tail string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(blob))), append(bytes.Clone(blob), tail...)...)
}

func TestDecodeFrame(t *testing.T) {
	blob := []byte{0, 1, 2, 3, 0xff}
	tests := []struct {
		name     string
		frame    []byte
		wantErr  error
		wantBlob []byte
		wantObj  string
	}{
		{"minimal", frameOf(nil, "{}"), nil, []byte{}, "{}"},
		{"blob and object", frameOf(blob, `{"a":1}`), nil, blob, `{"a":1}`},
		{"trailing spaces are padding", frameOf(blob, `{"a":[1,{"b":2}]}   `), nil, blob, `{"a":[1,{"b":2}]}`},
		{"nested duplicate names in different objects", frameOf(nil, `{"a":{"x":1},"b":{"x":1}}`), nil, []byte{}, `{"a":{"x":1},"b":{"x":1}}`},
		{"empty", nil, ErrMalformedFrame, nil, ""},
		{"truncated prefix", []byte{1, 0, 0}, ErrMalformedFrame, nil, ""},
		{"length past the end", append(binary.LittleEndian.AppendUint32(nil, 10), "{}"...), ErrMalformedFrame, nil, ""},
		{"length of 2^32-1", append(binary.LittleEndian.AppendUint32(nil, 0xffffffff), "{}"...), ErrMalformedFrame, nil, ""},
		{"no json", frameOf(blob, ""), ErrMalformedFrame, nil, ""},
		{"json array", frameOf(blob, "[]"), ErrMalformedFrame, nil, ""},
		{"json string", frameOf(blob, `"{}"`), ErrMalformedFrame, nil, ""},
		{"leading space", frameOf(blob, " {}"), ErrMalformedFrame, nil, ""},
		{"trailing newline", frameOf(blob, "{}\n"), ErrMalformedFrame, nil, ""},
		{"trailing garbage", frameOf(blob, "{}x"), ErrMalformedFrame, nil, ""},
		{"trailing nul", frameOf(blob, "{}\x00"), ErrMalformedFrame, nil, ""},
		{"two objects", frameOf(blob, "{}{}"), ErrMalformedFrame, nil, ""},
		{"unterminated", frameOf(blob, `{"a":}`), ErrMalformedFrame, nil, ""},
		{"duplicate key", frameOf(blob, `{"a":1,"a":2}`), ErrMalformedFrame, nil, ""},
		{"nested duplicate key", frameOf(blob, `{"h":{"x":"1","x":"2"}}`), ErrMalformedFrame, nil, ""},
		{"duplicate in array member", frameOf(blob, `{"h":[{"x":1,"x":1}]}`), ErrMalformedFrame, nil, ""},
		{"invalid utf-8", frameOf(blob, "{\"a\":\"\xff\"}"), ErrMalformedFrame, nil, ""},
		{"oversize", make([]byte, MaxFrameSize+1), ErrOversize, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, obj, err := DecodeFrame(tt.frame)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(b, tt.wantBlob) || string(obj) != tt.wantObj {
				t.Errorf("got %x %q, want %x %q", b, obj, tt.wantBlob, tt.wantObj)
			}
			// A decoded frame re-encodes to itself minus the padding.
			re, err := EncodeFrame(b, obj)
			if err != nil || !bytes.Equal(re, bytes.TrimRight(tt.frame, " ")) {
				t.Errorf("re-encode: %x, %v", re, err)
			}
		})
	}
}

func TestEncodeFrameRejects(t *testing.T) {
	tests := []struct {
		name    string
		blob    []byte
		obj     string
		wantErr error
	}{
		{"not an object", nil, "[]", ErrMalformedFrame},
		{"duplicate key", nil, `{"a":1,"a":1}`, ErrMalformedFrame},
		{"too large", make([]byte, MaxFrameSize), "{}", ErrOversize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EncodeFrame(tt.blob, []byte(tt.obj)); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

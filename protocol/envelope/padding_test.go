package envelope

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// padded builds an expected padding result: data, 0x80, zeros to size.
func padded(data []byte, size int) []byte {
	out := make([]byte, size)
	copy(out, data)
	out[len(data)] = 0x80
	return out
}

func TestPadVectors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"empty", nil, padded(nil, 160)},
		{"one byte", []byte{0x42}, padded([]byte{0x42}, 160)},
		{"ends in marker byte", []byte{0x80}, padded([]byte{0x80}, 160)},
		{"ends in zero", []byte{0x01, 0x00}, padded([]byte{0x01, 0x00}, 160)},
		{"largest single block", fill(159, 1), padded(fill(159, 1), 160)},
		{"exactly one block", fill(160, 1), padded(fill(160, 1), 320)},
		{"block and one", fill(161, 1), padded(fill(161, 1), 320)},
		{"two blocks less one", fill(319, 1), padded(fill(319, 1), 320)},
		{"two blocks", fill(320, 1), padded(fill(320, 1), 480)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Pad(tc.in)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Pad(%d bytes) = %d bytes %x,\nwant %d bytes %x", len(tc.in), len(got), got, len(tc.want), tc.want)
			}
			back, err := Unpad(got)
			if err != nil {
				t.Fatalf("Unpad: %v", err)
			}
			if !bytes.Equal(back, tc.in) {
				t.Errorf("Unpad(Pad(x)) = %x, want %x", back, tc.in)
			}
		})
	}
}

func TestPadDoesNotAlias(t *testing.T) {
	in := make([]byte, 10, 200) // spare capacity Pad must not write into
	out := Pad(in)
	out[0] = 0xff
	if in[0] != 0 || in[:11][10] != 0 {
		t.Error("Pad wrote into or aliased its input")
	}
}

func TestUnpadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not a block multiple", padded(nil, 159)},
		{"one block and a byte", append(padded(nil, 160), 0)},
		{"session length 159", padded(fill(10, 1), 159)},
		{"all zero", make([]byte, 160)},
		{"no marker", fill(160, 1)},
		{"junk after marker", func() []byte { b := padded([]byte{1}, 160); b[159] = 1; return b }()},
		{"wrong marker", func() []byte { b := padded([]byte{1}, 160); b[1] = 0x81; return b }()},
		{"marker before last block", append(padded([]byte{1}, 160), make([]byte, 160)...)},
		{"last byte nonzero", fill(160, 0x80)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unpad(tc.in)
			if !errors.Is(err, ErrBadPadding) {
				t.Fatalf("Unpad(%x) = %x, %v; want ErrBadPadding", tc.in, got, err)
			}
		})
	}
}

func TestPadProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.SliceOfN(rapid.Byte(), 0, 4*BlockSize).Draw(t, "x")
		p := Pad(x)
		if len(p) == 0 || len(p)%BlockSize != 0 {
			t.Fatalf("len(Pad(x)) = %d, not a positive multiple of %d", len(p), BlockSize)
		}
		if pad := len(p) - len(x); pad < 1 || pad > BlockSize {
			t.Fatalf("added %d bytes of padding, want 1..%d", pad, BlockSize)
		}
		back, err := Unpad(p)
		if err != nil {
			t.Fatalf("Unpad(Pad(x)): %v", err)
		}
		if !bytes.Equal(back, x) {
			t.Fatalf("Unpad(Pad(x)) = %x, want %x", back, x)
		}
	})
}

// TestUnpadCanonical: whatever Unpad accepts, Pad reproduces exactly, so no
// two padded forms decode to the same plaintext.
func TestUnpadCanonical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 3).Draw(t, "blocks") * BlockSize
		// Bias towards near-valid inputs: mostly zeros with a marker.
		b := make([]byte, n)
		for i := range b {
			b[i] = rapid.SampledFrom([]byte{0, 0, 0, 0x80, 0x01, 0xff}).Draw(t, "byte")
		}
		x, err := Unpad(b)
		if err != nil {
			return
		}
		if !bytes.Equal(Pad(x), b) {
			t.Fatalf("Unpad accepted %x, but Pad of the result is %x", b, Pad(x))
		}
	})
}

// TestContentThroughPadding runs random chat messages through the whole
// sender and receiver path of this package.
func TestContentThroughPadding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &Content{
			MessageId: rapid.SliceOfN(rapid.Byte(), MessageIDSize, MessageIDSize).Draw(t, "id"),
			SentAtMs:  rapid.Uint64Min(1).Draw(t, "sent"),
			Body: &Content_Data{Data: &DataMessage{
				Body: rapid.StringN(1, 2000, -1).Draw(t, "text"),
			}},
		}
		b, err := MarshalContent(c)
		if err != nil {
			t.Fatalf("MarshalContent: %v", err)
		}
		p := Pad(b)
		u, err := Unpad(p)
		if err != nil {
			t.Fatalf("Unpad: %v", err)
		}
		got, err := UnmarshalContent(u)
		if err != nil {
			t.Fatalf("UnmarshalContent: %v", err)
		}
		if got.GetData().GetBody() != c.GetData().GetBody() || got.GetSentAtMs() != c.GetSentAtMs() ||
			!bytes.Equal(got.GetMessageId(), c.GetMessageId()) {
			t.Fatalf("round trip changed the content: got %v, want %v", got, c)
		}
	})
}

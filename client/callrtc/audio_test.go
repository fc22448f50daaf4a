package callrtc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// TestWAV: what WriteWAV writes ReadWAV reads back; other formats are
// refused with ErrWAV and a way to convert them.
func TestWAV(t *testing.T) {
	tone := Tone(440, 0.5, 0.5)
	var b bytes.Buffer
	if err := WriteWAV(&b, tone); err != nil {
		t.Fatal(err)
	}
	wav := b.Bytes()
	got, err := ReadWAV(bytes.NewReader(wav))
	if err != nil || !slicesEqual(got, tone) {
		t.Fatalf("round trip: %d samples, %v", len(got), err)
	}
	with := func(off int, v uint32, size int) []byte {
		w := bytes.Clone(wav)
		if size == 2 {
			binary.LittleEndian.PutUint16(w[off:], uint16(v))
		} else {
			binary.LittleEndian.PutUint32(w[off:], v)
		}
		return w
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not RIFF", append([]byte("RIFX"), wav[4:]...)},
		{"stereo", with(22, 2, 2)},
		{"44.1 kHz", with(24, 44100, 4)},
		{"8 bits", with(34, 8, 2)},
		{"float", with(20, 3, 2)},
		{"no data", wav[:36]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadWAV(bytes.NewReader(tc.in)); !errors.Is(err, ErrWAV) {
				t.Fatalf("err %v", err)
			}
		})
	}
	if _, err := ReadWAV(bytes.NewReader(with(24, 44100, 4))); err == nil || !bytes.Contains([]byte(err.Error()), []byte("sox")) {
		t.Fatalf("no way to convert in %v", err)
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGoertzel: the dominant frequency of a tone is the tone's, also
// through G.711's loss and under a weaker second tone.
func TestGoertzel(t *testing.T) {
	for _, hz := range []float64{300, 440, 1000} {
		s := Tone(hz, 1, 0.5)
		weak := Tone(700, 1, 0.1)
		for i := range s {
			s[i] += weak[i]
		}
		if got := DominantFrequency(s, 200, 2000, 10); got != hz {
			t.Errorf("tone %v: dominant %v", hz, got)
		}
	}
}

// FuzzReadWAV: no file makes ReadWAV panic or allocate without bound.
func FuzzReadWAV(f *testing.F) {
	var b bytes.Buffer
	WriteWAV(&b, Tone(440, 0.01, 0.5))
	f.Add(b.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadWAV(bytes.NewReader(in))
		if err == nil && len(s) > len(in)/2 {
			t.Fatalf("%d samples from %d bytes", len(s), len(in))
		}
	})
}

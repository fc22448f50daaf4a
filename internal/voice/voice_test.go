package voice

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// WAV builds a 16-bit PCM mono WAV of ms milliseconds at rate Hz: silence
// in the first half, a full-scale square wave in the second.
func WAV(ms, rate int) []byte {
	n := rate * ms / 1000
	var data bytes.Buffer
	for i := range n {
		v := int16(0)
		if i >= n/2 {
			v = math.MaxInt16
			if i%2 == 1 {
				v = math.MinInt16 + 1
			}
		}
		binary.Write(&data, binary.LittleEndian, v)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// oggPage builds one Ogg page of stream 7 with the given granule and one
// packet.
func oggPage(granule int64, packet []byte) []byte {
	p := []byte("OggS\x00\x00")
	p = binary.LittleEndian.AppendUint64(p, uint64(granule))
	p = binary.LittleEndian.AppendUint32(p, 7) // serial
	p = binary.LittleEndian.AppendUint32(p, 0) // sequence
	p = binary.LittleEndian.AppendUint32(p, 0) // CRC (not checked)
	p = append(p, 1, byte(len(packet)))
	return append(p, packet...)
}

func ogg(granule int64, preSkip uint16) []byte {
	head := []byte("OpusHead\x01\x01")
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = append(head, 0x80, 0xbb, 0, 0, 0, 0, 0)
	b := oggPage(0, head)
	b = append(b, oggPage(0, []byte("OpusTags"))...)
	b = append(b, oggPage(granule/2, bytes.Repeat([]byte{1}, 100))...)
	return append(b, oggPage(granule, bytes.Repeat([]byte{2}, 100))...)
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name   string
		file   []byte
		ms     uint32
		mime   string
		flat   bool
		errIs  error
		checks func(t *testing.T, w []byte)
	}{
		{name: "wav 1.5 s", file: WAV(1500, 8000), ms: 1500, mime: "audio/wav", checks: func(t *testing.T, w []byte) {
			if len(w) != Bars || w[0] != 0 || w[Bars-1] != 255 {
				t.Errorf("waveform %v: want silence first, full scale last", w)
			}
		}},
		{name: "wav of 10 samples", file: WAV(1, 10000), ms: 1, mime: "audio/wav", checks: func(t *testing.T, w []byte) {
			if len(w) != 10 {
				t.Errorf("waveform of %d bars for 10 samples", len(w))
			}
		}},
		{name: "truncated wav", file: WAV(1000, 8000)[:3000], ms: 1000, mime: "audio/wav"},
		{name: "ogg opus 2.5 s", file: ogg(312+48000*5/2, 312), ms: 2500, mime: "audio/ogg", flat: true},
		{name: "ogg without opus", file: oggPage(10, []byte("vorbis.................")), errIs: ErrFormat},
		{name: "ogg of an hour and more", file: ogg(48000*3601, 0), errIs: ErrFormat},
		{name: "mp3", file: []byte("ID3\x03........"), errIs: ErrFormat},
		{name: "wav without data", file: WAV(10, 8000)[:36], errIs: ErrFormat},
		{name: "empty", file: nil, errIs: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Probe(bytes.NewReader(tt.file), int64(len(tt.file)))
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.DurationMS != tt.ms || info.MIME != tt.mime || info.Flat != tt.flat {
				t.Errorf("got %d ms %s flat=%v, want %d ms %s flat=%v", info.DurationMS, info.MIME, info.Flat, tt.ms, tt.mime, tt.flat)
			}
			if len(info.Waveform) == 0 || len(info.Waveform) > Bars {
				t.Errorf("waveform of %d bars", len(info.Waveform))
			}
			if tt.checks != nil {
				tt.checks(t, info.Waveform)
			}
		})
	}
}

// FuzzProbe: any bytes give an error or an Info within the bounds the
// envelope enforces.
func FuzzProbe(f *testing.F) {
	f.Add(WAV(20, 8000))
	f.Add(ogg(48000, 312))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Probe(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if len(info.Waveform) > Bars || info.DurationMS > maxDurationMS {
			t.Fatalf("out of bounds: %d bars, %d ms", len(info.Waveform), info.DurationMS)
		}
	})
}

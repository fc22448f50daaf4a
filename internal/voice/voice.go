// Package voice reads what a voice note's player shows before the file is
// downloaded: its duration and a waveform of peak levels (issue 22 item 6).
//
// Two formats are read. WAV (RIFF, PCM 8/16-bit or 32-bit float): the
// samples are streamed once and the peak of each of up to [Bars] equal
// slices kept. Ogg Opus: the duration is the granule position of the last
// page less the pre-skip of the OpusHead packet, at Opus's fixed 48 kHz
// (RFC 7845 §4); the package decodes no Opus, so the waveform of an Ogg
// file is flat ([Info.Flat]).
//
// The input is untrusted (a file the user picked, or anything named .wav):
// every length is checked against what was read, and nothing is allocated
// from a length field.
package voice

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Bars is the number of peak levels of a waveform (envelope
// MaxWaveformSize).
const Bars = 64

// ErrFormat is returned (wrapped) for a file that is not a readable WAV or
// Ogg Opus file.
var ErrFormat = errors.New("not a WAV or Ogg Opus file")

// Info is what Probe found.
type Info struct {
	MIME       string // audio/wav or audio/ogg
	DurationMS uint32
	// Waveform holds up to Bars peak levels, 0–255; fewer for a file with
	// fewer samples.
	Waveform []byte
	// Flat: the waveform is not measured (Ogg: no decoder), every level
	// the same middle value.
	Flat bool
}

// maxDurationMS caps a duration (envelope MaxVoiceDurationMs): one hour.
const maxDurationMS = 3600 * 1000

// Probe reads r (of size bytes) as a WAV or Ogg Opus file.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	switch string(head[:]) {
	case "RIFF":
		return probeWAV(io.NewSectionReader(r, 0, size))
	case "OggS":
		return probeOgg(r, size)
	}
	return Info{}, fmt.Errorf("%w: unknown header", ErrFormat)
}

func probeWAV(r io.Reader) (Info, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil || string(riff[8:]) != "WAVE" {
		return Info{}, fmt.Errorf("%w: no RIFF WAVE header", ErrFormat)
	}
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return Info{}, fmt.Errorf("%w: no data chunk", ErrFormat)
		}
		n := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[:4]) {
		case "fmt ":
			if n < 16 || n > 1024 {
				return Info{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrFormat, n)
			}
			b := make([]byte, n+n%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return Info{}, fmt.Errorf("%w: short fmt chunk", ErrFormat)
			}
			format, channels = binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
			rate, bits = binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint16(b[14:])
			if format == 0xFFFE && n >= 26 { // WAVE_FORMAT_EXTENSIBLE: the subformat's tag
				format = binary.LittleEndian.Uint16(b[24:])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return Info{}, fmt.Errorf("%w: data before fmt", ErrFormat)
			}
			return wavData(io.LimitReader(r, int64(n)), n, format, channels, bits, rate)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(n)+int64(n%2)); err != nil {
				return Info{}, fmt.Errorf("%w: short %q chunk", ErrFormat, ch[:4])
			}
		}
	}
}

func wavData(r io.Reader, n uint32, format, channels, bits uint16, rate uint32) (Info, error) {
	var sample func([]byte) float64
	switch {
	case format == 1 && bits == 8:
		sample = func(b []byte) float64 { return (float64(b[0]) - 128) / 128 }
	case format == 1 && bits == 16:
		sample = func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) / 32768 }
	case format == 3 && bits == 32:
		sample = func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	default:
		return Info{}, fmt.Errorf("%w: WAV format %d with %d-bit samples (want PCM 8/16-bit or float 32-bit)", ErrFormat, format, bits)
	}
	if channels == 0 || channels > 8 || rate == 0 || rate > 384000 {
		return Info{}, fmt.Errorf("%w: %d channels at %d Hz", ErrFormat, channels, rate)
	}
	frame := int(channels) * int(bits/8)
	frames := int64(n) / int64(frame)
	if frames == 0 {
		return Info{}, fmt.Errorf("%w: no samples", ErrFormat)
	}
	ms := frames * 1000 / int64(rate)
	if ms > maxDurationMS {
		return Info{}, fmt.Errorf("%w: longer than an hour", ErrFormat)
	}
	bars := min(int64(Bars), frames)
	peaks := make([]float64, bars)
	buf := make([]byte, frame*1024)
	var i int64
	for i < frames {
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), (frames-i)*int64(frame))])
		for off := 0; off+frame <= k; off += frame {
			bar := i * bars / frames
			for c := 0; c < int(channels); c++ {
				v := math.Abs(sample(buf[off+c*int(bits/8):]))
				if v > peaks[bar] && !math.IsNaN(v) {
					peaks[bar] = v
				}
			}
			i++
		}
		if err != nil {
			break // a truncated file: what was read counts
		}
	}
	wave := make([]byte, bars)
	for b, p := range peaks {
		wave[b] = byte(math.Round(min(p, 1) * 255))
	}
	return Info{MIME: "audio/wav", DurationMS: uint32(ms), Waveform: wave}, nil
}

// oggTail is how much of the end of an Ogg file is searched for the last
// page: a page is at most 65,307 bytes.
const oggTail = 65536 + 65307

func probeOgg(r io.ReaderAt, size int64) (Info, error) {
	// The first page holds the OpusHead packet alone (RFC 7845 §3).
	first := make([]byte, min(size, 27+255+19))
	if _, err := r.ReadAt(first, 0); err != nil && !errors.Is(err, io.EOF) {
		return Info{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(first) < 27 {
		return Info{}, fmt.Errorf("%w: short Ogg page", ErrFormat)
	}
	segs := int(first[26])
	body := 27 + segs
	if len(first) < body+19 || !bytes.Equal(first[body:body+8], []byte("OpusHead")) {
		return Info{}, fmt.Errorf("%w: Ogg without an OpusHead packet (only Ogg Opus is read)", ErrFormat)
	}
	serial := binary.LittleEndian.Uint32(first[14:])
	preSkip := int64(binary.LittleEndian.Uint16(first[body+10:]))
	// The last page of the stream: search the tail backwards for the
	// capture pattern of a page of the same stream.
	start := max(0, size-oggTail)
	tail := make([]byte, size-start)
	if _, err := r.ReadAt(tail, start); err != nil && !errors.Is(err, io.EOF) {
		return Info{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	for i := len(tail) - 27; i >= 0; i-- {
		p := tail[i:]
		if !bytes.HasPrefix(p, []byte("OggS")) || p[4] != 0 || binary.LittleEndian.Uint32(p[14:]) != serial {
			continue
		}
		granule := int64(binary.LittleEndian.Uint64(p[6:]))
		if granule < 0 { // -1: no packet ends on this page
			continue
		}
		ms := (granule - preSkip) * 1000 / 48000
		if ms <= 0 {
			return Info{}, fmt.Errorf("%w: no audio", ErrFormat)
		}
		if ms > maxDurationMS {
			return Info{}, fmt.Errorf("%w: longer than an hour", ErrFormat)
		}
		return Info{MIME: "audio/ogg", DurationMS: uint32(ms), Waveform: bytes.Repeat([]byte{128}, Bars), Flat: true}, nil
	}
	return Info{}, fmt.Errorf("%w: no final Ogg page", ErrFormat)
}

package callrtc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// SampleRate is the rate of every sample here: G.711's 8 kHz.
const SampleRate = 8000

// ErrWAV: a WAV file this package does not read.
var ErrWAV = errors.New("callrtc: unsupported WAV")

// ReadWAV reads a WAV file of 16-bit mono PCM at 8 kHz, the format of a
// G.711 call. Other formats are refused with an [ErrWAV] that says how to
// convert them (resampling in here would need a filter done right, and a
// converter does it better).
func ReadWAV(r io.Reader) ([]int16, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrWAV)
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrWAV, err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 || size > 1<<10 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
			format := binary.LittleEndian.Uint16(b[0:])
			channels := binary.LittleEndian.Uint16(b[2:])
			rate := binary.LittleEndian.Uint32(b[4:])
			bits := binary.LittleEndian.Uint16(b[14:])
			if format != 1 || channels != 1 || rate != SampleRate || bits != 16 {
				return nil, fmt.Errorf("%w: format %d, %d channel(s), %d Hz, %d bits; want PCM (1), mono, %d Hz, 16 bits (convert with: sox IN.wav -r 8000 -c 1 -b 16 OUT.wav)",
					ErrWAV, format, channels, rate, bits, SampleRate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAV)
			}
			if size > 1<<30 {
				return nil, fmt.Errorf("%w: data chunk of %d bytes", ErrWAV, size)
			}
			b, err := io.ReadAll(io.LimitReader(r, int64(size)))
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
			out := make([]int16, len(b)/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return out, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
		}
	}
}

// WriteWAV writes samples as a WAV file of 16-bit mono PCM at 8 kHz.
func WriteWAV(w io.Writer, samples []int16) error {
	data := len(samples) * 2
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], SampleRate)
	binary.LittleEndian.PutUint32(b[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	_, err := w.Write(b)
	return err
}

// Tone returns d of a sine at freq Hz, 8 kHz, at amplitude (0–1).
func Tone(freq float64, seconds float64, amplitude float64) []int16 {
	n := int(seconds * SampleRate)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amplitude * 32767 * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return out
}

// Goertzel returns the power of samples (8 kHz) at freq Hz: one bin of a
// DFT, enough to tell which of a few tones a recording holds.
func Goertzel(samples []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// DominantFrequency returns the frequency between lo and hi (in steps of
// step Hz) where samples have the most power (Goertzel).
func DominantFrequency(samples []int16, lo, hi, step float64) float64 {
	best, bestP := lo, -1.0
	for f := lo; f <= hi; f += step {
		if p := Goertzel(samples, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

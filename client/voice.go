package client

import (
	"fmt"
	"os"
	"strings"

	"github.com/hushnet/hush/internal/voice"
	"github.com/hushnet/hush/protocol/envelope"
)

// Voice notes (issue 22 item 6) are attachments with the voice flag, a
// duration and a waveform (envelope AttachmentPointer 14–16), sent with
// [Client.SendFiles] and a [FileToSend] whose Voice is set. For a WAV or
// Ogg Opus file the client reads both from the file (internal/voice: an
// Ogg file's waveform is flat, since hush decodes no Opus); a caller that
// measured its recording itself (the web UI, from the browser's decoder)
// passes them and any audio type is taken.

// voicePointer sets p's voice fields for f, whose file is in.
func voicePointer(f FileToSend, in *os.File, p *pointer) error {
	p.Flags |= envelope.FlagVoiceMessage
	if f.DurationMS > 0 {
		if len(f.Waveform) > envelope.MaxWaveformSize || f.DurationMS > envelope.MaxVoiceDurationMs {
			return fmt.Errorf("%w: %s: a voice note's waveform has at most %d levels and it lasts at most an hour", ErrBadFile, p.FileName, envelope.MaxWaveformSize)
		}
		if !strings.HasPrefix(p.MIME, "audio/") && !strings.HasPrefix(p.MIME, "video/webm") {
			return fmt.Errorf("%w: %s is %s, not audio", ErrBadFile, p.FileName, p.MIME)
		}
		if strings.HasPrefix(p.MIME, "video/webm") {
			p.MIME = "audio/webm" // a recording's container, sniffed as video
		}
		p.DurationMS, p.Waveform = f.DurationMS, f.Waveform
		return nil
	}
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	info, err := voice.Probe(in, st.Size())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadFile, p.FileName, err)
	}
	p.MIME, p.DurationMS, p.Waveform = info.MIME, info.DurationMS, info.Waveform
	return nil
}

package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// The seed corpora live in testdata/fuzz/<target>/, written from the fixtures
// by `go test -run TestFuzzCorpus -update`, so `go test` replays them on every
// run and `go test -fuzz` starts from valid messages of every kind.

// contentErrors and envelopeErrors are the only errors the decoders may
// return; anything else (or a panic) is a bug.
var (
	contentErrors  = []error{ErrOversized, ErrMalformed, ErrEmptyContent, ErrUnknownContent, ErrInvalid}
	envelopeErrors = []error{ErrOversized, ErrMalformed, ErrUnknownType, ErrEmptyContent}
)

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func FuzzUnmarshalEnvelope(f *testing.F) {
	if b, err := MarshalEnvelope(fixedEnvelope()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEnvelope(b)
		if err != nil {
			if !isOneOf(err, envelopeErrors) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Whatever is accepted must re-encode to something that decodes to
		// the same envelope.
		again, err := MarshalEnvelope(e)
		if err != nil {
			t.Fatalf("accepted envelope does not re-encode: %v", err)
		}
		e2, err := UnmarshalEnvelope(again)
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		if !proto.Equal(e, e2) {
			t.Fatalf("re-encoding changed the envelope: %v vs %v", e, e2)
		}
	})
}

func FuzzUnmarshalContent(f *testing.F) {
	for _, tc := range contentCases {
		if b, err := MarshalContent(tc.content); err == nil {
			f.Add(b)
		}
	}
	// A voice note and a link preview (issue 22), so the new fields'
	// checks are in the corpus.
	voice := pointer(5)
	voice.Flags, voice.DurationMs, voice.Waveform = FlagVoiceMessage, 1500, fill(MaxWaveformSize, 9)
	if b, err := MarshalContent(content(&Content_Data{Data: &DataMessage{Body: "x https://e.example/", Attachments: []*AttachmentPointer{voice},
		Previews: []*LinkPreview{{Url: "https://e.example/", Title: "t", ImageJpeg: []byte{0xff, 0xd8}}}}})); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalContent(b)
		if err != nil {
			if !isOneOf(err, contentErrors) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := MarshalContent(c)
		if err != nil {
			t.Fatalf("accepted content does not re-encode: %v", err)
		}
		c2, err := UnmarshalContent(again)
		if err != nil {
			t.Fatalf("re-encoded content does not decode: %v", err)
		}
		if !proto.Equal(c, c2) {
			t.Fatalf("re-encoding changed the content: %v vs %v", c, c2)
		}
	})
}

func FuzzUnpad(f *testing.F) {
	f.Add(Pad(nil))
	f.Add(Pad(fill(159, 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Unpad(b)
		if err != nil {
			if !errors.Is(err, ErrBadPadding) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !bytes.Equal(Pad(x), b) {
			t.Fatalf("Unpad accepted a form Pad does not produce: %x", b)
		}
	})
}

// TestFuzzCorpus checks that every committed seed is in the Go fuzz format,
// and with -update rewrites the corpora from the fixtures.
func TestFuzzCorpus(t *testing.T) {
	seeds := map[string]map[string][]byte{
		"FuzzUnmarshalEnvelope": {},
		"FuzzUnmarshalContent":  {},
		"FuzzUnpad":             {},
	}
	env, err := MarshalEnvelope(fixedEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	seeds["FuzzUnmarshalEnvelope"]["v1"] = env
	seeds["FuzzUnmarshalEnvelope"]["truncated"] = env[:len(env)/2]
	seeds["FuzzUnmarshalEnvelope"]["empty"] = nil
	for _, tc := range contentCases {
		b, err := MarshalContent(tc.content)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzUnmarshalContent"][tc.name] = b
		if tc.name == "data_full" {
			seeds["FuzzUnpad"]["data_full"] = Pad(b)
		}
	}
	seeds["FuzzUnpad"]["empty_plaintext"] = Pad(nil)
	seeds["FuzzUnpad"]["full_block"] = Pad(fill(BlockSize, 1))
	seeds["FuzzUnpad"]["no_marker"] = make([]byte, BlockSize)

	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, b := range files {
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (run with -update to create the corpus)", err)
		}
		if len(entries) < len(files) {
			t.Errorf("%s: %d seed files, want at least %d", dir, len(entries), len(files))
		}
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(raw, []byte("go test fuzz v1\n[]byte(")) {
				t.Errorf("%s/%s is not a Go fuzz seed file", dir, e.Name())
			}
		}
	}
}

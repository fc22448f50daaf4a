package sealv2

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the FuzzOpen seed corpus")

const vectorsPath = "testdata/vectors.json"

type vectorFile struct {
	Comment string   `json:"comment"`
	Vectors []vector `json:"vectors"`
}

// vector is one sealed message with everything needed to open it.
type vector struct {
	Name          string   `json:"name"`
	RandomSeed    uint64   `json:"random_seed"`
	SenderSeed    string   `json:"sender_seed"`
	RecipientSeed string   `json:"recipient_seed"`
	Now           int64    `json:"now_unix_ms"`
	Devices       int      `json:"devices"`
	Content       string   `json:"content"`
	DeviceKeys    []string `json:"device_keys"` // prekey.DeviceKeys.MarshalBinary, per device
	Records       []string `json:"records"`
	Sealed        string   `json:"sealed"`
}

var vectorInputs = []vector{
	{Name: "one-device", RandomSeed: 1, SenderSeed: "0123456789abcdef0123456789abcdef", RecipientSeed: "00112233445566778899aabbccddeeff",
		Now: now.UnixMilli(), Devices: 1, Content: hex.EncodeToString(envelope.Pad([]byte("hello")))},
	{Name: "three-devices", RandomSeed: 2, SenderSeed: "0123456789abcdef0123456789abcdef", RecipientSeed: "00112233445566778899aabbccddeeff",
		Now: now.UnixMilli() + 1234, Devices: 3, Content: hex.EncodeToString(envelope.Pad([]byte("hello, all of you")))},
	{Name: "sync-copy", RandomSeed: 3, SenderSeed: "0123456789abcdef0123456789abcdef", RecipientSeed: "0123456789abcdef0123456789abcdef",
		Now: now.UnixMilli() + 5678, Devices: 2, Content: hex.EncodeToString(envelope.Pad([]byte("sent from my laptop")))},
}

func seedAccount(t testing.TB, s string) *identity.Account {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != identity.SeedSize {
		t.Fatalf("bad seed %q", s)
	}
	return identity.FromSeed(identity.Seed(b))
}

// makeVector seals a vector's message with crypto/rand replaced by a fixed
// source: Go's crypto ignores injected readers, so this is the only way to
// make X-Wing keys and encapsulations repeatable.
func makeVector(t *testing.T, v vector) vector {
	cryptotest.SetGlobalRandom(t, v.RandomSeed)
	from, to := seedAccount(t, v.SenderSeed), seedAccount(t, v.RecipientSeed)
	class := prekey.Inbox
	if from.ID() == to.ID() {
		class = prekey.Sync
	}
	at := time.UnixMilli(v.Now).UTC()
	v.DeviceKeys, v.Records = nil, nil
	var recs []prekey.Bundle
	for range v.Devices {
		dev := devicerecord.NewDevice()
		keys, err := prekey.NewDeviceKeys(dev.ID, class)
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Generate(prekey.EpochOf(at)); err != nil {
			t.Fatal(err)
		}
		raw, err := devicerecord.Make(to, dev, keys, at)
		if err != nil {
			t.Fatal(err)
		}
		r, err := devicerecord.Verify(raw, to.ID(), at)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r.Bundle())
		kb, err := keys.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		v.DeviceKeys = append(v.DeviceKeys, hex.EncodeToString(kb))
		v.Records = append(v.Records, hex.EncodeToString(raw))
	}
	content, _ := hex.DecodeString(v.Content)
	sealed, err := Seal(from, to.ID(), recs, at, content)
	if err != nil {
		t.Fatal(err)
	}
	v.Sealed = hex.EncodeToString(sealed)
	return v
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Vectors
}

// TestVectors regenerates testdata/vectors.json and compares; -update
// rewrites it and the FuzzOpen corpus. Independently of regeneration, every
// stored message must open, with the stored keys, on every device.
func TestVectors(t *testing.T) {
	if *update {
		f := vectorFile{Comment: "crypto/sealv2 messages made with testing/cryptotest.SetGlobalRandom(random_seed). " +
			"Seeds are 16-byte account seeds; device_keys are prekey.DeviceKeys.MarshalBinary; records are signed device records; " +
			"sealed = Seal(sender, recipient, records, now, content). Regenerate with go test -run TestVectors -update."}
		for _, in := range vectorInputs {
			f.Vectors = append(f.Vectors, makeVector(t, in))
		}
		b, _ := json.MarshalIndent(f, "", "  ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeCorpus(t, f.Vectors)
	}
	stored := loadVectors(t)
	if len(stored) != len(vectorInputs) {
		t.Fatalf("%d vectors, want %d", len(stored), len(vectorInputs))
	}
	for i, v := range stored {
		t.Run(v.Name, func(t *testing.T) {
			got := makeVector(t, vectorInputs[i])
			if got.Sealed != v.Sealed || !slices.Equal(got.Records, v.Records) || !slices.Equal(got.DeviceKeys, v.DeviceKeys) {
				t.Fatalf("regenerated vector differs from %s:\n got %.64s…\nwant %.64s…", vectorsPath, got.Sealed, v.Sealed)
			}
			from, to := seedAccount(t, v.SenderSeed), seedAccount(t, v.RecipientSeed)
			sealed, _ := hex.DecodeString(v.Sealed)
			content, _ := hex.DecodeString(v.Content)
			for _, kh := range v.DeviceKeys {
				kb, _ := hex.DecodeString(kh)
				keys, err := prekey.ParseDeviceKeys(kb)
				if err != nil {
					t.Fatal(err)
				}
				got, sender, meta, err := Open(to.ID(), keys, sealed, time.UnixMilli(v.Now))
				if err != nil || !bytes.Equal(got, content) || sender != from.ID() || meta.SignedAt.UnixMilli() != v.Now {
					t.Fatalf("stored vector does not open on device %s: %v", keys.Device(), err)
				}
			}
		})
	}
}

func writeCorpus(t *testing.T, vs []vector) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		b, _ := hex.DecodeString(v.Sealed)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, v.Name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzOpen feeds arbitrary bytes to Open as the first device of the
// "three-devices" vector. What Open refuses must be refused with one of its
// errors; what it accepts must be consistent (sender from sender key, this
// device in the list, the epoch's key used) and open again the same way. The
// seed corpus holds the real vector messages, so mutations start past the
// AEAD.
func FuzzOpen(f *testing.F) {
	vs := loadVectors(f)
	v := vs[1]
	to := seedAccount(f, v.RecipientSeed)
	kb, _ := hex.DecodeString(v.DeviceKeys[0])
	keys, err := prekey.ParseDeviceKeys(kb)
	if err != nil {
		f.Fatal(err)
	}
	at := time.UnixMilli(v.Now)
	f.Add([]byte{Version})
	f.Add(make([]byte, Overhead+PerDevice))
	f.Fuzz(func(t *testing.T, sealed []byte) {
		in := slices.Clone(sealed)
		content, sender, meta, err := Open(to.ID(), keys, sealed, at)
		if !bytes.Equal(in, sealed) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			for _, known := range []error{ErrMalformed, ErrVersion, ErrNotForThisDevice, ErrNoKeyForEpoch, ErrDecrypt, ErrBadSignature, ErrWrongRecipient, ErrTimestamp} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		if id, err := meta.SenderKey.AccountID(); err != nil || id != sender {
			t.Fatalf("sender %s does not belong to key %s", sender, meta.SenderKey)
		}
		if !slices.Contains(meta.Devices, keys.Device()) || len(meta.Devices) != int(sealed[10]) {
			t.Fatalf("opened a message whose list %v lacks this device", meta.Devices)
		}
		if len(content) != len(sealed)-Overhead-len(meta.Devices)*PerDevice {
			t.Fatalf("content is %d bytes of %d sealed", len(content), len(sealed))
		}
		c2, s2, _, err := Open(to.ID(), keys, sealed, at)
		if err != nil || !bytes.Equal(content, c2) || s2 != sender {
			t.Fatal("second Open differs")
		}
	})
}

package prekey

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// now is a fixed test time: 2026-11-25 12:00:00 UTC, in epoch 20782.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestEpochs(t *testing.T) {
	e := EpochOf(now)
	if e != 20782 {
		t.Fatalf("EpochOf(%s) = %d, want 20782", now, e)
	}
	if got := EpochStart(e); !got.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("EpochStart = %s", got)
	}
	if EpochOf(EpochEnd(e).Add(-time.Nanosecond)) != e || EpochOf(EpochEnd(e)) != e+1 {
		t.Error("epoch boundary is not at midnight UTC")
	}
	if EpochOf(time.Unix(-5, 0)) != 0 {
		t.Error("negative time is not epoch 0")
	}
	tests := []struct {
		name   string
		class  Class
		window time.Duration
		ahead  uint64
	}{
		{"inbox", Inbox, 15*24*time.Hour + time.Hour, 14},
		{"sync", Sync, 31*24*time.Hour + time.Hour, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeleteAfter(tt.class, e).Sub(EpochStart(e)); got != tt.window {
				t.Errorf("forward-secrecy window %s, want %s", got, tt.window)
			}
			if tt.class.Ahead() != tt.ahead {
				t.Errorf("Ahead = %d, want %d", tt.class.Ahead(), tt.ahead)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	for _, c := range []Class{Inbox, Sync} {
		t.Run(c.String(), func(t *testing.T) {
			dev := struct{ ID DeviceID }{ID: DeviceID{1, 2, 3}}
			k, _ := NewDeviceKeys(dev.ID, c)
			e := EpochOf(now)
			if err := k.Generate(e-1, e, e+1); err != nil {
				t.Fatal(err)
			}
			// A message sealed at the last moment of epoch e (by a sender
			// whose clock is ClockSkew slow) may live MaxTTL: the key stays
			// until then, and goes at that instant.
			deadline := EpochEnd(e).Add(c.MaxTTL() + ClockSkew)
			if got := k.Prune(deadline.Add(-time.Nanosecond)); !slices.Equal(got, []uint64{e - 1}) {
				t.Fatalf("Prune just before epoch %d's deadline deleted %v, want [%d]", e, got, e-1)
			}
			if _, ok := k.PrivateKey(e); !ok {
				t.Fatal("key deleted before its deadline")
			}
			if got := k.Prune(deadline); !slices.Equal(got, []uint64{e}) {
				t.Fatalf("Prune at the deadline deleted %v, want [%d]", got, e)
			}
			if got := k.Epochs(); !slices.Equal(got, []uint64{e + 1}) {
				t.Fatalf("left %v", got)
			}
			k.Delete(e + 1)
			if len(k.Epochs()) != 0 {
				t.Fatal("Delete left the key")
			}
		})
	}
}

// TestFreshKeys: prekeys are random, not derived from the device, so a
// deleted one cannot be made again, and Generate never replaces a key that
// senders may already be using.
func TestFreshKeys(t *testing.T) {
	dev := struct{ ID DeviceID }{ID: DeviceID{1, 2, 3}}
	a, _ := NewDeviceKeys(dev.ID, Inbox)
	b, _ := NewDeviceKeys(dev.ID, Inbox)
	e := EpochOf(now)
	if err := a.Generate(e); err != nil {
		t.Fatal(err)
	}
	if err := b.Generate(e); err != nil {
		t.Fatal(err)
	}
	ka, _ := a.PrivateKey(e)
	kb, _ := b.PrivateKey(e)
	if bytes.Equal(ka.PublicKey().Bytes(), kb.PublicKey().Bytes()) {
		t.Fatal("two generations for one device and epoch gave the same key")
	}
	a.Generate(e)
	if again, _ := a.PrivateKey(e); again != ka {
		t.Fatal("Generate replaced an existing key")
	}
	a.Delete(e)
	a.Generate(e)
	if regen, _ := a.PrivateKey(e); bytes.Equal(regen.PublicKey().Bytes(), ka.PublicKey().Bytes()) {
		t.Fatal("a deleted key came back")
	}
}

func TestDeviceKeysMarshal(t *testing.T) {
	dev := struct{ ID DeviceID }{ID: DeviceID{1, 2, 3}}
	k, _ := NewDeviceKeys(dev.ID, Sync)
	if err := k.Generate(7, 3, 5); err != nil {
		t.Fatal(err)
	}
	b, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 20+3*40 {
		t.Fatalf("marshaled %d bytes", len(b))
	}
	got, err := ParseDeviceKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device() != dev.ID || got.Class() != Sync || !slices.Equal(got.Epochs(), []uint64{3, 5, 7}) {
		t.Fatalf("round trip gave %s %s %v", got.Device(), got.Class(), got.Epochs())
	}
	for _, e := range got.Epochs() {
		x, _ := k.PrivateKey(e)
		y, _ := got.PrivateKey(e)
		if !bytes.Equal(x.PublicKey().Bytes(), y.PublicKey().Bytes()) {
			t.Fatalf("epoch %d key differs", e)
		}
	}
	bad := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", b[:19], ErrMalformed},
		{"version", append([]byte{9}, b[1:]...), ErrVersion},
		{"class", append([]byte{1, 0}, b[2:]...), ErrMalformed},
		{"truncated key", b[:len(b)-1], ErrMalformed},
		{"duplicate epoch", append(slices.Clone(b[:20+40]), b[20:20+40]...), ErrMalformed},
	}
	bad[4].b[19] = 2
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseDeviceKeys(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("ParseDeviceKeys = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestBundleFor: a bundle gives the prekey of each epoch it covers and
// ErrNoPrekey outside them.
func TestBundleFor(t *testing.T) {
	k, _ := NewDeviceKeys(DeviceID{1}, Inbox)
	e := EpochOf(now)
	if err := k.Generate(e, e+1, e+2, e+4); err != nil {
		t.Fatal(err)
	}
	b := Bundle{Device: DeviceID{1}, Class: Inbox, ExpiresAt: EpochEnd(e + 2), Prekeys: k.Public(now, 10)}
	if len(b.Prekeys) != 3 {
		t.Fatalf("Public gave %d prekeys, want the 3 consecutive from now's epoch", len(b.Prekeys))
	}
	if got := k.Public(now, 2); len(got) != 2 {
		t.Fatalf("Public with max 2 gave %d", len(got))
	}
	tests := []struct {
		name  string
		epoch uint64
		want  error
	}{
		{"yesterday", e - 1, ErrNoPrekey},
		{"today", e, nil},
		{"last", e + 2, nil},
		{"past the end", e + 3, ErrNoPrekey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk, err := b.For(tt.epoch)
			if !errors.Is(err, tt.want) {
				t.Fatalf("For(%d) = %v, want %v", tt.epoch, err, tt.want)
			}
			if err == nil {
				sk, _ := k.PrivateKey(tt.epoch)
				if !bytes.Equal(pk.Bytes(), sk.PublicKey().Bytes()) {
					t.Fatalf("For(%d) gave another epoch's key", tt.epoch)
				}
			}
		})
	}
}

// TestPublicLeadsWithEpochBefore: a record made just after midnight by a
// device whose clock is ahead must still serve a sender for whom it is
// just before midnight, so Cover keeps and Public publishes the key of the
// epoch before now's; without a key for now's epoch Public gives nothing.
func TestPublicLeadsWithEpochBefore(t *testing.T) {
	e := EpochOf(now)
	tests := []struct {
		name      string
		have      func(k *DeviceKeys) error
		wantFirst uint64
		wantN     int
	}{
		{"covered", func(k *DeviceKeys) error { return k.Cover(now) }, e - 1, int(Inbox.Ahead()) + 2},
		{"covered just after midnight", func(k *DeviceKeys) error { return k.Cover(EpochStart(e).Add(time.Minute)) }, e - 1, int(Inbox.Ahead()) + 2},
		{"no key before now's epoch", func(k *DeviceKeys) error { return k.Generate(e, e+1) }, e, 2},
		{"only the epoch before", func(k *DeviceKeys) error { return k.Generate(e - 1) }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _ := NewDeviceKeys(DeviceID{1}, Inbox)
			if err := tt.have(k); err != nil {
				t.Fatal(err)
			}
			got := k.Public(now, 48)
			if len(got) != tt.wantN {
				t.Fatalf("Public gave %d prekeys, want %d", len(got), tt.wantN)
			}
			if len(got) > 0 && got[0].Epoch != tt.wantFirst {
				t.Fatalf("Public starts at epoch %d, want %d", got[0].Epoch, tt.wantFirst)
			}
		})
	}
}

package sealv2

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
)

// now is a fixed test time, 2026-11-25 12:00 UTC, in epoch 20782.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func account(b byte) *identity.Account {
	var s identity.Seed
	for i := range s {
		s[i] = b + byte(i)
	}
	return identity.FromSeed(s)
}

// device is one device of an account: its private prekeys of one class
// (for yesterday, today and tomorrow) and its verified record.
type device struct {
	dev  *devicerecord.Device
	keys *prekey.DeviceKeys
	raw  []byte
	rec  *devicerecord.Record
}

// fataler is what clone needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

// clone returns a private copy of the device's keys, for tests that delete.
func (d *device) clone(t fataler) *prekey.DeviceKeys {
	t.Helper()
	b, err := d.keys.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	k, err := prekey.ParseDeviceKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newDevice(t testing.TB, acct *identity.Account, c prekey.Class, at time.Time) *device {
	t.Helper()
	d := &device{dev: devicerecord.NewDevice()}
	var err error
	if d.keys, err = prekey.NewDeviceKeys(d.dev.ID, c); err != nil {
		t.Fatal(err)
	}
	e := prekey.EpochOf(at)
	if err := d.keys.Generate(e-1, e, e+1); err != nil {
		t.Fatal(err)
	}
	if d.raw, err = devicerecord.Make(acct, d.dev, d.keys, at); err != nil {
		t.Fatal(err)
	}
	if d.rec, err = devicerecord.Verify(d.raw, acct.ID(), at); err != nil {
		t.Fatal(err)
	}
	return d
}

// world is what most tests share: Alice sends to Bob, who has six devices;
// Alice has three devices of her own for sync copies. X-Wing key generation
// is slow enough under -race that the world is built once.
type world struct {
	alice, bob, carol *identity.Account
	bobDevs           []*device // Inbox
	aliceDevs         []*device // Sync
}

var (
	theWorld     *world
	theWorldOnce sync.Once
)

func shared(t testing.TB) *world {
	theWorldOnce.Do(func() {
		w := &world{alice: account(1), bob: account(50), carol: account(100)}
		for range 6 {
			w.bobDevs = append(w.bobDevs, newDevice(t, w.bob, prekey.Inbox, now))
		}
		for range 3 {
			w.aliceDevs = append(w.aliceDevs, newDevice(t, w.alice, prekey.Sync, now))
		}
		theWorld = w
	})
	if theWorld == nil {
		t.Fatal("building the shared test world failed")
	}
	return theWorld
}

func records(devs []*device) []prekey.Bundle {
	out := make([]prekey.Bundle, len(devs))
	for i, d := range devs {
		out[i] = d.rec.Bundle()
	}
	return out
}

// message is a hand-built v2 message, written from docs/protocol-v2.md rather
// than from Seal, with every field open to change. Tests use it to make
// messages an honest Seal never makes, and to check Seal against the spec.
type message struct {
	class     prekey.Class
	epoch     uint64
	wrapFor   []*device          // whose prekeys get a wrap, in this order
	wrapTo    identity.AccountID // recipient in the wrap info
	sender    *identity.Account  // signs
	senderKey []byte
	signedFor identity.AccountID
	signedAt  time.Time
	list      []prekey.DeviceID
	content   []byte
}

// honest returns the message Seal would make from a to the given devices.
func honest(from *identity.Account, to identity.AccountID, c prekey.Class, at time.Time, devs []*device, content []byte) *message {
	m := &message{class: c, epoch: prekey.EpochOf(at), wrapFor: devs, wrapTo: to, sender: from,
		senderKey: from.Ed25519Public().Bytes(), signedFor: to, signedAt: at, content: content}
	for _, d := range devs {
		m.list = append(m.list, d.dev.ID)
	}
	sortIDs(m.list)
	return m
}

func sortIDs(ids []prekey.DeviceID) {
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if string(ids[j][:]) < string(ids[i][:]) {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
}

func (m *message) build(t testing.TB) []byte {
	t.Helper()
	ck := make([]byte, 32)
	rand.Read(ck)
	out := []byte{2, byte(m.class)}
	out = binary.BigEndian.AppendUint64(out, m.epoch)
	out = append(out, byte(len(m.wrapFor)))
	for _, d := range m.wrapFor {
		pk, err := d.rec.Bundle().For(m.epoch)
		if err != nil {
			t.Fatal(err)
		}
		info := []byte("hush/1 seal v2 wrap")
		info = append(info, byte(m.class))
		info = append(info, m.wrapTo[:]...)
		info = append(info, d.dev.ID[:]...)
		info = binary.BigEndian.AppendUint64(info, m.epoch)
		w, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, ck)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w...)
	}
	var inner []byte
	inner = append(inner, m.senderKey...)
	inner = append(inner, m.signedFor[:]...)
	inner = binary.BigEndian.AppendUint64(inner, uint64(m.signedAt.UnixMilli()))
	inner = append(inner, byte(len(m.list)))
	for _, id := range m.list {
		inner = append(inner, id[:]...)
	}
	inner = append(inner, m.content...)
	signed := append([]byte("hush/1 seal v2 message"), out[:10]...)
	inner = append(inner, ed25519.Sign(m.sender.SigningKey(), append(signed, inner...))...)
	aead, _ := chacha20poly1305.New(ck)
	return aead.Seal(out, make([]byte, 12), inner, out)
}

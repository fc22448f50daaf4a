package sealv2

import (
	"bytes"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
)

func TestRoundTrip(t *testing.T) {
	w := shared(t)
	padded := envelope.Pad([]byte("hello, bob"))
	tests := []struct {
		name    string
		from    *identity.Account
		to      identity.AccountID
		devs    []*device
		content []byte
	}{
		{"one device", w.alice, w.bob.ID(), w.bobDevs[:1], padded},
		{"six devices", w.alice, w.bob.ID(), w.bobDevs, padded},
		{"empty content", w.alice, w.bob.ID(), w.bobDevs[2:4], nil},
		{"sync copy", w.alice, w.alice.ID(), w.aliceDevs[1:], padded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := Seal(tt.from, tt.to, records(tt.devs), now, tt.content)
			if err != nil {
				t.Fatal(err)
			}
			if want := Overhead + len(tt.devs)*PerDevice + len(tt.content); len(sealed) != want {
				t.Fatalf("sealed %d bytes, want %d", len(sealed), want)
			}
			var ids []prekey.DeviceID
			for _, d := range tt.devs {
				ids = append(ids, d.dev.ID)
			}
			sortIDs(ids)
			for _, d := range tt.devs {
				got, sender, meta, err := Open(tt.to, d.keys, sealed, now.Add(time.Hour))
				if err != nil {
					t.Fatalf("device %s: %v", d.dev.ID, err)
				}
				if !bytes.Equal(got, tt.content) || sender != tt.from.ID() || !meta.SenderKey.Equal(tt.from.Ed25519Public()) {
					t.Fatalf("device %s opened %q from %s", d.dev.ID, got, sender)
				}
				if !meta.SignedAt.Equal(now) || meta.Epoch != prekey.EpochOf(now) || meta.Class != tt.devs[0].rec.Class || !slices.Equal(meta.Devices, ids) {
					t.Fatalf("meta %+v", meta)
				}
			}
		})
	}
}

// TestSpecLayout checks Seal against the hand-built encoder that follows
// docs/protocol-v2.md, in both directions: each opens what the other made,
// and both have the same length and header.
func TestSpecLayout(t *testing.T) {
	w := shared(t)
	content := envelope.Pad([]byte("layout"))
	devs := w.bobDevs[:3]
	byHand := honest(w.alice, w.bob.ID(), prekey.Inbox, now, devs, content).build(t)
	sealed, err := Seal(w.alice, w.bob.ID(), records(devs), now, content)
	if err != nil {
		t.Fatal(err)
	}
	if len(byHand) != len(sealed) || !bytes.Equal(byHand[:11], sealed[:11]) {
		t.Fatalf("Seal's header %x (len %d), spec's %x (len %d)", sealed[:11], len(sealed), byHand[:11], len(byHand))
	}
	for _, m := range [][]byte{byHand, sealed} {
		for _, d := range devs {
			if got, _, _, err := Open(w.bob.ID(), d.keys, m, now); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("Open = %v", err)
			}
		}
	}
}

// TestWrapOrder: wraps are shuffled, so a wrap's position says nothing about
// which device it is for. Over 40 seals of two devices, each order appears.
func TestWrapOrder(t *testing.T) {
	w := shared(t)
	first := map[prekey.DeviceID]int{}
	k0 := w.bobDevs[0].clone(t)
	for range 40 {
		sealed, err := Seal(w.alice, w.bob.ID(), records(w.bobDevs[:2]), now, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Strip every wrap but the first: device 0 opens it iff it is its.
		one := slices.Concat(sealed[:10], []byte{1}, sealed[11:11+WrapSize])
		sk, _ := k0.PrivateKey(prekey.EpochOf(now))
		if _, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), wrapInfo(prekey.Inbox, w.bob.ID(), w.bobDevs[0].dev.ID, prekey.EpochOf(now)), one[11:]); err == nil {
			first[w.bobDevs[0].dev.ID]++
		} else {
			first[w.bobDevs[1].dev.ID]++
		}
	}
	if len(first) != 2 {
		t.Fatalf("the first wrap was always for the same device: %v", first)
	}
}

func TestSealRefuses(t *testing.T) {
	w := shared(t)
	expired := now.Add(3 * 24 * time.Hour) // the fixture records cover two epochs
	many := make([]prekey.Bundle, MaxDevices+1)
	for i := range many {
		many[i] = w.bobDevs[0].rec.Bundle()
		many[i].Device[0] = byte(i)
	}
	tests := []struct {
		name string
		to   identity.AccountID
		recs []prekey.Bundle
		at   time.Time
		want error
	}{
		{"no records", w.bob.ID(), nil, now, ErrNoDevices},
		{"too many", w.bob.ID(), many, now, ErrTooManyDevices},
		{"device twice", w.bob.ID(), records([]*device{w.bobDevs[0], w.bobDevs[1], w.bobDevs[0]}), now, ErrBadRecord},
		{"record of another account", w.carol.ID(), records(w.bobDevs[:1]), now, ErrBadRecord},
		{"sync record to a contact", w.bob.ID(), records(w.aliceDevs[:1]), now, ErrBadRecord},
		{"inbox record for a sync copy", w.alice.ID(), records(w.bobDevs[:1]), now, ErrBadRecord},
		{"expired record", w.bob.ID(), records(w.bobDevs[:1]), expired, ErrBadRecord},
		// The fixture records carry the epoch before now's too (for
		// senders whose clock is behind), so two days back has none.
		{"no prekey for now", w.bob.ID(), records(w.bobDevs[:1]), now.Add(-48 * time.Hour), ErrBadRecord},
		{"zero recipient", identity.AccountID{}, records(w.bobDevs[:1]), now, ErrBadRecipient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := Seal(w.alice, tt.to, tt.recs, tt.at, []byte("x")); !errors.Is(err, tt.want) || out != nil {
				t.Fatalf("Seal = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	w := shared(t)
	bob0 := w.bobDevs[0]
	content := envelope.Pad([]byte("x"))
	good := func() *message { return honest(w.alice, w.bob.ID(), prekey.Inbox, now, w.bobDevs[:2], content) }
	sealed := good().build(t)
	edit := func(fn func(m *message)) []byte {
		m := good()
		fn(m)
		return m.build(t)
	}
	flip := func(i int) []byte {
		b := slices.Clone(sealed)
		b[i] ^= 0x40
		return b
	}
	// Which wrap is bob0's is fixed in a hand-built message: the first.
	tests := []struct {
		name string
		msg  []byte
		to   identity.AccountID
		keys *prekey.DeviceKeys
		at   time.Time
		want error
	}{
		{"honest", sealed, w.bob.ID(), bob0.keys, now, nil},
		{"empty", nil, w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"version 1", append([]byte{1}, sealed[1:]...), w.bob.ID(), bob0.keys, now, ErrVersion},
		{"sealv1 message", mustSealV1(t, w.alice, w.bob.ID()), w.bob.ID(), bob0.keys, now, ErrVersion},
		{"short header", sealed[:5], w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"zero devices", slices.Concat(sealed[:10], []byte{0}, sealed[11:]), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"too many devices", slices.Concat(sealed[:10], []byte{MaxDevices + 1}, sealed[11:]), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"unknown class", slices.Concat(sealed[:1], []byte{7}, sealed[2:]), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"truncated", sealed[:len(sealed)-len(content)-65], w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"other class of keys", sealed, w.bob.ID(), mustKeys(t, bob0, prekey.Sync), now, ErrNotForThisDevice},
		{"device not wrapped for", sealed, w.bob.ID(), w.bobDevs[3].keys, now, ErrNotForThisDevice},
		{"other recipient opens", sealed, w.carol.ID(), bob0.keys, now, ErrNotForThisDevice},
		{"own wrap altered", flip(11 + 500), w.bob.ID(), bob0.keys, now, ErrNotForThisDevice},
		{"other device's wrap altered", flip(11 + WrapSize + 3), w.bob.ID(), bob0.keys, now, ErrDecrypt},
		{"body altered", flip(len(sealed) - 20), w.bob.ID(), bob0.keys, now, ErrDecrypt},
		{"epoch altered", flip(9), w.bob.ID(), bob0.keys, now, ErrNoKeyForEpoch},
		{"no key for the epoch", sealed, w.bob.ID(), mustKeys(t, bob0, prekey.Inbox), now, ErrNoKeyForEpoch},
		{"past the deletion deadline", sealed, w.bob.ID(), bob0.keys, prekey.DeleteAfter(prekey.Inbox, prekey.EpochOf(now)), ErrNoKeyForEpoch},
		{"forged signature", edit(func(m *message) { m.sender = w.carol }), w.bob.ID(), bob0.keys, now, ErrBadSignature},
		{"small-order sender key", edit(func(m *message) { m.senderKey = append([]byte{1}, make([]byte, 31)...) }), w.bob.ID(), bob0.keys, now, ErrBadSignature},
		{"signed for another recipient", edit(func(m *message) { m.signedFor = w.carol.ID() }), w.bob.ID(), bob0.keys, now, ErrWrongRecipient},
		{"not in the signed list", edit(func(m *message) {
			m.list = []prekey.DeviceID{w.bobDevs[1].dev.ID, w.bobDevs[4].dev.ID}
			sortIDs(m.list)
		}), w.bob.ID(), bob0.keys, now, ErrNotForThisDevice},
		{"list shorter than wraps", edit(func(m *message) { m.list = m.list[:1] }), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"list not sorted", edit(func(m *message) { m.list[0], m.list[1] = m.list[1], m.list[0] }), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"inbox message from self", edit(func(m *message) { m.sender, m.senderKey = w.bob, w.bob.Ed25519Public().Bytes() }), w.bob.ID(), bob0.keys, now, ErrMalformed},
		{"signed in the future", edit(func(m *message) { m.signedAt = now.Add(2 * time.Hour) }), w.bob.ID(), bob0.keys, now, ErrTimestamp},
		{"signed long before its epoch", edit(func(m *message) { m.signedAt = now.Add(-14 * time.Hour) }), w.bob.ID(), bob0.keys, now, ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, sender, meta, err := Open(tt.to, tt.keys, tt.msg, tt.at)
			if tt.want == nil {
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("Open = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if got != nil || !sender.IsZero() || !meta.SenderKey.IsZero() {
				t.Fatal("a failed Open returned data")
			}
		})
	}
}

func mustSealV1(t *testing.T, from *identity.Account, to identity.AccountID) []byte {
	b, err := sealv1.Seal(from, to, envelope.Pad([]byte("v1")))
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 1 // make the first byte the v1 envelope type, as a confused client might
	return b
}

// mustKeys returns keys for d's device of class c without any prekey.
func mustKeys(t *testing.T, d *device, c prekey.Class) *prekey.DeviceKeys {
	k, err := prekey.NewDeviceKeys(d.dev.ID, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestEpochBoundaries: a message sealed to yesterday's prekey still opens
// today and until it must have expired; a sender whose clock is behind seals
// to yesterday's prekey after midnight; one whose clock is ahead, to
// tomorrow's.
func TestEpochBoundaries(t *testing.T) {
	w := shared(t)
	bob := w.bobDevs[1]
	today := prekey.EpochOf(now)
	midnight := prekey.EpochStart(today)
	lastSecondYesterday := midnight.Add(-time.Second)
	// The fixture's record was made at noon; this one starts yesterday.
	yesterdays := newDeviceFrom(t, w.bob, bob, lastSecondYesterday)

	sealed, err := Seal(w.alice, w.bob.ID(), []prekey.Bundle{yesterdays.Bundle()}, lastSecondYesterday, []byte("late"))
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint64(sealed[2:10]) != today-1 {
		t.Fatal("sealed before midnight to another epoch than yesterday's")
	}
	deadline := prekey.DeleteAfter(prekey.Inbox, today-1)
	opens := []struct {
		name string
		at   time.Time
		want error
	}{
		{"right away", lastSecondYesterday, nil},
		{"after midnight", midnight.Add(time.Minute), nil},
		{"when the longest TTL has passed", lastSecondYesterday.Add(prekey.Inbox.MaxTTL()), nil},
		{"just before the deadline", deadline.Add(-time.Nanosecond), nil},
		{"at the deadline", deadline, ErrNoKeyForEpoch},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			if _, _, _, err := Open(w.bob.ID(), bob.keys, sealed, o.at); !errors.Is(err, o.want) {
				t.Fatalf("Open = %v, want %v", err, o.want)
			}
		})
	}

	t.Run("slow sender clock", func(t *testing.T) {
		// The sender thinks it is 23:30 yesterday; the receiver, 00:30 today.
		m, err := Seal(w.alice, w.bob.ID(), []prekey.Bundle{yesterdays.Bundle()}, midnight.Add(-30*time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := Open(w.bob.ID(), bob.keys, m, midnight.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fast sender clock", func(t *testing.T) {
		// The sender thinks it is 00:30 tomorrow; the receiver, 23:30 today.
		tomorrow := prekey.EpochEnd(today)
		m, err := Seal(w.alice, w.bob.ID(), records([]*device{bob}), tomorrow.Add(30*time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := Open(w.bob.ID(), bob.keys, m, tomorrow.Add(-30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := Open(w.bob.ID(), bob.keys, m, tomorrow.Add(-90*time.Minute)); !errors.Is(err, ErrTimestamp) {
			t.Fatalf("Open of a message from 2 h ahead = %v, want ErrTimestamp", err)
		}
	})
}

// newDeviceFrom makes a record of d's existing keys as of at.
func newDeviceFrom(t *testing.T, acct *identity.Account, d *device, at time.Time) *devicerecord.Record {
	raw, err := devicerecord.Make(acct, d.dev, d.keys, at)
	if err != nil {
		t.Fatal(err)
	}
	r, err := devicerecord.Verify(raw, acct.ID(), at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestForwardSecrecy records a message, lets its deadline pass, prunes, and
// then tries to open it with everything the device still holds: its
// remaining prekeys (tried on every wrap, for every epoch they might be
// for), its device key, and the account's seed. Nothing opens it, not even
// with the clock set back.
func TestForwardSecrecy(t *testing.T) {
	w := shared(t)
	d := w.bobDevs[2]
	keys := d.clone(t)
	sealed, err := Seal(w.alice, w.bob.ID(), records(w.bobDevs[:3]), now, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Open(w.bob.ID(), keys, sealed, now); err != nil {
		t.Fatalf("before deletion: %v", err)
	}

	e := prekey.EpochOf(now)
	later := prekey.DeleteAfter(prekey.Inbox, e)
	// The device kept running: tomorrow's prekey exists and a new one too.
	if err := keys.Generate(prekey.EpochOf(later)); err != nil {
		t.Fatal(err)
	}
	gone := keys.Prune(later)
	if !slices.Contains(gone, e) || slices.Contains(keys.Epochs(), e) {
		t.Fatalf("Prune at the deadline deleted %v, left %v", gone, keys.Epochs())
	}

	// What a thief gets: the stored state, read back from its serialization.
	stolenBytes, err := keys.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	stolen, err := prekey.ParseDeviceKeys(stolenBytes)
	if err != nil {
		t.Fatal(err)
	}
	seed := w.bob.Seed()
	acct := identity.FromSeed(seed)

	for _, at := range []time.Time{later, now} { // now: the thief sets the clock back
		if _, _, _, err := Open(acct.ID(), stolen, sealed, at); !errors.Is(err, ErrNoKeyForEpoch) {
			t.Fatalf("Open at %s after deletion = %v, want ErrNoKeyForEpoch", at, err)
		}
	}
	n := int(sealed[10])
	for _, held := range stolen.Epochs() {
		sk, _ := stolen.PrivateKey(held)
		for i := range n {
			wrap := sealed[11+i*WrapSize : 11+(i+1)*WrapSize]
			for _, epoch := range []uint64{e - 1, e, e + 1, held} {
				info := wrapInfo(prekey.Inbox, acct.ID(), d.dev.ID, epoch)
				if _, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, wrap); err == nil {
					t.Fatalf("prekey of epoch %d opens wrap %d", held, i)
				}
			}
		}
	}
	// The account's long-term keys play no part in v2.
	if _, _, _, err := sealv1.Open(acct, sealed); err == nil {
		t.Fatal("the account key opens a v2 message as v1")
	}
	// A fresh set for the same device and epoch is a different key: prekeys
	// are random, not derived from anything the device keeps.
	again, _ := prekey.NewDeviceKeys(d.dev.ID, prekey.Inbox)
	if err := again.Generate(e); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Open(acct.ID(), again, sealed, now); !errors.Is(err, ErrNotForThisDevice) {
		t.Fatalf("Open with a regenerated key = %v, want ErrNotForThisDevice", err)
	}
}

// TestReplay: Open is a pure function, so a replayed message opens again
// with the same message and time (the client deduplicates) until its key is
// deleted, after which it never opens.
func TestReplay(t *testing.T) {
	w := shared(t)
	d := w.bobDevs[0]
	sealed, err := Seal(w.alice, w.bob.ID(), records([]*device{d}), now, []byte("once"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, m1, err1 := Open(w.bob.ID(), d.keys, sealed, now)
	_, _, m2, err2 := Open(w.bob.ID(), d.keys, sealed, now.Add(48*time.Hour))
	if err1 != nil || err2 != nil || !m1.SignedAt.Equal(m2.SignedAt) {
		t.Fatalf("replay: %v %v", err1, err2)
	}
	deadline := prekey.DeleteAfter(prekey.Inbox, prekey.EpochOf(now))
	if _, _, _, err := Open(w.bob.ID(), d.keys, sealed, deadline); !errors.Is(err, ErrNoKeyForEpoch) {
		t.Fatalf("replay after the deadline = %v", err)
	}
}

package sealv2

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hushnet/hush/crypto/prekey"
)

// pick draws 1 to 5 of Bob's six devices; the rest are the ones left out.
func pick(t *rapid.T, w *world) (in, out []*device) {
	perm := rapid.Permutation(w.bobDevs).Draw(t, "devices")
	n := rapid.IntRange(1, 5).Draw(t, "n")
	return perm[:n], perm[n:]
}

// TestPropertyRoundTrip: every device wrapped for opens the content, from
// the sender, any time before the deadline; every other device of the same
// account gets ErrNotForThisDevice.
func TestPropertyRoundTrip(t *testing.T) {
	w := shared(t)
	rapid.Check(t, func(t *rapid.T) {
		in, out := pick(t, w)
		content := rapid.SliceOfN(rapid.Byte(), 0, 400).Draw(t, "content")
		at := now.Add(time.Duration(rapid.IntRange(-11*3600, 11*3600).Draw(t, "offset_s")) * time.Second)
		sealed, err := Seal(w.alice, w.bob.ID(), records(in), at, content)
		if err != nil {
			t.Fatal(err)
		}
		deadline := prekey.DeleteAfter(prekey.Inbox, prekey.EpochOf(at))
		later := at.Add(time.Duration(rapid.Int64Range(0, int64(deadline.Sub(at))-1).Draw(t, "later")))
		for _, d := range in {
			got, sender, meta, err := Open(w.bob.ID(), d.keys, sealed, later)
			if err != nil || !bytes.Equal(got, content) || sender != w.alice.ID() || len(meta.Devices) != len(in) {
				t.Fatalf("device %s: %v", d.dev.ID, err)
			}
		}
		for _, d := range out {
			if _, _, _, err := Open(w.bob.ID(), d.keys, sealed, later); !errors.Is(err, ErrNotForThisDevice) {
				t.Fatalf("device %s not wrapped for: %v", d.dev.ID, err)
			}
		}
	})
}

// TestPropertyTamper: flipping any bit of a message, truncating it or
// extending it makes Open fail on every device it was for.
func TestPropertyTamper(t *testing.T) {
	w := shared(t)
	rapid.Check(t, func(t *rapid.T) {
		in, _ := pick(t, w)
		content := rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, "content")
		sealed, err := Seal(w.alice, w.bob.ID(), records(in), now, content)
		if err != nil {
			t.Fatal(err)
		}
		bad := slices.Clone(sealed)
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0:
			i := rapid.IntRange(0, len(bad)*8-1).Draw(t, "bit")
			bad[i/8] ^= 1 << (i % 8)
		case 1:
			bad = bad[:rapid.IntRange(0, len(bad)-1).Draw(t, "length")]
		case 2:
			bad = append(bad, rapid.SliceOfN(rapid.Byte(), 1, 16).Draw(t, "extra")...)
		}
		d := rapid.SampledFrom(in).Draw(t, "opener")
		if got, _, _, err := Open(w.bob.ID(), d.keys, bad, now); err == nil {
			t.Fatalf("tampered message opened to %q", got)
		}
	})
}

// TestPropertyPrune: after Prune at any time, a message opens exactly when
// its epoch's deadline has not passed.
func TestPropertyPrune(t *testing.T) {
	w := shared(t)
	d := w.bobDevs[5]
	e := prekey.EpochOf(now)
	sealed := map[uint64][]byte{}
	for _, epoch := range []uint64{e - 1, e, e + 1} {
		at := sentAt(epoch)
		r := newDeviceFrom(t, w.bob, d, at)
		m, err := Seal(w.alice, w.bob.ID(), []prekey.Bundle{r.Bundle()}, at, []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		sealed[epoch] = m
	}
	rapid.Check(t, func(t *rapid.T) {
		keys := d.clone(t)
		span := int64(20 * 24 * time.Hour)
		pruneAt := now.Add(time.Duration(rapid.Int64Range(0, span).Draw(t, "prune")))
		keys.Prune(pruneAt)
		for epoch, m := range sealed {
			openAt := pruneAt
			if openAt.Before(sentAt(epoch)) {
				openAt = sentAt(epoch) // a message opens no earlier than it was sent
			}
			_, _, _, err := Open(w.bob.ID(), keys, m, openAt)
			alive := pruneAt.Before(prekey.DeleteAfter(prekey.Inbox, epoch))
			if alive != (err == nil) || (!alive && !errors.Is(err, ErrNoKeyForEpoch)) {
				t.Fatalf("epoch %d pruned at %s: alive %v, Open %v", epoch, pruneAt, alive, err)
			}
			// Even with the clock set back, a pruned key does not return.
			_, _, _, err = Open(w.bob.ID(), keys, m, sentAt(epoch))
			if alive != (err == nil) {
				t.Fatalf("epoch %d, clock set back after pruning at %s: %v", epoch, pruneAt, err)
			}
		}
	})
}

func sentAt(epoch uint64) time.Time { return prekey.EpochStart(epoch).Add(12 * time.Hour) }

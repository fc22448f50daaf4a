package devicerecord

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
)

// TestDeviceKeyMustSign: whoever holds only the account seed cannot put
// another device key into a device's record (issue 27, item 2): the device
// key signs its record too, so a record re-keyed and re-signed by the
// account alone is refused.
func TestDeviceKeyMustSign(t *testing.T) {
	f := newFixture(t, prekey.Inbox)
	thief := NewDevice()
	forged := slices.Clone(f.raw)
	copy(forged[50:82], thief.PublicKey().Bytes())
	forged = resign(f.acct, forged)
	if _, err := Verify(forged, f.acct.ID(), now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify of a record re-keyed by the account alone = %v, want ErrBadSignature", err)
	}
}

// TestCreatedAtRounded: the public key namespace is readable by anyone, so
// a record's created_at is the start of its epoch, never the time of the
// device's last republish (issue 27, item 7); Parse refuses any other.
func TestCreatedAtRounded(t *testing.T) {
	for _, c := range []prekey.Class{prekey.Inbox, prekey.Sync} {
		t.Run(c.String(), func(t *testing.T) {
			f := newFixture(t, c)
			r, err := Parse(f.raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := prekey.EpochStart(prekey.EpochOf(now)); !r.CreatedAt.Equal(want) {
				t.Fatalf("created_at %s, want the epoch start %s", r.CreatedAt, want)
			}
			later, err := Make(f.acct, f.dev, f.keys, now.Add(3*time.Hour+17*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(later, f.raw) {
				t.Fatal("two records of one epoch differ: a republish is visible")
			}
		})
	}
}

package clientdb

import (
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
)

func TestSetExpiry(t *testing.T) {
	db, _ := openTest(t)
	m := withTimer(outgoing(1, 0, "x"), DisappearAfterRead, time.Hour)
	id := mustInsert(t, db, alice, m)
	tests := []struct {
		name    string
		at      time.Time
		expireT time.Time // ExpireDue's time
		gone    bool
	}{
		{"a later deadline keeps it past the derived one", at(0).Add(48 * time.Hour), at(0).Add(2 * time.Hour), false},
		{"never", time.Time{}, at(0).Add(1000 * time.Hour), false},
		{"an earlier deadline deletes it then", at(10), at(10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.SetExpiry(id, tt.at); err != nil {
				t.Fatal(err)
			}
			got, err := db.Message(id)
			if err != nil || !got.ExpiresAt.Equal(tt.at) {
				t.Fatalf("ExpiresAt %v (%v), want %v", got.ExpiresAt, err, tt.at)
			}
			e, err := db.ExpireDue(tt.expireT)
			if err != nil || (e.Messages == 1) != tt.gone {
				t.Fatalf("ExpireDue: %+v, %v; want gone=%v", e, err, tt.gone)
			}
		})
	}
	if err := db.SetExpiry(999, at(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
}

// TestTombstoneOutlivesKeys: a tombstone lasts at least as long as the
// longest-lived prekey that could open the copy it covers, counted from the
// earliest moment that copy can be deleted (issue 27, item 5).
func TestTombstoneOutlivesKeys(t *testing.T) {
	e := prekey.EpochOf(time.Now())
	earliestDelete := prekey.EpochStart(e).Add(-prekey.ClockSkew)
	for _, c := range []prekey.Class{prekey.Inbox, prekey.Sync} {
		if gone := earliestDelete.Add(DefaultTombstoneTTL); gone.Before(prekey.DeleteAfter(c, e)) {
			t.Errorf("%s: tombstone gone at %s, before the key's deadline %s", c, gone, prekey.DeleteAfter(c, e))
		}
	}
}

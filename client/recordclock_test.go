package client

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/internal/node"
)

// TestClockJumpKeepsRecords: a device whose local clock runs three hours
// ahead, into the next UTC day and so the next prekey epoch, and back,
// twice, each time in a fresh Client (as every CLI command is), keeps a
// record in its swarm that a sender with the right clock accepts, and
// gets a message sent after the jumps. The network's clock is set to
// 21:00 UTC whatever the hour, so the jumps always cross midnight.
//
// It failed before the records were dated by the network's time: the
// ahead Client published a record of the next epoch at once (no node had
// answered yet) and deleted the good one, and its own Sync republished
// the current epoch's record, byte for byte the one deleted, which the
// node refused by its tombstone; the next jump met the same tombstone.
func TestClockJumpKeepsRecords(t *testing.T) {
	now := time.Now().UTC()
	shift := now.Truncate(24 * time.Hour).Add(21 * time.Hour).Sub(now)
	network := func() time.Time { return time.Now().Add(shift) }
	nd := startStandaloneWith(t, node.WithClock(network))
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd, Clock: network})
	bobHome := newHome(t)
	bobAt := func(ahead time.Duration) *Client {
		return openV2(t, bobHome, Options{Standalone: nd, Clock: func() time.Time { return network().Add(ahead) }})
	}
	bob := bobAt(0)
	bobID := bob.Account()
	bob.Close()
	for i, ahead := range []time.Duration{3*time.Hour + time.Minute, 0, 3*time.Hour + time.Minute, 0} {
		bob := bobAt(ahead)
		if _, err := bob.Sync(ctx); err != nil {
			t.Fatalf("step %d (%s ahead): sync: %v", i, ahead, err)
		}
		bob.Close()
		recs, problems, err := alice.fetchRecords(ctx, bobID, prekey.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(recs, func(r VerifiedRecord) bool { return r.DeviceID == bob.device.ID }) {
			t.Fatalf("step %d (%s ahead): no valid record of bob's device in the swarm (problems: %v)", i, ahead, problems)
		}
	}
	if _, err := alice.Send(ctx, bobID, "after the jumps"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if w, why, _ := alice.WaitingForKeys(bobID); w {
		t.Fatalf("alice waits for bob's keys: %s", why)
	}
	bob = bobAt(0)
	if _, err := bob.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := bob.History(alice.Account())
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(h); !slices.Contains(got, "after the jumps") {
		t.Fatalf("bob has %v", got)
	}
}

// TestRecordsMissingRepublished: this device's records vanish from its
// swarm behind the home's back (here deleted, so the node keeps their
// tombstones and refuses the same bytes). The publication state still
// says they are fresh; a fetch of the own account's records notices they
// are missing, and the next KeyDuties publishes records that differ from
// the deleted ones, which a sender then accepts.
func TestRecordsMissingRepublished(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	var st publishState
	b, err := bob.db.Setting(publishedSetting)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil || len(st.Hashes) != 2 {
		t.Fatalf("publication state %s: %v", b, err)
	}
	if err := bob.deleteOwn(ctx, st.Hashes); err != nil {
		t.Fatal(err)
	}
	if recs, _, err := alice.fetchRecords(ctx, bob.Account(), prekey.Inbox); err != nil || len(recs) != 0 {
		t.Fatalf("after the deletion: %d records, %v", len(recs), err)
	}
	// Trusting its state, KeyDuties does nothing yet.
	if err := bob.KeyDuties(ctx); err != nil {
		t.Fatal(err)
	}
	// The sync copy's fetch of the own records notices.
	if _, _, err := bob.fetchIntoCache(ctx, recordCacheKey{bob.Account(), prekey.Sync}); err != nil {
		t.Fatal(err)
	}
	if err := bob.KeyDuties(ctx); err != nil {
		t.Fatal(err)
	}
	recs, problems, err := alice.fetchRecords(ctx, bob.Account(), prekey.Inbox)
	if err != nil || len(recs) != 1 || recs[0].DeviceID != bob.device.ID {
		t.Fatalf("after KeyDuties: %d records (%v), %v", len(recs), problems, err)
	}
	if slices.Contains(st.Hashes, recs[0].Hash) {
		t.Fatal("the republished record is the deleted one")
	}
	if _, err := alice.Send(ctx, bob.Account(), "back"); err != nil {
		t.Fatal(err)
	}
	if w, why, _ := alice.WaitingForKeys(bob.Account()); w {
		t.Fatalf("alice waits for bob's keys: %s", why)
	}
}

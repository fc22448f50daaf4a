package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestRecordsPublishAndVerify: Open publishes this device's records on a
// real standalone node; another account fetches and verifies the Inbox
// record without a signature; a record signed by another account, stored
// in the same namespace, is refused; Sync records stay owner-only.
func TestRecordsPublishAndVerify(t *testing.T) {
	nd := startStandalone(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	bobDev, err := bob.thisDevice()
	if err != nil {
		t.Fatal(err)
	}
	recs, problems, err := alice.Bundle(ctx, bob.Account())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(problems) != 0 || recs[0].DeviceID != bobDev.ID || recs[0].Class != prekey.Inbox {
		t.Fatalf("bundle: %d records, %v", len(recs), problems)
	}
	if _, err := recs[0].Bundle().For(prekey.EpochOf(alice.now()) + prekey.Inbox.Ahead()); err != nil {
		t.Fatalf("the record does not cover the message TTL ahead: %v", err)
	}

	// Bob (the only one who can write there) stores a record signed by a
	// third account: it must not verify as bob's.
	mallory := identity.NewAccount()
	mdev := devicerecord.NewDevice()
	keys, _ := prekey.NewDeviceKeys(mdev.ID, prekey.Inbox)
	if err := keys.Cover(bob.now()); err != nil {
		t.Fatal(err)
	}
	forged, err := devicerecord.Make(mallory, mdev, keys, bob.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.store(ctx, bob.Account(), NamespaceKeys, time.Hour, forged); err != nil {
		t.Fatal(err)
	}
	recs, problems, err = alice.fetchRecords(ctx, bob.Account(), prekey.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(problems) != 1 || !errors.Is(problems[0].Err, devicerecord.ErrWrongAccount) && !errors.Is(problems[0].Err, devicerecord.ErrBadSignature) {
		t.Fatalf("with a forged record: %d valid, problems %v", len(recs), problems)
	}
	if _, _, err := alice.fetchRecords(ctx, bob.Account(), prekey.Sync); err == nil {
		t.Fatal("read another account's sync records")
	}
	own, _, err := bob.fetchRecords(ctx, bob.Account(), prekey.Sync)
	if err != nil || len(own) != 1 || own[0].DeviceID != bobDev.ID {
		t.Fatalf("own sync records: %d, %v", len(own), err)
	}
	// Unsigned, the sync namespace answers nothing.
	if _, err := alice.retrievePublic(ctx, standaloneNode(t, alice), bob.Account(), NamespaceSyncKeys); err == nil {
		t.Fatal("unsigned retrieve of the sync record namespace succeeded")
	}
	if rpc.MessageHash(bob.Account(), NamespaceSyncKeys, own[0].Raw) != own[0].Hash {
		t.Fatal("record hash does not match its bytes")
	}
}

// TestPrekeyDeletion: private prekeys are deleted by the rule of
// docs/protocol-v2.md §4 and never come back; republishing covers the
// epochs ahead again.
func TestPrekeyDeletion(t *testing.T) {
	nd := startStandalone(t)
	home := newHome(t)
	var now time.Time
	clock := func() time.Time { return now }
	now = time.Now()
	c := open(t, home, Options{Standalone: nd})
	dev, _ := c.thisDevice()
	inbox, err := c.prekeys(dev.ID, prekey.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	// The oldest is the epoch before now's, kept for senders whose clock
	// is behind (prekey.DeviceKeys.Public).
	first := prekey.EpochOf(time.Now()) - 1
	if got := inbox.Epochs(); len(got) != int(prekey.Inbox.Ahead())+2 || got[0] != first {
		t.Fatalf("inbox prekeys for epochs %v", got)
	}
	c.Close()
	// The same home, opened by a clock past the first epoch's deadline
	// but without a network: pruning needs none.
	now = prekey.DeleteAfter(prekey.Inbox, first)
	c = open(t, home, Options{Clock: clock})
	n, err := c.PrunePrekeys()
	if err != nil || n != 1 {
		t.Fatalf("pruned %d keys (%v), want the first inbox epoch", n, err)
	}
	inbox, _ = c.prekeys(dev.ID, prekey.Inbox)
	if _, ok := inbox.PrivateKey(first); ok {
		t.Fatal("the expired prekey is still held")
	}
	sync, _ := c.prekeys(dev.ID, prekey.Sync)
	if _, ok := sync.PrivateKey(first); !ok {
		t.Fatal("a sync prekey was deleted before its own, later deadline")
	}
}

// sealV2 seals encoded Content from one Client to another's device as
// protocol v2 and returns the envelope, without a network: the
// recipient's prekeys are covered and its record made on the spot.
func sealV2(t testing.TB, from, to *Client, encoded []byte, now time.Time) []byte {
	t.Helper()
	cl := prekey.Inbox
	if from.Account().Equal(to.Account()) {
		cl = prekey.Sync
	}
	keys, err := to.prekeys(to.device.ID, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Cover(now); err != nil {
		t.Fatal(err)
	}
	if err := to.savePrekeys(keys); err != nil {
		t.Fatal(err)
	}
	raw, err := devicerecord.Make(to.acct, to.device, keys, now)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := devicerecord.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealv2.Seal(from.acct, to.Account(), []prekey.Bundle{rec.Bundle()}, now, envelope.Pad(encoded))
	if err != nil {
		t.Fatal(err)
	}
	data, err := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, CoarseTimestampS: envelope.CoarseTimestamp(now), Content: sealed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// openV2 is open that makes sure of the protocol v2 seam, which Open
// installs: these tests are about v2 whatever the default.
func openV2(t testing.TB, home string, o Options) *Client {
	t.Helper()
	c := open(t, home, o)
	c.seal = &v2{c: c}
	return c
}

// TestRepublish: KeyDuties leaves fresh records alone and publishes again
// once the last are half an epoch old, which within one epoch yields the
// same records.
func TestRepublish(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	// Records made within one epoch are the same bytes (deterministic
	// signatures, created_at the epoch start).
	var shift atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	c := open(t, newHome(t), Options{Standalone: nd, Clock: clock})
	hashes := func() []string {
		t.Helper()
		var out []string
		for _, cl := range []prekey.Class{prekey.Inbox, prekey.Sync} {
			ns := NamespaceKeys
			if cl == prekey.Sync {
				ns = NamespaceSyncKeys
			}
			msgs, err := c.retrieve(ctx, standaloneNode(t, c), ns, time.Time{}, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				out = append(out, m.Hash)
			}
		}
		return out
	}
	first := hashes()
	if len(first) != 2 {
		t.Fatalf("after open: %d records, want 2", len(first))
	}
	if err := c.KeyDuties(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hashes(); !slices.Equal(got, first) {
		t.Fatalf("fresh records replaced: %v, was %v", got, first)
	}
	// A fresh publication of an older record version is redone at once:
	// peers refuse the old version.
	b, _ := json.Marshal(publishState{At: c.now().UnixMilli(), Hashes: first, Version: 1})
	if err := c.db.SetSetting(publishedSetting, b); err != nil {
		t.Fatal(err)
	}
	if err := c.KeyDuties(ctx); err != nil {
		t.Fatal(err)
	}
	var st publishState
	if b, err := c.db.Setting(publishedSetting); err != nil || json.Unmarshal(b, &st) != nil || st.Version != devicerecord.Version {
		t.Fatalf("after a version-1 publication: state %+v, %v; want republished as version %d", st, err, devicerecord.Version)
	}
	// Pretend the last publication was 13 hours ago.
	b, _ = json.Marshal(publishState{At: c.now().Add(-13 * time.Hour).UnixMilli(), Hashes: first})
	if err := c.db.SetSetting(publishedSetting, b); err != nil {
		t.Fatal(err)
	}
	shift.Store(int64(2 * time.Second))
	if err := c.KeyDuties(ctx); err != nil {
		t.Fatal(err)
	}
	// Within one epoch a republish makes the same records (created_at is
	// the epoch start, issue 27 item 7): the swarm still holds exactly
	// one record per class, and a reader of namespace 7 cannot tell that
	// the device republished.
	got := hashes()
	if len(got) != 2 || !slices.Equal(got, first) {
		t.Fatalf("after republishing in the same epoch: %v, was %v", got, first)
	}
}

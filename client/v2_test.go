package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
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
	if len(recs) != 1 || len(problems) != 0 || recs[0].DeviceID != bobDev.ID || recs[0].Class != devicerecord.Inbox {
		t.Fatalf("bundle: %d records, %v", len(recs), problems)
	}
	if _, err := recs[0].PrekeyFor(devicerecord.EpochOf(alice.now()) + devicerecord.Inbox.Ahead()); err != nil {
		t.Fatalf("the record does not cover the message TTL ahead: %v", err)
	}

	// Bob (the only one who can write there) stores a record signed by a
	// third account: it must not verify as bob's.
	mallory := identity.NewAccount()
	mdev := devicerecord.NewDevice()
	keys, _ := devicerecord.NewDeviceKeys(mdev.ID, devicerecord.Inbox)
	if err := keys.Cover(bob.now()); err != nil {
		t.Fatal(err)
	}
	forged, err := keys.Record(mallory, mdev, bob.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.store(ctx, bob.Account(), NamespaceKeys, time.Hour, forged); err != nil {
		t.Fatal(err)
	}
	recs, problems, err = alice.fetchRecords(ctx, bob.Account(), devicerecord.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(problems) != 1 || !errors.Is(problems[0].Err, devicerecord.ErrWrongAccount) && !errors.Is(problems[0].Err, devicerecord.ErrBadSignature) {
		t.Fatalf("with a forged record: %d valid, problems %v", len(recs), problems)
	}
	if _, _, err := alice.fetchRecords(ctx, bob.Account(), devicerecord.Sync); err == nil {
		t.Fatal("read another account's sync records")
	}
	own, _, err := bob.fetchRecords(ctx, bob.Account(), devicerecord.Sync)
	if err != nil || len(own) != 1 || own[0].DeviceID != bobDev.ID {
		t.Fatalf("own sync records: %d, %v", len(own), err)
	}
	// Unsigned, the sync namespace answers nothing.
	if _, err := alice.retrievePublic(ctx, nd.node(t, alice), bob.Account(), NamespaceSyncKeys); err == nil {
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
	inbox, err := c.prekeys(dev.ID, devicerecord.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	first := devicerecord.EpochOf(time.Now())
	if got := inbox.Epochs(); len(got) != int(devicerecord.Inbox.Ahead())+1 || got[0] != first {
		t.Fatalf("inbox prekeys for epochs %v", got)
	}
	c.Close()
	// The same home, opened by a clock past the first epoch's deadline
	// but without a network: pruning needs none.
	now = devicerecord.DeleteAfter(devicerecord.Inbox, first)
	c = open(t, home, Options{Clock: clock})
	n, err := c.PrunePrekeys()
	if err != nil || n != 1 {
		t.Fatalf("pruned %d keys (%v), want the first inbox epoch", n, err)
	}
	inbox, _ = c.prekeys(dev.ID, devicerecord.Inbox)
	if _, ok := inbox.PrivateKey(first); ok {
		t.Fatal("the expired prekey is still held")
	}
	sync, _ := c.prekeys(dev.ID, devicerecord.Sync)
	if _, ok := sync.PrivateKey(first); !ok {
		t.Fatal("a sync prekey was deleted before its own, later deadline")
	}
}

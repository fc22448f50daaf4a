package client

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
)

// TestV2OfflineDevice: a device that published its record and then stayed
// offline for many epochs still receives everything sent within the TTL.
// The sender only ever sees the record published before the device went
// away; the prekeys it carries for the epochs ahead are what make that
// work, and the device, back online, prunes without losing them.
func TestV2OfflineDevice(t *testing.T) {
	var now atomic.Int64
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	e := prekey.EpochOf(time.Now())
	t0 := prekey.EpochStart(e).Add(time.Hour)
	now.Store(t0.UnixMilli())
	bob := openV2(t, newHome(t), Options{Clock: clock})
	alice := openV2(t, newHome(t), Options{Clock: clock})

	// Bob publishes once, at t0, and goes offline.
	keys, err := bob.prekeys(bob.device.ID, prekey.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Cover(t0); err != nil {
		t.Fatal(err)
	}
	if err := bob.savePrekeys(keys); err != nil {
		t.Fatal(err)
	}
	raw, err := devicerecord.Make(bob.acct, bob.device, keys, t0)
	if err != nil {
		t.Fatal(err)
	}

	type sent struct {
		at  time.Time
		env *envelope.Envelope
	}
	var msgs []sent
	for _, days := range []int{1, 2, 6, 13} {
		at := t0.Add(time.Duration(days) * 24 * time.Hour)
		// Alice verifies the old record at the time she sends, as a sender does.
		rec, err := devicerecord.Verify(raw, bob.Account(), at)
		if err != nil {
			t.Fatalf("day %d: bob's record no longer verifies: %v", days, err)
		}
		content, _ := envelope.MarshalContent(&envelope.Content{
			MessageId: make([]byte, 16), SentAtMs: uint64(at.UnixMilli()),
			Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: "day"}},
		})
		sealed, err := sealv2.Seal(alice.acct, bob.Account(), []prekey.Bundle{rec.Bundle()}, at, envelope.Pad(content))
		if err != nil {
			t.Fatalf("day %d: seal: %v", days, err)
		}
		msgs = append(msgs, sent{at, &envelope.Envelope{Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, Content: sealed}})
	}

	// Bob comes back just after the last message, prunes as every command
	// does, and opens everything.
	now.Store(msgs[len(msgs)-1].at.Add(time.Hour).UnixMilli())
	if _, err := bob.PrunePrekeys(); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		_, sender, _, err := bob.seal.open(m.env.GetType(), m.env.GetContent())
		if err != nil {
			t.Fatalf("message %d (sent %s after bob left): %v", i, m.at.Sub(t0), err)
		}
		if !sender.Equal(alice.Account()) {
			t.Fatalf("message %d: sender %s", i, sender)
		}
	}
}

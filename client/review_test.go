package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The tests of this file are the attacks of issue 27 (protocol v2 after a
// cryptographic review), each one failing against the code before its fix.

// TestForgedHistoryShare (item 1): whoever holds Bob's seed can seal a
// HistoryShare to Bob's device, but cannot make it show "Alice said X":
// an entry attributed to a contact must carry the contact's own signed
// inner part, and one without is refused (or at most shown as Bob's own).
func TestForgedHistoryShare(t *testing.T) {
	p := newPair(t)
	p.send(p.alice, p.bobID, "hello bob")
	if got := p.read(p.bob); len(got) != 1 {
		t.Fatalf("bob read %d messages, want 1", len(got))
	}
	forgedBody, _ := envelope.MarshalContent(&envelope.Content{
		MessageId: randomID(), SentAtMs: uint64(p.clock.Now().UnixMilli()),
		Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: "alice never said this"}},
	})
	aliceID := p.aliceID
	share, _ := envelope.MarshalContent(&envelope.Content{
		MessageId: randomID(), SentAtMs: uint64(p.clock.Now().UnixMilli()),
		Body: &envelope.Content_HistoryShare{HistoryShare: &envelope.HistoryShare{
			ShareId: randomID(), Part: 0, Parts: 1,
			Messages: []*envelope.HistoryShare_SharedMessage{{
				Conversation: aliceID[:], Author: aliceID[:], Content: forgedBody,
				ReceivedAtMs: uint64(p.clock.Now().UnixMilli()),
			}},
		}},
	})
	// The thief seals with Bob's account key to Bob's own device.
	data := sealV2(t, p.bob, p.bob, share, p.bob.now())
	if _, err := p.bob.store(p.ctx, p.bobID, NamespaceSync, time.Hour, data); err != nil {
		t.Fatal(err)
	}
	p.sync(p.bob)
	for _, m := range historyByText(t, p.bob, p.aliceID) {
		if m.Text == "alice never said this" && !m.Outgoing {
			t.Fatalf("a forged history entry is shown as written by alice: %+v", m)
		}
	}
}

// TestDeviceTakeover (item 2): with Bob's seed, a thief publishes a
// record under Bob's existing device ID with its own device key and
// prekeys. Alice must not seal to it: her next message still opens on
// Bob's real device, and she is told that the device's key changed.
func TestDeviceTakeover(t *testing.T) {
	p := newPair(t)
	fetchEachSend(p.alice) // the takeover shows in the next fetch
	p.send(p.alice, p.bobID, "one")
	if got := p.read(p.bob); len(got) != 1 {
		t.Fatalf("bob read %d messages, want 1", len(got))
	}
	events, stop := p.alice.Subscribe(64)
	defer stop()

	b, _ := devicerecord.NewDevice().MarshalBinary()
	copy(b, p.bob.device.ID[:])
	thief, err := devicerecord.ParseDevice(b)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := prekey.NewDeviceKeys(thief.ID, prekey.Inbox)
	at := p.bob.now().Add(30 * time.Minute) // a little ahead, inside the skew
	if err := keys.Cover(at); err != nil {
		t.Fatal(err)
	}
	raw, err := devicerecord.Make(p.bob.acct, thief, keys, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.bob.store(p.ctx, p.bobID, NamespaceKeys, time.Hour, raw); err != nil {
		t.Fatal(err)
	}
	p.send(p.alice, p.bobID, "two")
	got := p.read(p.bob)
	if len(got) != 1 || got[0].Text != "two" {
		t.Fatalf("bob's real device read %+v after the takeover, want \"two\"", got)
	}
	told := false
	for len(events) > 0 {
		if e := <-events; e.Kind == EventNewKeyDevice && errors.Is(e.Err, clientdb.ErrDeviceKeyChanged) {
			told = true
		}
	}
	if !told {
		t.Fatal("alice was not told that a device of bob's changed its key")
	}
	// Only the user's confirmation makes the new key the device's.
	if err := p.alice.ConfirmDeviceKey(p.bobID, thief.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.alice.ConfirmDeviceKey(p.bobID, thief.ID); !errors.Is(err, ErrNoKeyChange) {
		t.Fatalf("a second confirmation = %v, want ErrNoKeyChange", err)
	}
	devs, err := p.alice.PeerDevices(p.bobID)
	if err != nil || len(devs) != 1 || !devs[0].PublicKey.Equal(thief.PublicKey()) {
		t.Fatalf("bob's devices after the confirmation: %+v, %v", devs, err)
	}
}

// filtering is a Transport that drops, from every answer to a read of the
// public key namespace, the records of one device, as a malicious swarm
// member could.
type filtering struct {
	Transport
	hide atomic.Pointer[prekey.DeviceID]
}

func (f *filtering) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	code, resp, err := f.Transport.Do(ctx, n, body)
	id := f.hide.Load()
	if err != nil || id == nil || !strings.Contains(string(body), `"method":"retrieve"`) || !strings.Contains(string(body), `"namespace":7`) {
		return code, resp, err
	}
	var r map[string]json.RawMessage
	if json.Unmarshal(resp, &r) != nil {
		return code, resp, err
	}
	var msgs []rpc.Message
	if json.Unmarshal(r["messages"], &msgs) != nil {
		return code, resp, err
	}
	kept := msgs[:0]
	for _, m := range msgs {
		raw, _ := base64.StdEncoding.DecodeString(m.Data)
		if rec, err := devicerecord.Parse(raw); err == nil && rec.DeviceID == *id {
			continue
		}
		kept = append(kept, m)
	}
	r["messages"], _ = json.Marshal(kept)
	resp, _ = json.Marshal(r)
	return code, resp, nil
}

// TestWithheldDevice (item 3): a node hides the record of one of Bob's
// two known devices. Alice's message is not sent silently to the other:
// it waits, and she is told which device is missing; after the bounded
// wait it goes to the device that can be reached, and she is told again.
func TestWithheldDevice(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	clock := &fakeClock{}
	f := &filtering{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd, Transport: f, Clock: clock.Now})
	fetchEachSend(alice) // the withholding shows in the next fetch
	seed := identity.NewSeed()
	b1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd, Clock: clock.Now})
	b2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd, Clock: clock.Now})
	if _, err := alice.Send(ctx, b1.Account(), "both"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Client{b1, b2} {
		if got, err := b.Poll(ctx); err != nil || len(got) != 1 {
			t.Fatalf("bob's device got %d messages, %v; want 1", len(got), err)
		}
	}
	events, stop := alice.Subscribe(64)
	defer stop()
	hidden := b2.ThisDevice()
	f.hide.Store(&hidden)
	m, err := alice.Send(ctx, b1.Account(), "one of two")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "queued" {
		t.Fatalf("status %s with a known device withheld, want queued", m.Status)
	}
	if waiting, why, _ := alice.WaitingForKeys(b1.Account()); !waiting || !strings.Contains(why, hidden.String()) {
		t.Fatalf("waiting %v (%q), want the missing device %s named", waiting, why, hidden)
	}
	named := func() bool {
		for len(events) > 0 {
			if e := <-events; e.Err != nil && strings.Contains(e.Err.Error(), hidden.String()) {
				return true
			}
		}
		return false
	}
	if !named() {
		t.Fatal("no event named the withheld device")
	}
	clock.Advance(time.Hour) // past the bounded wait
	if _, err := alice.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := alice.Message(m.ID); m.Status != "sent" {
		t.Fatalf("status %s after the bounded wait, want sent to the reachable device", m.Status)
	}
	if !named() {
		t.Fatal("alice was not told the message went without the withheld device")
	}
	if got, err := b1.Poll(ctx); err != nil || len(got) != 1 || got[0].Text != "one of two" {
		t.Fatalf("the reachable device got %+v, %v", got, err)
	}
}

// TestHistoryShareWindow (item 4): a history share re-seals a contact's
// message under Sync prekeys, so it stays openable longer than the Inbox
// window; docs/protocol-v2.md must state that longer window, and it must
// be the one the deletion rule gives.
func TestHistoryShareWindow(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol-v2.md")
	if err != nil {
		t.Fatal(err)
	}
	// The latest share of a message sent at the start of epoch e0 is made
	// in epoch e0+14 (shares carry messages up to InboxTTL old), sealed to
	// that epoch's Sync prekey.
	e0 := prekey.EpochOf(time.Now())
	last := prekey.EpochOf(prekey.EpochEnd(e0).Add(-time.Second).Add(InboxTTL))
	window := prekey.DeleteAfter(prekey.Sync, last).Sub(prekey.EpochStart(e0))
	if window != 45*24*time.Hour+time.Hour {
		t.Fatalf("history share window %v, want 45 days 1 hour", window)
	}
	if !strings.Contains(string(doc), "Shared history: 45 days 1 hour") {
		t.Fatal("docs/protocol-v2.md §4 does not state the window of shared history (45 days 1 hour)")
	}
}

// TestDeletedSyncCopyReplay (item 5): a sync copy deleted at once must not
// come back when a node stores it again just before its Sync key's
// deadline: the tombstone outlives the key.
func TestDeletedSyncCopyReplay(t *testing.T) {
	p := newPair(t)
	sent := p.send(p.alice, p.bobID, "delete me")
	copies, err := p.alice.retrieve(p.ctx, standaloneNode(t, p.alice), NamespaceSync, time.Time{}, "")
	if err != nil || len(copies) == 0 {
		t.Fatalf("alice's sync namespace holds %d copies, %v", len(copies), err)
	}
	// Deleted early in the copy's UTC day (by a local clock that says so):
	// the worst case, where a tombstone counted from the deletion ends
	// soonest compared with the key's deadline, counted from the epoch.
	if _, err := p.alice.db.DeleteMessage(clientdb.LocalID(sent.ID), prekey.EpochStart(prekey.EpochOf(sent.SentAt))); err != nil {
		t.Fatal(err)
	}
	// Just before the latest deadline of the key that opens the copy.
	deadline := prekey.DeleteAfter(prekey.Sync, prekey.EpochOf(sent.SentAt))
	p.clock.Advance(deadline.Add(-time.Minute).Sub(p.alice.clock()))
	if _, err := p.alice.db.ExpireDue(p.alice.clock()); err != nil {
		t.Fatal(err)
	}
	// A node serves the copies again. They go straight into the receive
	// path: a month on, this client's clock is too far from the test
	// node's (which has no clock of its own) for a signed poll to pass
	// the network-clock bound.
	if _, _, err := p.alice.process(NamespaceSync, clientdb.Cursor{}, fetched{msgs: copies}); err != nil {
		t.Fatal(err)
	}
	if h := historyByText(t, p.alice, p.bobID); len(h) != 0 {
		t.Fatalf("the deleted message came back: %+v", h)
	}
}

// TestAccountObjectsOffV1 (item 6): device announcements and config
// objects must not open with the account's X25519 key alone (protocol
// v1's sealed box).
func TestAccountObjectsOffV1(t *testing.T) {
	p := newPair(t)
	p.sync(p.alice)
	if err := p.alice.AddContact(p.bobID, "bob"); err != nil {
		t.Fatal(err)
	}
	p.sync(p.alice)
	for _, ns := range []int32{NamespaceDevices, NamespaceConfig} {
		msgs, err := p.alice.retrieve(p.ctx, standaloneNode(t, p.alice), ns, time.Time{}, "")
		if err != nil || len(msgs) == 0 {
			t.Fatalf("namespace %d: %d objects, %v", ns, len(msgs), err)
		}
		for _, m := range msgs {
			data, _ := base64.StdEncoding.DecodeString(m.Data)
			env, err := envelope.UnmarshalEnvelope(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := sealv1.Open(p.alice.acct, env.GetContent()); err == nil {
				t.Fatalf("an object of namespace %d opens with the X25519 key alone", ns)
			}
		}
	}
}

// TestPublicRecordTime (item 7): what anyone reads in namespace 7 dates a
// device's record to its epoch, not to its last activity.
func TestPublicRecordTime(t *testing.T) {
	p := newPair(t)
	recs, _, err := p.alice.Bundle(p.ctx, p.bobID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("bundle: %d, %v", len(recs), err)
	}
	if c := recs[0].CreatedAt; !c.Equal(prekey.EpochStart(prekey.EpochOf(c))) {
		t.Fatalf("created_at %s is not an epoch start", c)
	}
	// The swarm's deposit time and expiry, which every reader of
	// namespace 7 sees too, say no more.
	msgs, err := p.alice.retrievePublic(p.ctx, standaloneNode(t, p.alice), p.bobID, NamespaceKeys)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("namespace 7: %d records, %v", len(msgs), err)
	}
	for _, m := range msgs {
		at := time.UnixMilli(m.Timestamp)
		if !at.Equal(prekey.EpochStart(prekey.EpochOf(at))) || (m.Expiration-m.Timestamp)%(24*3600*1000) != 0 {
			t.Fatalf("a record deposited at %s, expiring %s", at.UTC(), time.UnixMilli(m.Expiration).UTC())
		}
	}
}

package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestV2TwoDevices: two accounts of two devices each, on a real standalone
// node. A message reaches both of the recipient's devices, sealed with v2
// only; the sender's other device gets the sync copy; the sender's own
// copy does not count as dropped; each device is announced once.
func TestV2TwoDevices(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	aSeed, bSeed := identity.NewSeed(), identity.NewSeed()
	a1 := openV2(t, homeFromSeed(t, aSeed), Options{Standalone: nd})
	a2 := openV2(t, homeFromSeed(t, aSeed), Options{Standalone: nd})
	b1 := openV2(t, homeFromSeed(t, bSeed), Options{Standalone: nd})
	b2 := openV2(t, homeFromSeed(t, bSeed), Options{Standalone: nd})
	events, stop := a1.Subscribe(16)
	defer stop()

	m, err := a1.Send(ctx, b1.Account(), "to both of bob's devices")
	if err != nil || m.Status != "sent" {
		t.Fatalf("send: %+v, %v", m, err)
	}
	for _, tc := range []struct {
		name string
		c    *Client
		out  bool
	}{{"bob's first device", b1, false}, {"bob's second device", b2, false}, {"alice's other device", a2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Text != "to both of bob's devices" || got[0].Outgoing != tc.out {
				t.Fatalf("polled %+v", got)
			}
			if s := tc.c.Stats(); s.Dropped != 0 {
				t.Fatalf("dropped %d", s.Dropped)
			}
		})
	}
	if got, err := a1.Poll(ctx); err != nil || len(got) != 0 || a1.Stats().Dropped != 0 {
		t.Fatalf("the sender's poll: %d new, %d dropped, %v", len(got), a1.Stats().Dropped, err)
	}
	// What the node holds is v2: the inbox copy wrapped for bob's two
	// devices, the sync copy for alice's other device only.
	for _, tc := range []struct {
		c       *Client
		ns      int32
		devices byte
	}{{b1, NamespaceInbox, 2}, {a1, NamespaceSync, 1}} {
		msgs, err := tc.c.retrieve(ctx, standaloneNode(t, tc.c), tc.ns, time.Time{}, "")
		if err != nil || len(msgs) != 1 {
			t.Fatalf("namespace %d: %d messages, %v", tc.ns, len(msgs), err)
		}
		data, _ := base64.StdEncoding.DecodeString(msgs[0].Data)
		env, err := envelope.UnmarshalEnvelope(data)
		if err != nil || env.GetType() != envelope.Envelope_TYPE_SESSION_MESSAGE_V2 {
			t.Fatalf("namespace %d holds %v (%v), want v2", tc.ns, env.GetType(), err)
		}
		if n := env.GetContent()[10]; n != tc.devices {
			t.Fatalf("namespace %d message wrapped for %d devices, want %d", tc.ns, n, tc.devices)
		}
	}
	devs, err := a1.PeerDevices(b1.Account())
	if err != nil || len(devs) != 2 {
		t.Fatalf("alice knows %d of bob's devices (%v), want 2", len(devs), err)
	}
	announced := 0
	for len(events) > 0 {
		if e := <-events; e.Kind == EventNewKeyDevice {
			announced++
		}
	}
	// Bob's two devices and alice's other one.
	if announced != 3 {
		t.Fatalf("%d new devices announced, want 3", announced)
	}
}

// TestV1Refused: a v1 message between hush clients, injected into the
// inbox or replayed, is dropped, counted and reported, never stored.
func TestV1Refused(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	events, stop := bob.Subscribe(4)
	defer stop()
	content, _ := envelope.MarshalContent(&envelope.Content{
		MessageId: make([]byte, 16), SentAtMs: uint64(alice.now().UnixMilli()),
		Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: "downgraded"}},
	})
	env, err := v1{alice.acct}.seal(ctx, bob.Account(), envelope.Pad(content), envelope.CoarseTimestamp(alice.now()))
	if err != nil {
		t.Fatal(err)
	}
	data := env.data
	if _, err := alice.store(ctx, bob.Account(), NamespaceInbox, time.Hour, data); err != nil {
		t.Fatal(err)
	}
	got, err := bob.Poll(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("poll stored %d messages (%v), want none", len(got), err)
	}
	if bob.Stats().Dropped != 1 {
		t.Fatalf("dropped %d, want 1", bob.Stats().Dropped)
	}
	var e Event
	for e = range events {
		if e.Kind == EventDropped {
			break
		}
	}
	if !errors.Is(e.Err, ErrV1Refused) || !errors.Is(e.Err, ErrDropped) {
		t.Fatalf("event %v, want a drop for v1", e.Err)
	}
	if h, _ := bob.History(alice.Account()); len(h) != 0 {
		t.Fatalf("the v1 message is in the history: %+v", h)
	}
}

// withholding is a Transport whose nodes answer every read of the key
// namespace with nothing, as a malicious swarm could.
type withholding struct {
	Transport
	on atomic.Bool
}

func (w *withholding) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	if w.on.Load() && bytes.Contains(body, []byte(`"method":"retrieve"`)) && bytes.Contains(body, []byte(`"namespace":7`)) {
		return 200, []byte(`{"messages":[],"more":false,"t":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`), nil
	}
	return w.Transport.Do(ctx, n, body)
}

// TestWithholdingNode: when the recipient's records are withheld, the
// message waits for keys (queued, no copy of any kind in the recipient's
// swarm), and goes out sealed with v2 once records can be read.
func TestWithholdingNode(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	w := &withholding{Transport: NewDirectTransport()}
	w.on.Store(true)
	alice := openV2(t, newHome(t), Options{Standalone: nd, Transport: w})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	m, err := alice.Send(ctx, bob.Account(), "patience")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "queued" {
		t.Fatalf("status %s, want queued while waiting for keys", m.Status)
	}
	if waiting, why, err := alice.WaitingForKeys(bob.Account()); err != nil || !waiting || why == "" {
		t.Fatalf("waiting for keys: %v %q %v", waiting, why, err)
	}
	if msgs, err := bob.retrieve(ctx, standaloneNode(t, bob), NamespaceInbox, time.Time{}, ""); err != nil || len(msgs) != 0 {
		t.Fatalf("bob's inbox holds %d messages (%v) while his keys are withheld", len(msgs), err)
	}
	w.on.Store(false)
	if _, err := alice.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := alice.Message(m.ID); m.Status != "sent" {
		t.Fatalf("status %s after the keys came back, want sent", m.Status)
	}
	if waiting, _, _ := alice.WaitingForKeys(bob.Account()); waiting {
		t.Fatal("still waiting for keys")
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 1 || got[0].Text != "patience" {
		t.Fatalf("bob polled %+v, %v", got, err)
	}
}

// TestV2EpochBoundary: a message sealed in the last millisecond of an
// epoch opens in the next epoch with the previous epoch's key, until that
// key's deadline; after the prune it can never be opened.
func TestV2EpochBoundary(t *testing.T) {
	var now atomic.Int64
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	e := prekey.EpochOf(time.Now())
	now.Store(prekey.EpochStart(e).UnixMilli())
	bob := openV2(t, newHome(t), Options{Clock: clock})
	alice := openV2(t, newHome(t), Options{Clock: clock})
	sealedAt := prekey.EpochEnd(e).Add(-time.Millisecond)
	content, _ := envelope.MarshalContent(&envelope.Content{
		MessageId: make([]byte, 16), SentAtMs: uint64(sealedAt.UnixMilli()),
		Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: "late in the day"}},
	})
	data := sealV2(t, alice, bob, content, sealedAt)
	env, _ := envelope.UnmarshalEnvelope(data)
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"next epoch", prekey.EpochEnd(e).Add(time.Hour), nil},
		{"just before the deadline", prekey.DeleteAfter(prekey.Inbox, e).Add(-time.Second), nil},
		{"at the deadline", prekey.DeleteAfter(prekey.Inbox, e), sealv2.ErrNoKeyForEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now.Store(tc.at.UnixMilli())
			if _, err := bob.PrunePrekeys(); err != nil {
				t.Fatal(err)
			}
			_, sender, _, err := bob.seal.open(env.GetType(), env.GetContent())
			if !errors.Is(err, tc.want) {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
			if err == nil && !sender.Equal(alice.Account()) {
				t.Fatalf("sender %s", sender)
			}
		})
	}
	// The clock going back does not bring the key back.
	now.Store(prekey.EpochEnd(e).Add(time.Hour).UnixMilli())
	if _, _, _, err := bob.seal.open(env.GetType(), env.GetContent()); !errors.Is(err, sealv2.ErrNoKeyForEpoch) {
		t.Fatalf("after the prune and a clock step back: %v", err)
	}
}

// TestDevnetV2: protocol v2 end to end on a devnet through onion paths:
// records published to replicating swarms, read unsigned by the sender
// through a path, the message sealed to them and opened.
func TestDevnetV2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Network: d.Network()})
	bob := openV2(t, newHome(t), Options{Network: d.Network()})
	// The devnet may still be reshaping swarms when the homes open:
	// publishing again is what the next command would do.
	for _, c := range []*Client{alice, bob} {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	m, err := alice.Send(ctx, bob.Account(), "through the onion, sealed with v2")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; m.Status != "sent"; i++ {
		if i == 20 {
			w, why, _ := alice.WaitingForKeys(bob.Account())
			t.Fatalf("status %s after %d flushes (waiting for keys %v: %s)", m.Status, i, w, why)
		}
		alice.FlushOutbox(ctx)
		m, _ = alice.Message(m.ID)
	}
	var got []Message
	for i := 0; len(got) == 0; i++ {
		if i == 20 {
			t.Fatalf("bob received nothing after %d polls (dropped %d)", i, bob.Stats().Dropped)
		}
		got, _ = bob.Poll(ctx)
	}
	if len(got) != 1 || got[0].Text != "through the onion, sealed with v2" || bob.Stats().Dropped != 0 {
		t.Fatalf("bob polled %+v, dropped %d", got, bob.Stats().Dropped)
	}
}

// TestV2Replay: a v2 message stored again under a new envelope (another
// hash, so the node and the seen-hash table let it through) opens to the
// same signed message ID and is not stored twice.
func TestV2Replay(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	if _, err := alice.Send(ctx, bob.Account(), "only once"); err != nil {
		t.Fatal(err)
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 1 {
		t.Fatalf("first poll: %d, %v", len(got), err)
	}
	msgs, err := bob.retrieve(ctx, standaloneNode(t, bob), NamespaceInbox, time.Time{}, "")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("inbox: %d, %v", len(msgs), err)
	}
	data, _ := base64.StdEncoding.DecodeString(msgs[0].Data)
	env, _ := envelope.UnmarshalEnvelope(data)
	replayed, _ := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: env.GetType(), CoarseTimestampS: env.GetCoarseTimestampS() + 3600, Content: env.GetContent(),
	})
	if _, err := alice.store(ctx, bob.Account(), NamespaceInbox, time.Hour, replayed); err != nil {
		t.Fatal(err)
	}
	if again, _ := bob.retrieve(ctx, standaloneNode(t, bob), NamespaceInbox, time.Time{}, ""); len(again) != 2 {
		t.Fatalf("the replay is not a second swarm message: %d", len(again))
	}
	if got, err := bob.Poll(ctx); err != nil || len(got) != 0 || bob.Stats().Dropped != 0 {
		t.Fatalf("after the replay: %d new messages, %d dropped, %v", len(got), bob.Stats().Dropped, err)
	}
	if h, _ := bob.History(alice.Account()); len(h) != 1 {
		t.Fatalf("history holds %d messages, want 1", len(h))
	}
}

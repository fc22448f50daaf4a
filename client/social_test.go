package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// fakeClock is an injectable local clock that tests move forward instead
// of sleeping. Signatures stay valid: the client corrects its clock to the
// node's from every answer, while deadlines use the local clock.
type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.off)
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.off += d
	f.mu.Unlock()
}

// pair is two accounts on one standalone node, reopened at will (a
// client restart) on the same homes and clock.
type pair struct {
	t              *testing.T
	nd             *snapshot.Node
	clock          *fakeClock
	aHome, bHome   string
	alice, bob     *Client
	aliceID, bobID identity.AccountID
	ctx            context.Context
}

func newPair(t *testing.T) *pair {
	p := &pair{t: t, nd: startStandalone(t), clock: &fakeClock{}, aHome: newHome(t), bHome: newHome(t), ctx: context.Background()}
	p.restart()
	p.aliceID, p.bobID = p.alice.Account(), p.bob.Account()
	return p
}

func (p *pair) restart() {
	if p.alice != nil {
		p.alice.Close()
		p.bob.Close()
	}
	o := Options{Standalone: p.nd, Clock: p.clock.Now}
	p.alice, p.bob = open(p.t, p.aHome, o), open(p.t, p.bHome, o)
}

func (p *pair) sync(cs ...*Client) {
	p.t.Helper()
	for _, c := range cs {
		if _, err := c.Sync(p.ctx); err != nil {
			p.t.Fatalf("sync: %v", err)
		}
	}
}

func (p *pair) send(c *Client, to identity.AccountID, text string) Message {
	p.t.Helper()
	m, err := c.Send(p.ctx, to, text)
	if err != nil || m.Status != "sent" {
		p.t.Fatalf("send: %+v, %v", m, err)
	}
	return m
}

// read is what `hush receive` does: poll, take the unread, flush.
func (p *pair) read(c *Client) []Message {
	p.t.Helper()
	p.sync(c)
	ms, err := c.TakeUnread()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := c.Flush(p.ctx); err != nil {
		p.t.Fatal(err)
	}
	return ms
}

// swarm returns the hashes and expiries in c's own namespace ns.
func (p *pair) swarm(c *Client, ns int32) map[string]time.Time {
	p.t.Helper()
	msgs, err := c.retrieve(p.ctx, standaloneNode(p.t, c), ns, time.Time{}, "")
	if err != nil {
		p.t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, m := range msgs {
		out[m.Hash] = time.UnixMilli(m.Expiration)
	}
	return out
}

// hashes returns the swarm hashes recorded for message m.
func hashes(t *testing.T, c *Client, m Message) []string {
	t.Helper()
	dm, err := c.db.Message(clientdb.LocalID(m.ID))
	if err != nil || len(dm.SwarmHashes) == 0 {
		t.Fatalf("hashes of %d: %+v, %v", m.ID, dm, err)
	}
	return dm.SwarmHashes
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func texts(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func TestRequestsAcceptBlock(t *testing.T) {
	p := newPair(t)
	if err := p.alice.SetProfileName("Alice A"); err != nil {
		t.Fatal(err)
	}
	p.send(p.alice, p.bobID, "first")
	got := p.read(p.bob)
	if len(got) != 1 || !got[0].Request || got[0].DisplayName != "Alice A" {
		t.Fatalf("first message from an unknown account: %+v", got)
	}
	if rs, _ := p.bob.Requests(); len(rs) != 1 || rs[0].Peer != p.aliceID || rs[0].DisplayName != "Alice A" {
		t.Fatalf("requests: %+v", rs)
	}
	if cs, _ := p.bob.Conversations(); len(cs) != 0 {
		t.Fatalf("a request among the chats: %+v", cs)
	}
	// A display name never addresses anyone.
	if _, err := p.bob.Resolve("Alice A"); !errors.Is(err, ErrUnknownContact) {
		t.Fatalf("Resolve by display name: %v", err)
	}
	// The writer's side is no request: writing accepts.
	if rs, _ := p.alice.Requests(); len(rs) != 0 {
		t.Fatalf("alice's requests: %+v", rs)
	}
	if err := p.bob.Accept(p.aliceID); err != nil {
		t.Fatal(err)
	}
	if rs, _ := p.bob.Requests(); len(rs) != 0 {
		t.Fatalf("requests after accept: %+v", rs)
	}
	if cs, _ := p.bob.Conversations(); len(cs) != 1 || cs[0].DisplayName != "Alice A" {
		t.Fatalf("chats after accept: %+v", cs)
	}

	if err := p.bob.Block(p.aliceID); err != nil {
		t.Fatal(err)
	}
	p.send(p.alice, p.bobID, "while blocked")
	inbox := p.swarm(p.bob, NamespaceInbox)
	if got := p.read(p.bob); len(got) != 0 {
		t.Fatalf("a blocked account's message arrived: %+v", got)
	}
	after := p.swarm(p.bob, NamespaceInbox)
	if len(after) != len(inbox)-1 {
		t.Fatalf("inbox holds %d copies after the blocked message was dropped, want %d", len(after), len(inbox)-1)
	}
	if err := p.bob.Unblock(p.aliceID); err != nil {
		t.Fatal(err)
	}
	p.send(p.alice, p.bobID, "after unblock")
	if got := p.read(p.bob); !slices.Equal(texts(got), []string{"after unblock"}) || got[0].Request {
		t.Fatalf("after unblock: %+v", got)
	}

	// Refusing a request: gone, and a later message is a new request.
	carol := open(t, newHome(t), Options{Standalone: p.nd, Clock: p.clock.Now})
	p.send(carol, p.bobID, "hi from carol")
	p.read(p.bob)
	if n, err := p.bob.DeleteRequest(p.ctx, carol.Account()); err != nil || n != 1 {
		t.Fatalf("DeleteRequest: %d, %v", n, err)
	}
	if rs, _ := p.bob.Requests(); len(rs) != 0 {
		t.Fatalf("requests after delete: %+v", rs)
	}
	if _, err := p.bob.DeleteRequest(p.ctx, p.aliceID); !errors.Is(err, ErrNotRequest) {
		t.Fatalf("DeleteRequest of an accepted contact: %v", err)
	}
}

func TestReceipts(t *testing.T) {
	p := newPair(t)
	p.send(p.bob, p.aliceID, "hello") // bob accepted alice by writing
	p.read(p.alice)
	m := p.send(p.alice, p.bobID, "receipts are off")
	p.read(p.bob)
	p.sync(p.alice)
	if got, _ := p.alice.Message(m.ID); got.Status != "sent" {
		t.Fatalf("with receipts off: %s", got.Status)
	}
	if err := p.bob.SetReceipts(true); err != nil {
		t.Fatal(err)
	}
	m = p.send(p.alice, p.bobID, "receipts are on")
	p.sync(p.bob)
	p.sync(p.alice)
	if got, _ := p.alice.Message(m.ID); got.Status != "delivered" {
		t.Fatalf("after delivery: %s", got.Status)
	}
	p.read(p.bob)
	p.sync(p.alice)
	if got, _ := p.alice.Message(m.ID); got.Status != "read" {
		t.Fatalf("after reading: %s", got.Status)
	}
}

func TestUnsend(t *testing.T) {
	p := newPair(t)
	m := p.send(p.alice, p.bobID, "oops")
	keep := p.send(p.alice, p.bobID, "keep")
	got := p.read(p.bob)
	if len(got) != 2 {
		t.Fatalf("bob got %+v", got)
	}
	bobCopy := hashes(t, p.bob, got[0])
	aliceCopy := hashes(t, p.alice, m)
	if err := p.bob.Unsend(p.ctx, p.aliceID, m.MessageID); !errors.Is(err, clientdb.ErrNotFound) {
		t.Fatalf("unsending someone else's message: %v", err)
	}
	if err := p.alice.Unsend(p.ctx, p.bobID, m.MessageID); err != nil {
		t.Fatal(err)
	}
	p.sync(p.bob)
	for _, c := range []*Client{p.alice, p.bob} {
		h, err := c.History(map[*Client]identity.AccountID{p.alice: p.bobID, p.bob: p.aliceID}[c])
		if err != nil || !slices.Equal(texts(h), []string{"keep"}) {
			t.Fatalf("history after unsend: %v, %v", texts(h), err)
		}
	}
	for _, tc := range []struct {
		name   string
		c      *Client
		ns     int32
		hashes []string
	}{{"bob's inbox", p.bob, NamespaceInbox, bobCopy}, {"alice's sync copy", p.alice, NamespaceSync, aliceCopy}} {
		sw := p.swarm(tc.c, tc.ns)
		for _, h := range tc.hashes {
			if _, ok := sw[h]; ok {
				t.Fatalf("%s still holds the unsent message", tc.name)
			}
		}
	}
	// A request naming alice's message but sealed by bob is dropped.
	var raw clientdb.MessageID
	copy(raw[:], mustHex(t, keep.MessageID))
	forged := &envelope.Content{Body: &envelope.Content_Unsend{Unsend: &envelope.UnsendRequest{Author: p.aliceID[:], MessageId: raw[:]}}}
	before := p.bob.Stats().Dropped
	if err := p.bob.queueControl(p.bobID, NamespaceInbox, InboxTTL, forged); err != nil {
		t.Fatal(err)
	}
	p.sync(p.bob)
	if p.bob.Stats().Dropped == before {
		t.Fatal("an unsend request for another account's message was not dropped")
	}
	if h, _ := p.bob.History(p.aliceID); !slices.Equal(texts(h), []string{"keep"}) {
		t.Fatalf("a forged unsend deleted: %v", texts(h))
	}
}

// TestDisappearing: both modes delete the message on both sides and its
// copies in both swarms, across a restart of both clients, with the
// clock moved forward instead of waited for.
func TestDisappearing(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode string
	}{{"after send", DisappearAfterSend}, {"after read", DisappearAfterRead}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			for _, c := range []*Client{p.alice, p.bob} {
				if err := c.SetReceipts(true); err != nil {
					t.Fatal(err)
				}
			}
			p.send(p.bob, p.aliceID, "hi") // both accepted
			p.read(p.alice)
			timer, err := p.alice.SetTimer(p.ctx, p.bobID, tc.mode, time.Hour)
			if err != nil || timer.Mode != tc.mode || timer.ChangedBy != p.aliceID {
				t.Fatalf("SetTimer: %+v, %v", timer, err)
			}
			m := p.send(p.alice, p.bobID, "vanishing")
			p.clock.Advance(10 * time.Minute) // bob reads later
			got := p.read(p.bob)
			if len(got) != 1 || got[0].Disappearing != tc.mode {
				t.Fatalf("bob got %+v", got)
			}
			// Both sides agree, and see who changed it.
			if bt, _ := p.bob.Timer(p.aliceID); bt.Mode != tc.mode || bt.After != time.Hour || bt.ChangedBy != p.aliceID {
				t.Fatalf("bob's setting: %+v", bt)
			}
			p.sync(p.alice)
			bobCopies, aliceCopies := hashes(t, p.bob, got[0]), hashes(t, p.alice, m)
			if tc.mode == DisappearAfterRead {
				// The reader shortened its copy to read + timer; the sender
				// learnt the read time from the receipt.
				for _, h := range bobCopies {
					if exp := p.swarm(p.bob, NamespaceInbox)[h]; exp.After(time.Now().Add(2 * time.Hour)) {
						t.Fatalf("bob's copy still expires at %v", exp)
					}
				}
				am, _ := p.alice.Message(m.ID)
				if am.Status != "read" || am.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
					t.Fatalf("alice's message after the read receipt: %+v", am)
				}
			}
			p.clock.Advance(59 * time.Minute)
			p.restart()
			p.sync(p.alice, p.bob)
			if tc.mode == DisappearAfterRead {
				// Read 10 minutes after sending: bob's deadline is later.
				if h, _ := p.bob.History(p.aliceID); !slices.Contains(texts(h), "vanishing") {
					t.Fatalf("bob's copy went before read + timer: %v", texts(h))
				}
			}
			p.clock.Advance(11 * time.Minute)
			p.restart()
			p.sync(p.alice, p.bob)
			for _, c := range []struct {
				c      *Client
				peer   identity.AccountID
				ns     int32
				copies []string
			}{{p.alice, p.bobID, NamespaceSync, aliceCopies}, {p.bob, p.aliceID, NamespaceInbox, bobCopies}} {
				h, err := c.c.History(c.peer)
				if err != nil || slices.Contains(texts(h), "vanishing") {
					t.Fatalf("after the deadline: %v, %v", texts(h), err)
				}
				sw := p.swarm(c.c, c.ns)
				for _, x := range c.copies {
					if _, ok := sw[x]; ok {
						t.Fatalf("a swarm copy outlived the deadline")
					}
				}
			}
		})
	}
}

// TestTimerChanges: a change names its author, who must be its sender;
// a message written before the last change does not undo it.
func TestTimerChanges(t *testing.T) {
	p := newPair(t)
	p.send(p.alice, p.bobID, "hi")
	p.read(p.bob)
	if tm, _ := p.bob.Timer(p.aliceID); tm.Mode != DisappearOff || !tm.ChangedBy.IsZero() {
		t.Fatalf("no one changed the setting yet: %+v", tm)
	}
	// Bob claims alice changed it: dropped.
	x := toWire(clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: time.Minute})
	x.ChangedBy = p.aliceID[:]
	if err := p.bob.queueControl(p.aliceID, NamespaceInbox, InboxTTL, &envelope.Content{Body: &envelope.Content_ExpirationSettings{ExpirationSettings: x}}); err != nil {
		t.Fatal(err)
	}
	p.bob.FlushOutbox(p.ctx)
	before := p.alice.Stats().Dropped
	p.sync(p.alice)
	if tm, _ := p.alice.Timer(p.bobID); tm.Mode != DisappearOff || p.alice.Stats().Dropped == before {
		t.Fatalf("a change on behalf of another account was applied: %+v", tm)
	}
	// Bob's message queued before alice's change arrives after it.
	if _, err := p.bob.Queue(p.aliceID, "written before the change"); err != nil {
		t.Fatal(err)
	}
	// "Before" is by signed time, and each client signs with its own
	// estimate of the network's time: under load two estimates differ
	// by more than the moment between these calls (bob's message once
	// signed after alice's change and won, correctly). Ten seconds
	// apart, the order is the one the test means.
	p.clock.Advance(10 * time.Second)
	if _, err := p.alice.SetTimer(p.ctx, p.bobID, DisappearAfterRead, time.Hour); err != nil {
		t.Fatal(err)
	}
	p.bob.FlushOutbox(p.ctx)
	p.sync(p.alice, p.bob)
	for _, c := range []struct {
		c    *Client
		peer identity.AccountID
	}{{p.alice, p.bobID}, {p.bob, p.aliceID}} {
		if tm, _ := c.c.Timer(c.peer); tm.Mode != DisappearAfterRead || tm.ChangedBy != p.aliceID {
			t.Fatalf("setting after a stale message: %+v", tm)
		}
	}
}

// TestTimerSetWhileAdopting: the user sets a conversation's timer while
// the receive loop adopts the older setting a peer's message carries
// (the daemon receives beside user actions). The user's change, the
// later one, stays; before timerMu the adoption, checked against the
// record before the user's change, wrote the peer's setting over it and
// the user's next message went without the timer.
func TestTimerSetWhileAdopting(t *testing.T) {
	p := newPair(t)
	if err := p.bob.SetDisappearAfterSend(p.aliceID, time.Minute); err != nil {
		t.Fatal(err)
	}
	p.send(p.bob, p.aliceID, "carries bob's minute") // signed before alice's change

	done := make(chan error, 1)
	waiting := make(chan struct{})
	var once sync.Once
	p.alice.timerTestHook = func(at string) {
		switch at {
		case "lock":
			once.Do(func() { close(waiting) })
		case "adopt": // between the adoption's check and its write
			go func() {
				_, err := p.alice.SetTimer(p.ctx, p.bobID, DisappearAfterRead, time.Hour)
				done <- err
			}()
			select {
			case err := <-done: // SetTimer ran inside the window
				done <- err
			case <-waiting: // SetTimer waits for the adoption to end
			}
		}
	}
	p.sync(p.alice)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.alice.timerTestHook = nil
	if tm, err := p.alice.Timer(p.bobID); err != nil || tm.Mode != DisappearAfterRead || tm.After != time.Hour || tm.ChangedBy != p.aliceID {
		t.Fatalf("alice's timer after her change raced bob's older one: %+v (%v), want her after-read hour", tm, err)
	}
}

// FuzzControl feeds Content a peer sealed (so it passes the seal, as a
// malicious contact's would) to the receive path: receipts, unsend
// requests and timer changes with any fields must never panic, fail with
// anything but a drop, or touch the user's messages to someone else.
func FuzzControl(f *testing.F) {
	c := open(f, newHome(f), Options{})
	peer := open(f, newHome(f), Options{})
	other := open(f, newHome(f), Options{})
	self, pid := c.Account(), peer.Account()
	// A message the user sent to another account: no peer may touch it.
	mine, err := c.Queue(other.Account(), "not yours")
	if err != nil {
		f.Fatal(err)
	}
	mineMsg, _ := c.Message(mine)
	mid := mustHex(f, mineMsg.MessageID)
	now := time.Now()
	seeds := []*envelope.Content{
		{Body: &envelope.Content_Receipt{Receipt: &envelope.ReceiptMessage{Type: envelope.ReceiptMessage_TYPE_READ, MessageIds: [][]byte{mid}}}},
		{Body: &envelope.Content_Unsend{Unsend: &envelope.UnsendRequest{Author: self[:], MessageId: mid}}},
		{Body: &envelope.Content_Unsend{Unsend: &envelope.UnsendRequest{Author: pid[:], MessageId: mid}}},
		{Body: &envelope.Content_ExpirationSettings{ExpirationSettings: &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_READ, Seconds: 5, ChangedBy: pid[:]}}},
		{Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: "x", Profile: &envelope.Profile{DisplayName: "Mallory"},
			Expiration: &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_SEND, Seconds: 1}}}},
	}
	for i, s := range seeds {
		s.MessageId, s.SentAtMs = append(make([]byte, 15), byte(i)), uint64(now.UnixMilli())
		b, err := envelope.MarshalContent(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		data, err := unsealedPayload(content, now)
		if err != nil {
			return
		}
		m := rpc.Message{Hash: rpc.MessageHash(self, NamespaceInbox, data), Timestamp: now.UnixMilli(),
			Expiration: now.Add(time.Hour).UnixMilli(), Data: base64.StdEncoding.EncodeToString(data)}
		if _, err := c.accept(NamespaceInbox, m); err != nil && !errors.Is(err, ErrDropped) {
			t.Fatalf("accept failed with a non-drop error: %v", err)
		}
		got, err := c.Message(mine)
		if err != nil || got.Status != mineMsg.Status {
			t.Fatalf("a peer touched a message sent to another account: %+v, %v", got, err)
		}
	})
}

// TestUnsendOtherDevice: the sender's other devices drop an unsent
// message too.
func TestUnsendOtherDevice(t *testing.T) {
	nd := startStandalone(t)
	seed := identity.NewSeed()
	var homes [2]string
	for i := range homes {
		homes[i] = t.TempDir()
		if _, err := keystore.Create(filepath.Join(homes[i], keyFile), seed, []byte(testPass), keystore.TestParams, false); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2 := open(t, homes[0], Options{Standalone: nd}), open(t, homes[1], Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	m, err := a1.Send(ctx, bob.Account(), "second thoughts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := a2.History(bob.Account()); !slices.Equal(texts(h), []string{"second thoughts"}) {
		t.Fatalf("the other device lacks the sync copy: %v", texts(h))
	}
	if err := a1.Unsend(ctx, bob.Account(), m.MessageID); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := a2.History(bob.Account()); len(h) != 0 {
		t.Fatalf("the other device still shows it: %v", texts(h))
	}
}

// TestWrittenIsNoRequest: a conversation the user wrote in, from a home
// older than requests (no accepted contact), is a chat, not a request.
func TestWrittenIsNoRequest(t *testing.T) {
	c := open(t, newHome(t), Options{})
	peer := open(t, newHome(t), Options{}).Account()
	now := time.Now()
	for i, dir := range []clientdb.Direction{clientdb.Incoming, clientdb.Outgoing} {
		sender := peer
		if dir == clientdb.Outgoing {
			sender = c.Account()
		}
		_, _, err := c.db.InsertMessage(peer, clientdb.Message{MessageID: clientdb.MessageID{byte(i + 1)}, Direction: dir,
			Sender: sender, SentAt: now, ReceivedAt: now, Body: "old"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := c.Requests(); err != nil || len(rs) != 0 {
		t.Fatalf("requests: %+v, %v", rs, err)
	}
	if cs, err := c.Conversations(); err != nil || len(cs) != 1 {
		t.Fatalf("chats: %+v, %v", cs, err)
	}
	if h, _ := c.History(peer); len(h) != 2 || h[0].Request {
		t.Fatalf("history: %+v", h)
	}
}

// TestDeleteMessage: deleting one message for me removes it here at once
// (raising EventUnsent), its copy in the own swarm when the network is
// back, and it comes back neither on the next Sync nor on the account's
// other device; the rest of the chat stays. Unknown and already deleted
// IDs are ErrNotFound.
func TestDeleteMessage(t *testing.T) {
	nd := startStandalone(t)
	seed := identity.NewSeed()
	var homes [2]string
	for i := range homes {
		homes[i] = t.TempDir()
		if _, err := keystore.Create(filepath.Join(homes[i], keyFile), seed, []byte(testPass), keystore.TestParams, false); err != nil {
			t.Fatal(err)
		}
	}
	sw := &switchable{Transport: NewDirectTransport()}
	b1 := open(t, homes[0], Options{Standalone: nd, Transport: sw})
	// Opened now, synced only after the deletion: a new device does not
	// fetch what was sent before it existed.
	b2 := open(t, homes[1], Options{Standalone: nd})
	alice := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	send := func(from *Client, to identity.AccountID, text string) Message {
		t.Helper()
		m, err := from.Send(ctx, to, text)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	send(alice, b1.Account(), "in-keep")
	send(alice, b1.Account(), "in-drop")
	send(b1, alice.Account(), "out-keep")
	outDrop := send(b1, alice.Account(), "out-drop")
	if _, err := b1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := b1.History(alice.Account())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(h, func(m Message) bool { return m.Text == "in-drop" })
	if len(h) != 4 || i < 0 {
		t.Fatalf("bob's history before: %v", texts(h))
	}
	inDrop := h[i]
	own := func(ns int32) int {
		msgs, err := b1.retrieve(ctx, standaloneNode(t, b1), ns, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	if in, sync := own(NamespaceInbox), own(NamespaceSync); in != 2 || sync != 2 {
		t.Fatalf("bob's swarm holds %d inbox and %d sync copies, want 2 and 2", in, sync)
	}
	ev, stop := b1.Subscribe(16)
	defer stop()

	// Offline: the local deletion is done at once, the swarm's copies
	// wait for the network.
	sw.down.Store(true)
	for _, tc := range []struct {
		name string
		id   int64
		want error
	}{
		{"incoming", inDrop.ID, ErrUnreachable},
		{"outgoing", outDrop.ID, ErrUnreachable},
		{"already deleted", inDrop.ID, ErrNotFound},
		{"unknown", outDrop.ID + 1000, ErrNotFound},
		{"zero", 0, ErrNotFound},
		{"negative", -1, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := b1.DeleteMessage(ctx, tc.id); !errors.Is(err, tc.want) {
				t.Fatalf("DeleteMessage(%d): %v, want %v", tc.id, err, tc.want)
			}
			if _, err := b1.Message(tc.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("message %d is still there: %v", tc.id, err)
			}
		})
	}
	got := ofKind(drain(ev), EventUnsent)
	if len(got) != 2 || got[0].Message.ID != inDrop.ID || got[0].Message.MessageID != inDrop.MessageID ||
		got[1].Message.ID != outDrop.ID || !got[1].Message.Peer.Equal(alice.Account()) {
		t.Fatalf("EventUnsent: %+v", got)
	}

	sw.down.Store(false)
	if _, err := b1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"in-keep", "out-keep"}
	if h, _ := b1.History(alice.Account()); !slices.Equal(sorted(texts(h)), want) {
		t.Fatalf("bob's history after Sync: %v, want %v", texts(h), want)
	}
	if in, sync := own(NamespaceInbox), own(NamespaceSync); in != 1 || sync != 1 {
		t.Fatalf("after the delete bob's swarm holds %d inbox and %d sync copies, want 1 and 1", in, sync)
	}

	// A device that had not synced yet finds neither.
	if _, err := b2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h, _ = b2.History(alice.Account())
	if got := texts(h); slices.Contains(got, "in-drop") || slices.Contains(got, "out-drop") || !slices.Contains(got, "out-keep") {
		t.Fatalf("the other device's history: %v", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// homeFromSeed creates a home for the account of seed, as `hush init
// --restore` does.
func homeFromSeed(t testing.TB, seed identity.Seed) string {
	t.Helper()
	home := t.TempDir()
	if _, err := (&Home{dir: home}).Restore(identity.Phrase(seed), []byte(testPass), InsecureTestKDF()); err != nil {
		t.Fatal(err)
	}
	return home
}

func mustSync(t testing.TB, c *Client) {
	t.Helper()
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func historyByText(t testing.TB, c *Client, peer identity.AccountID) map[string]Message {
	t.Helper()
	h, err := c.History(peer)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Message{}
	for _, x := range h {
		m[x.Text] = x
	}
	return m
}

// TestMultiDevice restores a second home from the first one's seed against
// a real standalone node: config arrives, history sealed before the new
// device existed does not (protocol v2) until the first device shares it,
// the first device is told of the second, and later messages and config
// changes reach both.
func TestMultiDevice(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	// Bob writes to alice's second device a moment after it appeared,
	// before his record cache would refresh.
	fetchEachSend(bob)
	carol := open(t, newHome(t), Options{Standalone: nd})

	if err := a1.AddContact(bob.Account(), "Bobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, bob.Account(), "hello bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, a1.Account(), "hi alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Send(ctx, a1.Account(), "carol here"); err != nil {
		t.Fatal(err)
	}
	dave := open(t, newHome(t), Options{Standalone: nd})
	if _, err := dave.Send(ctx, a1.Account(), "a stranger writes"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	if _, err := a1.TakeUnread(); err != nil { // alice reads bob's and carol's messages here
		t.Fatal(err)
	}
	d := clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: time.Hour}
	if err := a1.db.SetDisappearing(bob.Account(), d, time.Now()); err != nil {
		t.Fatal(err)
	}
	ct, err := a1.db.ContactByAccount(carol.Account())
	if err != nil {
		ct = clientdb.Contact{Account: carol.Account()}
	}
	ct.Blocked = true
	if err := a1.db.UpsertContact(ct, time.Now()); err != nil {
		t.Fatal(err)
	}
	events, stop := a1.Subscribe(16)
	defer stop()
	mustSync(t, a1) // publishes the config

	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	if a2.ThisDevice() == a1.ThisDevice() {
		t.Fatal("two homes share a device ID")
	}
	mustSync(t, a2)

	t.Run("config arrives", func(t *testing.T) {
		got, err := a2.db.ContactByAccount(bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		if got.Nickname != "Bobby" || !got.Accepted || got.Blocked {
			t.Fatalf("bob on the new device: %+v, want nickname Bobby, accepted", got)
		}
		if got, err := a2.db.ContactByAccount(carol.Account()); err != nil || !got.Blocked {
			t.Fatalf("carol on the new device: %+v, %v; want blocked", got, err)
		}
		cv, err := a2.db.Conversation(bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		if cv.Disappearing != d {
			t.Fatalf("disappearing %+v, want %+v", cv.Disappearing, d)
		}
		if cv.Unread != 0 {
			t.Fatalf("%d unread messages from bob; the first device read them", cv.Unread)
		}
		// Known contacts are no requests on the new device. The stranger's
		// message was sealed before the device existed (protocol v2), so
		// it is no request here either: it reaches the device only if a
		// live device shares the history.
		reqs, err := a2.Requests()
		if err != nil {
			t.Fatal(err)
		}
		if len(reqs) != 0 {
			t.Fatalf("requests on the new device: %+v, want none", reqs)
		}
	})
	t.Run("history sealed before the device stays unreadable", func(t *testing.T) {
		// Protocol v2's forward secrecy: the new device holds no prekey
		// the earlier messages were sealed to (DESIGN.md §5).
		if h := historyByText(t, a2, bob.Account()); len(h) != 0 {
			t.Fatalf("history %v on a device restored after it was sealed", h)
		}
		if a2.Stats().Dropped == 0 {
			t.Fatal("the earlier copies were not reported as unreadable")
		}
	})
	t.Run("a live device shares the history", func(t *testing.T) {
		if n, err := a1.ShareHistory(ctx, nil); err != nil || n == 0 {
			t.Fatalf("shared %d messages, %v", n, err)
		}
		mustSync(t, a2)
		h := historyByText(t, a2, bob.Account())
		if len(h) != 2 || !h["hello bob"].Outgoing || h["hi alice"].Outgoing {
			t.Fatalf("history on the new device after the share: %v", h)
		}
		if h, err := a2.History(carol.Account()); err == nil && len(h) != 0 {
			t.Fatalf("a blocked contact's messages came with the share: %v", h)
		}
	})
	t.Run("devices", func(t *testing.T) {
		for _, c := range []*Client{a1, a2} {
			mustSync(t, c)
			ds, err := c.Devices()
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 2 {
				t.Fatalf("%d devices listed, want 2", len(ds))
			}
			this := 0
			for _, x := range ds {
				if x.This {
					this++
					if x.ID != c.ThisDevice() {
						t.Fatalf("device %v marked as this one, want %v", x.ID, c.ThisDevice())
					}
				}
			}
			if this != 1 {
				t.Fatalf("%d devices marked as this one", this)
			}
		}
		news, err := a1.TakeNewDevices()
		if err != nil || len(news) != 1 || news[0].ID != a2.ThisDevice() {
			t.Fatalf("first device's news: %+v, %v; want the second device", news, err)
		}
		if again, _ := a1.TakeNewDevices(); len(again) != 0 {
			t.Fatalf("news shown twice: %+v", again)
		}
		// The first device existed before the second: no news there.
		if news, _ := a2.TakeNewDevices(); len(news) != 0 {
			t.Fatalf("second device reports %+v as new", news)
		}
		for {
			select {
			case e := <-events:
				if e.Kind != EventNewDevice {
					continue
				}
				if e.Device.ID != a2.ThisDevice() {
					t.Fatalf("event names device %v, want %v", e.Device.ID, a2.ThisDevice())
				}
				return
			default:
				t.Fatal("no EventNewDevice on the first device")
			}
		}
	})
	t.Run("changes reach both", func(t *testing.T) {
		if err := a2.AddContact(bob.Account(), "Robert"); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, a1.Account(), "third"); err != nil {
			t.Fatal(err)
		}
		if _, err := a2.Send(ctx, bob.Account(), "from the second device"); err != nil {
			t.Fatal(err)
		}
		mustSync(t, a2)
		mustSync(t, a1)
		if got, err := a1.db.ContactByAccount(bob.Account()); err != nil || got.Nickname != "Robert" {
			t.Fatalf("bob on the first device: %+v, %v; want the nickname Robert", got, err)
		}
		for name, c := range map[string]*Client{"first": a1, "second": a2} {
			h := historyByText(t, c, bob.Account())
			if _, ok := h["third"]; !ok {
				t.Errorf("%s device lacks bob's new message", name)
			}
			if m, ok := h["from the second device"]; !ok || !m.Outgoing {
				t.Errorf("%s device lacks the second device's message", name)
			}
		}
		// Bob's message is unread on both until one reads it.
		if _, err := a1.TakeUnread(); err != nil {
			t.Fatal(err)
		}
		mustSync(t, a1)
		mustSync(t, a2)
		if cv, err := a2.db.Conversation(bob.Account()); err != nil || cv.Unread != 0 {
			t.Fatalf("second device: %d unread, %v; the first read everything", cv.Unread, err)
		}
	})
}

func TestMergeConfig(t *testing.T) {
	devA, devB := prekey.DeviceID{1}, prekey.DeviceID{2}
	entry := func(nick string, ms int64, dev prekey.DeviceID) contactEntry {
		return contactEntry{contactConfig{Nickname: nick}, stamp{ms, dev}}
	}
	const k = "bob"
	tests := []struct {
		name        string
		local, in   contactEntry
		want        string
		localRead   int64
		remoteRead  int64
		wantReadMax int64
	}{
		{"newer wins", entry("old", 1, devA), entry("new", 2, devA), "new", 5, 3, 5},
		{"older loses", entry("keep", 2, devA), entry("stale", 1, devB), "keep", 3, 5, 5},
		{"tie broken by device ID", entry("a", 7, devA), entry("b", 7, devB), "b", 0, 0, 0},
		{"tie broken by device ID, other order", entry("b", 7, devB), entry("a", 7, devA), "b", 0, 9, 9},
		{"absent locally", contactEntry{}, entry("x", 1, devA), "x", 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Both orders of merging must agree: the result may not depend
			// on which object a device saw first.
			for _, order := range [][2]contactEntry{{tt.local, tt.in}, {tt.in, tt.local}} {
				st := &configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{}}
				for i, e := range order {
					r := &configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{
						k: {ReadMS: [2]int64{tt.localRead, tt.remoteRead}[i]},
					}}
					if e != (contactEntry{}) {
						r.Contacts[k] = e
					}
					mergeConfig(st, r)
				}
				if got := st.Contacts[k].Nickname; got != tt.want {
					t.Fatalf("nickname %q, want %q", got, tt.want)
				}
				if got := st.Conversations[k].ReadMS; got != tt.wantReadMax {
					t.Fatalf("read up to %d, want %d", got, tt.wantReadMax)
				}
			}
		})
	}
}

// hookOnce is a Transport that runs fn, once, at the start of the next
// request after arm.
type hookOnce struct {
	Transport
	mu sync.Mutex
	fn func()
}

func (h *hookOnce) arm(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fn = fn
}

func (h *hookOnce) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	h.mu.Lock()
	fn := h.fn
	h.fn = nil
	h.mu.Unlock()
	if fn != nil {
		fn()
	}
	return h.Transport.Do(ctx, n, body)
}

// TestConfigSyncKeepsConcurrentChange: a setting the user changes while a
// config sync waits on the network for the account's config objects is
// neither undone by that sync (which merged an older state) nor lost: the
// next sync publishes it to the other device. The daemon syncs after
// every poll, so this window is open most of the time (it once sent a
// message without the timer the user had just set).
func TestConfigSyncKeepsConcurrentChange(t *testing.T) {
	nd := startStandalone(t)
	seed := identity.NewSeed()
	hk := &hookOnce{Transport: NewDirectTransport()}
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd, Transport: hk})
	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	bob := newAccountID(t)
	ctx := context.Background()
	syncConfig := func(c *Client) {
		t.Helper()
		members, err := c.dir.SwarmFor(ctx, c.acct.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.syncConfig(ctx, members); err != nil {
			t.Fatal(err)
		}
	}
	if err := a1.AddContact(bob, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.db.EnsureConversation(bob, time.Now()); err != nil {
		t.Fatal(err)
	}
	syncConfig(a1) // published: bob accepted, no nickname, timer off

	hour := clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: time.Hour}
	hk.arm(func() { // the user acts while the sync polls
		if err := a1.AddContact(bob, "Bob"); err != nil {
			t.Error(err)
		}
		if err := a1.db.SetDisappearing(bob, hour, time.Now()); err != nil {
			t.Error(err)
		}
	})
	syncConfig(a1)
	check := func(c *Client, who string) {
		t.Helper()
		ct, err := c.db.ContactByAccount(bob)
		if err != nil || ct.Nickname != "Bob" {
			t.Errorf("%s: nickname %q (%v), want Bob", who, ct.Nickname, err)
		}
		cv, err := c.db.Conversation(bob)
		if err != nil || cv.Disappearing != hour {
			t.Errorf("%s: timer %+v (%v), want %+v", who, cv.Disappearing, err, hour)
		}
	}
	check(a1, "the device where the user changed it, after the sync it raced")
	syncConfig(a1)
	syncConfig(a2)
	check(a2, "the other device")
}

func TestConfigSeal(t *testing.T) {
	seed := identity.NewSeed()
	c := open(t, homeFromSeed(t, seed), Options{})
	same := open(t, homeFromSeed(t, seed), Options{})
	other := open(t, newHome(t), Options{})
	st := configState{Contacts: map[string]contactEntry{
		other.Account().String(): {contactConfig{Nickname: "o", Accepted: true}, stamp{MS: 1}},
	}}
	plain, err := jsonMarshal(st)
	if err != nil {
		t.Fatal(err)
	}
	const kind = 2 // KIND_CONTACTS
	sealed, err := c.sealConfig(kind, 9, plain)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		reader *Client
		kind   int32
		seq    uint64
		ok     bool
	}{
		{"same seed, other home", same, kind, 9, true},
		{"another account", other, kind, 9, false},
		{"kind swapped", same, 3, 9, false},
		{"sequence changed", same, kind, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.reader.openConfig(configSync(tt.kind, tt.seq, sealed))
			if tt.ok != (err == nil) {
				t.Fatalf("open: %v, want success %v", err, tt.ok)
			}
			if tt.ok && got.Contacts[other.Account().String()].Nickname != "o" {
				t.Fatalf("opened %+v", got)
			}
		})
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func configSync(kind int32, seq uint64, sealed []byte) *envelope.ConfigSync {
	return &envelope.ConfigSync{Kind: envelope.ConfigSync_Kind(kind), Sequence: seq, Version: configVersion, SealedConfig: sealed}
}

// FuzzParseConfig feeds decrypted config objects: only the account's own
// devices can produce them, but a device with a bug or an older format must
// not make the others fail.
func FuzzParseConfig(f *testing.F) {
	id := identity.FromSeed(identity.Seed{1}).ID().String()
	f.Add(int32(2), []byte(`{"contacts":{"`+id+`":{"n":"bob","a":true,"at":{"t":1,"d":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}}}}`))
	f.Add(int32(3), []byte(`{"conversations":{"`+id+`":{"m":1,"s":3600,"r":5,"at":{"t":2}}}}`))
	f.Add(int32(3), []byte(`{"conversations":{"`+id+`":{"m":1,"s":-1}}}`))
	f.Add(int32(9), []byte(`{}`))
	f.Fuzz(func(t *testing.T, kind int32, plain []byte) {
		st, err := parseConfig(envelope.ConfigSync_Kind(kind), plain)
		if err != nil {
			return
		}
		for k, e := range st.Conversations {
			if _, err := identity.ParseAccountID(k); err != nil {
				t.Fatalf("kept an entry keyed %q", k)
			}
			if !validDisappearing(clientdb.Disappearing{Mode: e.Mode, After: time.Duration(e.Seconds) * time.Second}) {
				t.Fatalf("kept a bad disappearing setting %+v", e.convConfig)
			}
		}
		mergeConfig(&configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{}}, st)
	})
}

// TestDeviceKeyChange: an announcement that gives a known device another
// key is dropped and the first key kept.
func TestDeviceKeyChange(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	c := open(t, newHome(t), Options{Standalone: nd})
	mustSync(t, c)
	before, err := c.Devices()
	if err != nil || len(before) != 1 {
		t.Fatalf("devices %+v, %v; want this one", before, err)
	}
	other := devicerecord.NewDevice()
	forged := &envelope.Content{
		MessageId: randomID(), SentAtMs: uint64(time.Now().UnixMilli()),
		Body: &envelope.Content_DeviceAnnouncement{DeviceAnnouncement: &envelope.DeviceAnnouncement{
			DeviceId: before[0].ID[:], DevicePublicKey: other.PublicKey().Bytes(), CreatedAtMs: 1,
		}},
	}
	if _, err := c.storeOwn(ctx, NamespaceDevices, forged, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustSync(t, c)
	after, err := c.Devices()
	if err != nil || len(after) != 1 || after[0].PublicKey != before[0].PublicKey {
		t.Fatalf("devices after the forged announcement: %+v, %v; want the first key kept", after, err)
	}
	if c.Stats().Dropped != 1 {
		t.Fatalf("%d messages dropped, want the forged announcement", c.Stats().Dropped)
	}
}

// FuzzOpenOwn feeds what a node could return for the device and config
// namespaces: every failure must be a drop, and what opens must be content
// this account sealed.
func FuzzOpenOwn(f *testing.F) {
	c := open(f, newHome(f), Options{})
	peer := open(f, newHome(f), Options{})
	now := time.Now()
	ann := &envelope.Content{
		MessageId: randomID(), SentAtMs: uint64(now.UnixMilli()),
		Body: &envelope.Content_DeviceAnnouncement{DeviceAnnouncement: &envelope.DeviceAnnouncement{
			DeviceId: c.device.ID[:], DevicePublicKey: c.device.PublicKey().Bytes(), CreatedAtMs: 1,
		}},
	}
	sealed, err := c.sealConfig(envelope.ConfigSync_KIND_CONTACTS, 1, []byte(`{"contacts":{}}`))
	if err != nil {
		f.Fatal(err)
	}
	cfg := &envelope.Content{
		MessageId: randomID(), SentAtMs: uint64(now.UnixMilli()),
		Body: &envelope.Content_ConfigSync{ConfigSync: &envelope.ConfigSync{Kind: envelope.ConfigSync_KIND_CONTACTS, Sequence: 1, Version: configVersion, SealedConfig: sealed}},
	}
	for _, x := range []struct {
		by      *Client
		content *envelope.Content
	}{{c, ann}, {c, cfg}, {peer, ann}} {
		data, err := x.by.sealOwn(NamespaceConfig, x.content, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	self := c.Account()
	f.Fuzz(func(t *testing.T, data []byte) {
		m := rpc.Message{Hash: rpc.MessageHash(self, NamespaceConfig, data), Data: base64.StdEncoding.EncodeToString(data)}
		content, err := c.openOwn(NamespaceConfig, m)
		if err != nil {
			if !errors.Is(err, ErrDropped) {
				t.Fatalf("a non-drop error: %v", err)
			}
			return
		}
		if cs := content.GetConfigSync(); cs != nil {
			if _, err := c.openConfig(cs); err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("openConfig: %v", err)
			}
		}
	})
}

// TestMultiDeviceDevnet restores a second device on a devnet, where the
// own swarm replicates and each poll asks two of its members.
func TestMultiDeviceDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	seed := identity.NewSeed()
	o := Options{Network: d.Network(), Direct: true}
	a1 := open(t, homeFromSeed(t, seed), o)
	peer := newAccountID(t)
	if err := a1.AddContact(peer, "Pat"); err != nil {
		t.Fatal(err)
	}
	syncUntil(t, a1, func() bool { return true })
	a2 := open(t, homeFromSeed(t, seed), o)
	syncUntil(t, a2, func() bool {
		ct, err := a2.db.ContactByAccount(peer)
		return err == nil && ct.Nickname == "Pat"
	})
	syncUntil(t, a1, func() bool {
		ds, err := a1.Devices()
		return err == nil && len(ds) == 2
	})
	if news, err := a1.TakeNewDevices(); err != nil || len(news) != 1 || news[0].ID != a2.ThisDevice() {
		t.Fatalf("first device's news: %+v, %v; want the second device", news, err)
	}
}

// syncUntil syncs c until done holds; a devnet may still be reshaping its
// swarms, so a failed sync is retried a few times.
func syncUntil(t *testing.T, c *Client, done func() bool) {
	t.Helper()
	var err error
	for range 10 {
		if _, err = c.Sync(context.Background()); err == nil && done() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not done after 10 syncs (last error %v)", err)
}

// TestMergeConverges: devices that receive the same config objects in any
// order, each merging them into its own state, end with the same state.
func TestMergeConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := []string{"a", "b", "c"}
		// One (time, device) stamp names one change, so the value is a
		// function of the stamp, as it is for real devices.
		genStamp := func(t *rapid.T) stamp {
			return stamp{rapid.Int64Range(0, 3).Draw(t, "ms"), prekey.DeviceID{rapid.ByteRange(0, 2).Draw(t, "dev")}}
		}
		genState := rapid.Custom(func(t *rapid.T) *configState {
			st := &configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{}}
			for _, k := range keys {
				if rapid.Bool().Draw(t, "has contact "+k) {
					at := genStamp(t)
					v := at.MS + int64(at.Device[0])
					st.Contacts[k] = contactEntry{contactConfig{Nickname: []string{"", "x", "y"}[v%3], Blocked: v%2 == 1}, at}
				}
				if rapid.Bool().Draw(t, "has conversation "+k) {
					at := genStamp(t)
					fat := genStamp(t)
					fv := fat.MS + int64(fat.Device[0])
					st.Conversations[k] = convEntry{convConfig: convConfig{Seconds: at.MS + int64(at.Device[0])}, At: at, ReadMS: rapid.Int64Range(0, 5).Draw(t, "read"),
						Flags: chatFlags{Muted: fv%2 == 1, Pinned: fv%3 == 1, Archived: fv%5 == 1, ArchivedMS: fv}, FlagsAt: fat}
				}
			}
			return st
		})
		objs := rapid.SliceOfN(genState, 1, 5).Draw(t, "objects")
		perm := rapid.Permutation(objs).Draw(t, "order")
		merged := func(in []*configState) *configState {
			st := &configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{}}
			for _, o := range in {
				mergeConfig(st, o)
			}
			return st
		}
		a, b := merged(objs), merged(perm)
		for _, k := range keys {
			if a.Contacts[k] != b.Contacts[k] || a.Conversations[k] != b.Conversations[k] {
				t.Fatalf("key %s differs by merge order: %+v, %+v / %+v, %+v", k, a.Contacts[k], a.Conversations[k], b.Contacts[k], b.Conversations[k])
			}
		}
	})
}

// TestNewDeviceBeforeFirstSync: a device restored while the first device
// had not synced yet is still news to the first device.
func TestNewDeviceBeforeFirstSync(t *testing.T) {
	nd := startStandalone(t)
	seed := identity.NewSeed()
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	time.Sleep(2 * time.Millisecond) // creation times are in milliseconds
	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	mustSync(t, a2)
	mustSync(t, a1)
	if news, err := a1.TakeNewDevices(); err != nil || len(news) != 1 || news[0].ID != a2.ThisDevice() {
		t.Fatalf("first device's news: %+v, %v; want the younger device", news, err)
	}
	if news, err := a2.TakeNewDevices(); err != nil || len(news) != 0 {
		t.Fatalf("second device's news: %+v, %v; want none (it has not polled since)", news, err)
	}
}

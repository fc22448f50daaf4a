package client

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/rpc"
)

// Protocol v2's device records live in two namespaces of the account's
// swarm (docs/protocol-v2.md §5): Inbox records in [NamespaceKeys], which
// anyone may read and only the account may write, and Sync records in
// [NamespaceSyncKeys], owner-only, for the account's other devices.
const (
	NamespaceKeys     = rpc.NamespaceKeys
	NamespaceSyncKeys = rpc.NamespaceSyncKeys
)

// Settings of protocol v2 in the home's sealed settings table. Private
// prekeys are sealed there under the database key like every setting, and
// overwritten in place: the database runs with secure_delete, so a pruned
// key does not survive in a free page.
const (
	prekeySetting    = "client/v2/prekeys/"  // + class: prekey.DeviceKeys, binary
	publishedSetting = "client/v2/published" // JSON publishState
	waitingSetting   = "client/v2/waiting/"  // + Account ID: why its keys are missing
	// + Account ID + "/" + device ID: the device key a record presented
	// in place of the one known (hex), until the user confirms it.
	keyChangedSetting = "client/v2/key-changed/"
	missingSetting    = "client/v2/missing/" // + Account ID: JSON missingState
)

// withheldWait bounds how long a message waits for a contact's known
// device whose record is missing from what the swarm returned (withheld by
// a node, or the device was removed and its last record has not expired
// yet). After it, the message goes to the devices that can be reached and
// the user is told which were left out (docs/protocol-v2.md §8). Ten
// minutes outlast a node's restart or a swarm repair, and cost a user
// little next to a message silently missing from one of the contact's
// devices.
const withheldWait = 10 * time.Minute

// republishAfter is how old this device's published records may grow
// before a command that reaches the network publishes fresh ones: well
// inside one epoch, so a record always starts at the current epoch.
const republishAfter = 12 * time.Hour

// ErrWaitingForKeys: a peer (or, for a sync copy, another device of the
// account) has no valid protocol v2 record yet, so nothing can be sealed
// to it. The message stays queued and the outbox retries; there is no
// weaker fallback (docs/protocol-v2.md §10).
var ErrWaitingForKeys = errors.New("waiting for keys")

// thisDevice returns the home's device identity, made by devices.go at
// init or at the first Open; v2 publishes records and holds prekeys for it.
func (c *Client) thisDevice() (*devicerecord.Device, error) {
	if c.device == nil {
		return nil, errors.New("the home has no device identity")
	}
	return c.device, nil
}

// prekeys loads this device's private prekeys of class cl, or an empty set.
func (c *Client) prekeys(dev prekey.DeviceID, cl prekey.Class) (*prekey.DeviceKeys, error) {
	b, err := c.db.Setting(prekeySetting + cl.String())
	if errors.Is(err, clientdb.ErrNotFound) {
		return prekey.NewDeviceKeys(dev, cl)
	} else if err != nil {
		return nil, err
	}
	k, err := prekey.ParseDeviceKeys(b)
	if err != nil {
		return nil, fmt.Errorf("stored %s prekeys: %w", cl, err)
	}
	if k.Device() != dev || k.Class() != cl {
		return nil, fmt.Errorf("stored %s prekeys belong to another device", cl)
	}
	return k, nil
}

func (c *Client) savePrekeys(k *prekey.DeviceKeys) error {
	b, err := k.MarshalBinary()
	if err != nil {
		return err
	}
	return c.db.SetSetting(prekeySetting+k.Class().String(), b)
}

// PrunePrekeys deletes every private prekey past its deadline (the
// deletion rule, docs/protocol-v2.md §4) and reports how many went. Every
// command's background duties run it, and exports should run it first so
// they carry only unexpired prekeys.
func (c *Client) PrunePrekeys() (int, error) {
	c.v2mu.Lock()
	defer c.v2mu.Unlock()
	dev, err := c.thisDevice()
	if err != nil {
		return 0, err
	}
	n := 0
	err = c.withPrekeyLock(func() error {
		for _, cl := range []prekey.Class{prekey.Inbox, prekey.Sync} {
			k, err := c.prekeys(dev.ID, cl)
			if err != nil {
				return err
			}
			// Deleting a prekey is final: the earlier of our clock and the
			// network's decides (safeNow), so no node can make it early.
			if gone := k.Prune(c.safeNow()); len(gone) > 0 {
				n += len(gone)
				if err := c.savePrekeys(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// publishState remembers this device's last published records: when, and
// their hashes, so the next publication deletes them from the swarm.
type publishState struct {
	At     int64    `json:"at_ms"`
	Hashes []string `json:"hashes"`
	// Version is the record version published: a client that moves to a
	// new one republishes at once, since peers refuse the old.
	Version int `json:"version,omitempty"`
}

// PublishKeys generates the prekeys this device lacks for the coming
// epochs, prunes expired ones, and publishes a fresh signed record of each
// class to the account's swarm, replacing the previous ones. `hush init`
// and restore call it; [Client.KeyDuties] calls it when the last
// publication is older than half an epoch.
func (c *Client) PublishKeys(ctx context.Context) error {
	// A record is dated by the network's time, never by the local clock
	// alone: a clock a few hours ahead would make one whose created_at is
	// in the next epoch, which senders refuse as not yet valid, and whose
	// publication would delete the good ones (and, as republishing the
	// same epoch gives the same bytes, leave a tombstone that refuses them
	// when the clock comes back). Until a node answered, read the own
	// records: one round trip, whose answers set the network clock.
	if c.netc.Nodes() == 0 {
		if _, err := c.ownRecord(ctx); err != nil {
			return fmt.Errorf("reading the network's time before publishing: %w", err)
		}
	}
	c.v2mu.Lock()
	defer c.v2mu.Unlock()
	dev, err := c.thisDevice()
	if err != nil {
		return err
	}
	now := c.now()
	self := c.acct.ID()
	var st publishState
	if b, err := c.db.Setting(publishedSetting); err == nil {
		json.Unmarshal(b, &st) // a damaged state only costs a stale record left in the swarm
	}
	classes := []prekey.Class{prekey.Inbox, prekey.Sync}
	sets := make([]*prekey.DeviceKeys, len(classes))
	// Generate and save under the home's prekey lock, before publishing: a
	// record must never name a key this device could lose, and another
	// process on the same home (receive --follow beside send) must see
	// these keys rather than generate and save its own over them.
	err = c.withPrekeyLock(func() error {
		for i, cl := range classes {
			k, err := c.prekeys(dev.ID, cl)
			if err != nil {
				return err
			}
			k.Prune(c.safeNow()) // as PrunePrekeys
			if err := k.Cover(now); err != nil {
				return err
			}
			if c.prekeyTestHook != nil {
				c.prekeyTestHook()
			}
			if err := c.savePrekeys(k); err != nil {
				return err
			}
			sets[i] = k
		}
		return nil
	})
	if err != nil {
		return err
	}
	var hashes []string
	for i, cl := range classes {
		ns := NamespaceKeys
		if cl == prekey.Sync {
			ns = NamespaceSyncKeys
		}
		var (
			rec     []byte
			h       string
			deleted bool
		)
		// The previous records go only once the new ones are in the swarm
		// and usable by a sender whose clock is right. A record this device
		// published and deleted before is not stored again (the node keeps
		// its tombstone until it would have expired, and answers deleted),
		// and a republish within one epoch gives the same bytes: then the
		// record is made again naming fewer of the epochs ahead, which
		// gives other bytes and an earlier expiry, both harmless (the next
		// publication is due within half an epoch).
		for drop := 0; drop <= recordVariants; drop++ {
			if rec, err = c.makeRecord(dev, sets[i], now, drop); err != nil {
				return err
			}
			parsed, err := devicerecord.Parse(rec)
			if err != nil {
				return err
			}
			// Deposited as of the record's created_at (the epoch start),
			// with the TTL counted from there: namespace 7 shows every
			// reader each record's deposit time and expiry, which would
			// otherwise tell when the device was last in use
			// (docs/protocol-v2.md §11).
			ttl := min(parsed.ExpiresAt.Sub(parsed.CreatedAt), rpc.MaxTTLPrivate)
			h, deleted, err = c.storeOrDeleted(withDepositTime(ctx, parsed.CreatedAt), self, ns, ttl, rec)
			if err != nil {
				return fmt.Errorf("publishing the %s record: %w", cl, err)
			}
			if !deleted {
				break
			}
		}
		if deleted {
			return fmt.Errorf("publishing the %s record: %w", cl, ErrRecordDeleted)
		}
		if _, err := devicerecord.Verify(rec, self, c.now()); err != nil {
			return fmt.Errorf("publishing the %s record: not usable at the network's time: %w", cl, err)
		}
		hashes = append(hashes, h)
	}
	var old []string
	for _, h := range st.Hashes {
		if !slices.Contains(hashes, h) {
			old = append(old, h)
		}
	}
	b, _ := json.Marshal(publishState{At: now.UnixMilli(), Hashes: hashes, Version: devicerecord.Version})
	if err := c.db.SetSetting(publishedSetting, b); err != nil {
		return err
	}
	c.mu.Lock()
	c.ownRecordsGone = false
	c.mu.Unlock()
	// Best effort: a record left behind expires by itself, and senders
	// prefer the newest record of each device anyway.
	if err := c.deleteOwn(ctx, old); err != nil {
		c.log.Debug("deleting superseded device records", "err", err)
	}
	return nil
}

// ErrRecordDeleted: every record [Client.PublishKeys] could make (the
// full one and recordVariants shorter ones) was published and deleted
// before, so the swarm's nodes refuse it until its tombstone expires; the
// previous records stay.
var ErrRecordDeleted = errors.New("the swarm refuses the record: published and deleted before")

// recordVariants is how many shorter records PublishKeys tries when the
// swarm refuses the full one as deleted before: one more than a device
// can have deleted in one epoch by jumping back and forth (its record of
// that epoch, and the one made after the prekeys of the next epochs were
// generated).
const recordVariants = 3

// makeRecord makes this device's record of k's class at now, naming drop
// fewer epochs ahead than the full record (devicerecord.Make), from a
// copy of k: the keys this device holds stay as they are.
func (c *Client) makeRecord(dev *devicerecord.Device, k *prekey.DeviceKeys, now time.Time, drop int) ([]byte, error) {
	if drop > 0 {
		b, err := k.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if k, err = prekey.ParseDeviceKeys(b); err != nil {
			return nil, err
		}
		epochs := k.Epochs()
		for _, e := range epochs[max(0, len(epochs)-drop):] {
			if e <= prekey.EpochOf(now) {
				return nil, fmt.Errorf("%w: no epoch ahead left to drop", ErrRecordDeleted)
			}
			k.Delete(e)
		}
	}
	return devicerecord.Make(c.acct, dev, k, now)
}

// KeyDuties is protocol v2's share of every command's background work:
// prune expired private prekeys, and publish fresh records when the last
// ones are older than half an epoch (or were never published), or when
// this device's records are missing from the swarm.
//
// The publication state is local, and the local clock alone may be
// wrong (a test's offset, a clock that jumped): when it says a
// publication is due before any node answered, KeyDuties reads the own
// records first. That one round trip sets the network clock, which then
// decides, and shows whether this device's record is still there. A due
// publication whose clock a node already confirmed costs no extra round
// trip, and a command whose state is fresh costs none at all.
func (c *Client) KeyDuties(ctx context.Context) error {
	if _, err := c.PrunePrekeys(); err != nil {
		return err
	}
	c.mu.Lock()
	gone := c.ownRecordsGone
	c.mu.Unlock()
	if !gone && !c.publishDue(c.now()) {
		return nil
	}
	if !gone && c.netc.Nodes() == 0 {
		found, err := c.ownRecord(ctx)
		if err != nil {
			return fmt.Errorf("reading the own records: %w", err)
		}
		if found && !c.publishDue(c.now()) {
			return nil
		}
	}
	return c.PublishKeys(ctx)
}

// publishDue reports whether, by the publication state and now, this
// device should publish fresh records.
func (c *Client) publishDue(now time.Time) bool {
	var st publishState
	if b, err := c.db.Setting(publishedSetting); err == nil {
		json.Unmarshal(b, &st)
	}
	at := time.UnixMilli(st.At)
	// A publication stamped a little after now comes from another Client
	// on this home whose clock offset differs; only one far in the future
	// (a clock that jumped back) is redone.
	return st.At == 0 || st.Version != devicerecord.Version || now.Sub(at) >= republishAfter ||
		prekey.EpochOf(at) != prekey.EpochOf(now) || !at.Before(now.Add(rpc.SigTolerance))
}

// ownRecord reads this account's Inbox records from its swarm and reports
// whether one of this device is there and valid at the network's time.
// The answers also sample the network clock.
func (c *Client) ownRecord(ctx context.Context) (bool, error) {
	dev, err := c.thisDevice()
	if err != nil {
		return false, err
	}
	recs, _, err := c.fetchRecords(ctx, c.acct.ID(), prekey.Inbox)
	if err != nil {
		return false, err
	}
	found := slices.ContainsFunc(recs, func(r VerifiedRecord) bool { return r.DeviceID == dev.ID })
	if !found {
		c.log.Debug("this device's record is missing from the swarm; republishing")
	}
	return found, nil
}

// noteOwnRecords marks this device's records as gone when recs, just
// fetched from the own account's swarm, hold none of it: the next
// KeyDuties republishes.
func (c *Client) noteOwnRecords(account identity.AccountID, recs []VerifiedRecord) {
	if c.device == nil || !account.Equal(c.acct.ID()) {
		return
	}
	if slices.ContainsFunc(recs, func(r VerifiedRecord) bool { return r.DeviceID == c.device.ID }) {
		return
	}
	c.mu.Lock()
	c.ownRecordsGone = true
	c.mu.Unlock()
}

// VerifiedRecord is a device record that passed the sender's checks
// (docs/protocol-v2.md §5.3), with the bytes it was published as.
type VerifiedRecord struct {
	*devicerecord.Record
	Raw  []byte
	Hash string // its message hash in the swarm
}

// RecordProblem is a fetched record that failed verification.
type RecordProblem struct {
	Hash string
	Err  error
}

// fetchRecords reads account's records of class cl from two members of its
// swarm at once, verifies each at now, and returns the newest valid record
// of each device in the first two good answers, ordered by device ID, and
// what failed. Inbox records are read without a signature (the
// public-read namespace); Sync records only from the own account.
func (c *Client) fetchRecords(ctx context.Context, account identity.AccountID, cl prekey.Class) ([]VerifiedRecord, []RecordProblem, error) {
	ns := NamespaceKeys
	build := func() *rpc.Retrieve { return rpc.PublicRetrieve(account, ns) }
	if cl == prekey.Sync {
		ns = NamespaceSyncKeys
		if !account.Equal(c.acct.ID()) {
			return nil, nil, errors.New("sync records are readable by their own account only")
		}
		build = func() *rpc.Retrieve { return &rpc.Retrieve{Namespace: ns} }
	}
	members, err := c.dir.SwarmFor(ctx, account)
	if err != nil {
		return nil, nil, err
	}
	// Two members, as a poll asks, and at once (fetchWith, receive.go): a
	// record confirmed by two is on both, and one member withholding
	// records does not hide them. As in a poll, a member whose answer
	// fails the checks is marked bad and does not count; another one is
	// asked, as for one that fails or is slower than the hedge delay.
	f := c.fetchWith(ctx, c.askOrder(members), account, ns, time.Time{}, build, c.pollBudget(), nil)
	if f.err != nil {
		return nil, nil, f.err
	}
	if f.answered == 0 {
		// Only members caught misbehaving answered: what they served may
		// be partial, and a partial set would look like removed devices.
		return nil, nil, fmt.Errorf("%w: no member answered well", ErrUnreachable)
	}
	now := c.now()
	var (
		valid    []*devicerecord.Record
		raws     = map[*devicerecord.Record]rpc.Message{}
		problems []RecordProblem
	)
	for _, m := range f.msgs {
		h := m.Hash
		raw, err := base64.StdEncoding.DecodeString(m.Data)
		if err == nil && len(raw) > 0 && raw[0] != devicerecord.Version {
			// A record of an older version: its device republishes in
			// the current one within half an epoch.
			problems = append(problems, RecordProblem{Hash: h, Err: devicerecord.ErrVersion})
			continue
		}
		if err != nil || rpc.MessageHash(account, ns, raw) != h {
			problems = append(problems, RecordProblem{Hash: h, Err: errors.New("data does not match its hash")})
			continue
		}
		rec, err := devicerecord.Verify(raw, account, now)
		if err == nil && rec.Class != cl {
			err = fmt.Errorf("a %s record in the %s namespace", rec.Class, cl)
		}
		if err != nil {
			problems = append(problems, RecordProblem{Hash: h, Err: err})
			continue
		}
		valid = append(valid, rec)
		raws[rec] = m
	}
	valid, held := c.pinDeviceKeys(account, valid)
	for _, p := range held {
		p.Hash = raws[p.rec].Hash
		problems = append(problems, p.RecordProblem)
	}
	var out []VerifiedRecord
	for _, rec := range devicerecord.Newest(valid) {
		m := raws[rec]
		raw, _ := base64.StdEncoding.DecodeString(m.Data)
		out = append(out, VerifiedRecord{Record: rec, Raw: raw, Hash: m.Hash})
	}
	slices.SortFunc(out, func(a, b VerifiedRecord) int { return compareIDs(a.DeviceID, b.DeviceID) })
	slices.SortFunc(problems, func(a, b RecordProblem) int { return compareStrings(a.Hash, b.Hash) })
	return out, problems, nil
}

type heldRecord struct {
	RecordProblem
	rec *devicerecord.Record
}

// pinDeviceKeys keeps the records whose device key is the one this home
// knows for their device ID, or whose device ID it does not know yet. A
// record that names a known device with another key could only be made
// with the account's seed and a new device key: it is either a bug or the
// seed in other hands, posing as the device to read its mail. Such a
// record is held back (never sealed to) and the user told, as for a new
// device, until [Client.ConfirmDeviceKey] accepts the new key.
func (c *Client) pinDeviceKeys(account identity.AccountID, recs []*devicerecord.Record) ([]*devicerecord.Record, []heldRecord) {
	known, err := c.db.Devices(account)
	if err != nil {
		// Without the known keys nothing can be checked: seal to none.
		out := make([]heldRecord, len(recs))
		for i, r := range recs {
			out[i] = heldRecord{RecordProblem{Err: fmt.Errorf("reading known devices: %w", err)}, r}
		}
		return nil, out
	}
	keys := map[prekey.DeviceID][]byte{}
	for _, d := range known {
		keys[prekey.DeviceID(d.ID)] = d.PublicKey
	}
	var kept []*devicerecord.Record
	var held []heldRecord
	for _, r := range recs {
		k, ok := keys[r.DeviceID]
		if !ok || subtle.ConstantTimeCompare(k, r.DeviceKey.Bytes()) == 1 {
			kept = append(kept, r)
			continue
		}
		err := fmt.Errorf("%w: a record of %s's device %s presents another device key; it is not sealed to until you confirm it (a new device key means the account's seed is on another device)",
			clientdb.ErrDeviceKeyChanged, account.Short(), r.DeviceID)
		held = append(held, heldRecord{RecordProblem{Err: err}, r})
		name := keyChangedSetting + account.String() + "/" + r.DeviceID.String()
		if old, _ := c.db.Setting(name); string(old) == r.DeviceKey.String() {
			continue // told already
		}
		c.db.SetSetting(name, []byte(r.DeviceKey.String()))
		c.log.Warn("a device record presents a changed device key; held until confirmed", "device", r.DeviceID)
		c.emit(Event{Kind: EventNewKeyDevice, Err: err})
	}
	return kept, held
}

// ErrNoKeyChange: [Client.ConfirmDeviceKey] was asked about a device
// whose key did not change.
var ErrNoKeyChange = errors.New("no changed device key to confirm")

// ErrDeviceKeyChanged is wrapped by the [EventNewKeyDevice] error of a
// record that gives a known device ID another device key: nothing is
// sealed to it until [Client.ConfirmDeviceKey].
var ErrDeviceKeyChanged = clientdb.ErrDeviceKeyChanged

// ConfirmDeviceKey accepts the changed device key last presented by
// account's device id (an [EventNewKeyDevice] wrapping
// [ErrDeviceKeyChanged] said so): from now on that key is the
// device's, and messages are sealed to it. It returns [ErrNoKeyChange]
// when no change is pending.
func (c *Client) ConfirmDeviceKey(account identity.AccountID, id prekey.DeviceID) error {
	name := keyChangedSetting + account.String() + "/" + id.String()
	b, err := c.db.Setting(name)
	if errors.Is(err, clientdb.ErrNotFound) {
		return ErrNoKeyChange
	} else if err != nil {
		return err
	}
	key, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	if err := c.db.ReplaceDeviceKey(clientdb.Device{Account: account, ID: clientdb.DeviceID(id), PublicKey: key}, c.clock()); err != nil {
		return err
	}
	c.dropRecordCache()
	return c.db.DeleteSetting(name)
}

func compareIDs(a, b prekey.DeviceID) int { return compareStrings(string(a[:]), string(b[:])) }

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Bundle fetches account's Inbox records and returns those that verify
// and the problems of those that do not: what a sender seals to. Devices
// not seen before are recorded and announced ([EventNewKeyDevice]).
func (c *Client) Bundle(ctx context.Context, account identity.AccountID) ([]VerifiedRecord, []RecordProblem, error) {
	recs, problems, err := c.fetchRecords(ctx, account, prekey.Inbox)
	if err != nil {
		return nil, nil, err
	}
	rs := make([]*devicerecord.Record, len(recs))
	for i, r := range recs {
		rs[i] = r.Record
	}
	c.noteDevices(account, rs)
	return recs, problems, nil
}

// recipients returns the records a message to account is sealed to: the
// peer's Inbox records, or for a sync copy (account = self) the Sync
// records of the account's devices other than this one. It announces
// devices not seen before and remembers whether account is waiting for
// keys. none is true when a sync copy has no other device to go to.
func (c *Client) recipients(ctx context.Context, account identity.AccountID) (recs []*devicerecord.Record, none bool, err error) {
	self := c.acct.ID()
	cl := prekey.Inbox
	if account.Equal(self) {
		cl = prekey.Sync
	}
	got, problems, err := c.cachedRecords(ctx, account, cl)
	if err != nil {
		return nil, false, err
	}
	dev, err := c.thisDevice()
	if err != nil {
		return nil, false, err
	}
	var own *devicerecord.Record
	for _, r := range got {
		if cl == prekey.Sync && r.DeviceID == dev.ID {
			own = r.Record
			continue
		}
		recs = append(recs, r.Record)
	}
	if cl == prekey.Sync && len(recs) == 0 && own != nil {
		// A sync copy goes to the account's other devices. With none, it
		// is sealed to this device alone, so the own swarm always holds a
		// copy that chat delete, account delete and disappearing timers
		// treat as they treat the inbox copy; its content is in this
		// device's database anyway, so no secret is kept longer.
		recs = []*devicerecord.Record{own}
	}
	if len(recs) > 16 {
		recs = recs[:16] // sealv2.MaxDevices; the rest wait for a later design
	}
	c.noteDevices(account, recs)
	if cl == prekey.Sync {
		return recs, len(recs) == 0, nil
	}
	if len(recs) > 0 {
		if err := c.checkWithheld(account, recs); err != nil {
			return nil, false, err
		}
	}
	if len(recs) == 0 {
		why := "no device record published"
		if len(problems) > 0 {
			why = fmt.Sprintf("%d record(s), none valid: %v", len(problems), problems[0].Err)
		}
		c.db.SetSetting(waitingSetting+account.String(), []byte(why))
		return nil, false, fmt.Errorf("%w from %s: %s", ErrWaitingForKeys, account.Short(), why)
	}
	if waiting, _, _ := c.WaitingForKeys(account); waiting {
		c.db.DeleteSetting(waitingSetting + account.String())
	}
	return recs, false, nil
}

// missingState remembers the known devices of a contact whose records a
// fetch did not return, since when, and whether the user was told that a
// message went without them.
type missingState struct {
	Devices []prekey.DeviceID `json:"devices"`
	SinceMS int64             `json:"since_ms"`
	Skipped bool              `json:"skipped,omitempty"`
}

// checkWithheld compares the records about to be sealed to with the
// devices of account this home knows and whose last record is still valid.
// A known device missing from recs was withheld, most likely: the message
// waits (an error wrapping [ErrWaitingForKeys], which keeps it queued) for
// up to withheldWait from when the device first went missing, and then
// goes to the devices in recs, the user told both times ([EventDeviceMissing]).
func (c *Client) checkWithheld(account identity.AccountID, recs []*devicerecord.Record) error {
	known, err := c.db.Devices(account)
	if err != nil {
		return err
	}
	now := c.now()
	var missing []prekey.DeviceID
	for _, d := range known {
		id := prekey.DeviceID(d.ID)
		if d.Expires.After(now) && !slices.ContainsFunc(recs, func(r *devicerecord.Record) bool { return r.DeviceID == id }) {
			missing = append(missing, id)
		}
	}
	name := missingSetting + account.String()
	if len(missing) == 0 {
		c.db.DeleteSetting(name)
		return nil
	}
	var st missingState
	if b, err := c.db.Setting(name); err == nil {
		json.Unmarshal(b, &st) // a damaged state restarts the wait
	}
	local := c.clock() // a node's clock must not cut the wait short
	if st.SinceMS == 0 || !slices.Equal(st.Devices, missing) {
		st = missingState{Devices: missing, SinceMS: local.UnixMilli()}
	}
	since := time.UnixMilli(st.SinceMS)
	ids := fmt.Sprint(missing)
	if waited := local.Sub(since); waited >= 0 && waited < withheldWait {
		why := fmt.Sprintf("%s's known device(s) %s have no record in the swarm's answer (withheld by a node?); the message waits for them until %s, then goes to the other devices",
			account.Short(), ids, since.Add(withheldWait).UTC().Format(time.RFC3339))
		if b, _ := c.db.Setting(waitingSetting + account.String()); string(b) != why {
			c.emit(Event{Kind: EventDeviceMissing, Err: errors.New(why)})
		}
		c.db.SetSetting(waitingSetting+account.String(), []byte(why))
		b, _ := json.Marshal(st)
		c.db.SetSetting(name, b)
		return fmt.Errorf("%w from %s: %s", ErrWaitingForKeys, account.Short(), why)
	}
	if !st.Skipped {
		st.Skipped = true
		c.emit(Event{Kind: EventDeviceMissing, Err: fmt.Errorf("sending to %s without its device(s) %s, whose records are still missing after %s",
			account.Short(), ids, withheldWait)})
	}
	b, _ := json.Marshal(st)
	return c.db.SetSetting(name, b)
}

// MissingDevices lists account's known devices that the last fetch of its
// records did not return (withheld, or removed), and whether messages were
// sent without them after the bounded wait.
func (c *Client) MissingDevices(account identity.AccountID) (ids []prekey.DeviceID, sentWithout bool, err error) {
	b, err := c.db.Setting(missingSetting + account.String())
	if errors.Is(err, clientdb.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	var st missingState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("setting %s: %w", missingSetting, err)
	}
	return st.Devices, st.Skipped, nil
}

// EventDeviceMissing reports that a contact's known device has no record
// in what the swarm returned: the message waits for it, or, after
// withheldWait, went without it. Err says which.
const EventDeviceMissing EventKind = 66

// noteDevices records account's devices among recs in the devices table
// and emits [EventNewKeyDevice] for each one this home had not seen.
func (c *Client) noteDevices(account identity.AccountID, recs []*devicerecord.Record) {
	now := c.clock()
	for _, r := range recs {
		isNew, err := c.db.UpsertDevice(clientdb.Device{
			Account: account, ID: clientdb.DeviceID(r.DeviceID), PublicKey: r.DeviceKey.Bytes(), Created: r.CreatedAt, Expires: r.ExpiresAt,
		}, now)
		if err != nil {
			c.log.Debug("recording a device", "err", err)
			continue
		}
		if isNew {
			c.emit(Event{Kind: EventNewKeyDevice, Err: fmt.Errorf("%s has a new device %s", account.Short(), r.DeviceID)})
		}
	}
}

// EventNewKeyDevice reports a device of a contact, or of this account,
// that appeared in a protocol v2 record for the first time; Err describes
// it. Its value stands apart from the other kinds so they can grow.
const EventNewKeyDevice EventKind = 65

// WaitingForKeys reports whether messages to peer wait for its device
// records, and why.
func (c *Client) WaitingForKeys(peer identity.AccountID) (bool, string, error) {
	b, err := c.db.Setting(waitingSetting + peer.String())
	if errors.Is(err, clientdb.ErrNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, string(b), nil
}

// PeerDevice is one device of a contact as its verified record shows it.
type PeerDevice struct {
	ID        prekey.DeviceID
	PublicKey identity.Ed25519PublicKey
	FirstSeen time.Time
}

// PeerDevices lists the devices of account this home has seen in verified
// records, from the local database.
func (c *Client) PeerDevices(account identity.AccountID) ([]PeerDevice, error) {
	ds, err := c.db.Devices(account)
	if err != nil {
		return nil, err
	}
	out := make([]PeerDevice, 0, len(ds))
	for _, d := range ds {
		pub, err := identity.Ed25519PublicKeyFromBytes(d.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", prekey.DeviceID(d.ID), err)
		}
		out = append(out, PeerDevice{ID: prekey.DeviceID(d.ID), PublicKey: pub, FirstSeen: d.FirstSeen})
	}
	return out, nil
}

// openKeyDuties runs KeyDuties when a Client opens on a network, so a home
// that only ever receives still publishes records senders can use. It is
// best effort and bounded: an offline command must not hang on it.
func (c *Client) openKeyDuties(ctx context.Context) {
	if _, ok := c.dir.(noNetwork); ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, openDutiesTimeout)
	defer cancel()
	if err := c.KeyDuties(ctx); err != nil {
		c.log.Debug("protocol v2 key duties at open", "err", err)
	}
}

const openDutiesTimeout = 15 * time.Second

// The record cache (issue 23). A send seals to the recipient's records
// (and the sync copy to the own account's) as this Client last fetched
// them, so a warm send is one onion round trip: the stores. The cache is
// kept fresh in the background instead: a set older than recordRefresh
// is fetched again at its next use without the use waiting, and by a
// timer while the account is written to, so a contact's new device is
// sealed to within about recordRefresh. A set no refresh renewed for
// recordCacheTTL (the network out of reach, a Client idle for long) is
// fetched before use. A refresh also starts at once when the account
// shows signs of a new device: a message from it (at most every
// recordNudge), a new device of the own account announced (devices.go),
// or a seal that failed with the cached records (seal.go).
//
// A fetched record never replaces a newer cached one of the same device:
// a lagging or lying member cannot roll a device back to keys it no
// longer has. A device missing from a fetch leaves the cache, as before
// (checkWithheld decides what a send does without it), so a removed
// device stops being sealed to.
const (
	// recordRefresh is the age at which a cached set is refreshed in
	// the background (Client.recordRefresh; tests shorten it).
	recordRefresh = time.Minute
	// recordCacheTTL bounds the staleness a send accepts
	// (Client.recordStale): an older set is fetched before use.
	recordCacheTTL = 5 * time.Minute
	// recordKeepWarm: a set used within this long is refreshed by its
	// timer; after it, refreshes wait for the next use.
	recordKeepWarm = 30 * time.Minute
	// recordNudge is the least age of a set that a message from its
	// account refreshes.
	recordNudge = 15 * time.Second
)

// dropRecordCache forgets every fetched record.
func (c *Client) dropRecordCache() {
	c.mu.Lock()
	for _, set := range c.recordCache {
		if set.timer != nil {
			set.timer.Stop()
		}
	}
	c.recordCache = nil
	c.mu.Unlock()
}

type recordCacheKey struct {
	account identity.AccountID
	class   prekey.Class
}

type cachedRecordSet struct {
	at   time.Time // when fetched, by the local clock
	used time.Time // last used for a seal
	recs []VerifiedRecord
	// refreshing is set while a background refresh runs; timer is the
	// next timed refresh.
	refreshing bool
	timer      *time.Timer
}

// cachedRecords is fetchRecords behind the record cache. Cached records
// are verified again at every use, so one that expired meanwhile is never
// sealed to; a set with one that fails, or an empty or too stale set, is
// fetched before use.
func (c *Client) cachedRecords(ctx context.Context, account identity.AccountID, cl prekey.Class) ([]VerifiedRecord, []RecordProblem, error) {
	key := recordCacheKey{account, cl}
	local := c.clock()
	c.mu.Lock()
	set, ok := c.recordCache[key]
	if ok {
		set.used = local
		c.recordCache[key] = set
	}
	stale, refresh := c.recordStale, c.recordRefresh
	c.mu.Unlock()
	if age := local.Sub(set.at); ok && age >= 0 && age < stale {
		now := c.now()
		fresh := make([]VerifiedRecord, 0, len(set.recs))
		for _, r := range set.recs {
			rec, err := devicerecord.Verify(r.Raw, account, now)
			if err != nil {
				break
			}
			fresh = append(fresh, VerifiedRecord{Record: rec, Raw: r.Raw, Hash: r.Hash})
		}
		if len(fresh) == len(set.recs) {
			if age >= refresh {
				c.refreshRecords(key, 0)
			}
			return fresh, nil, nil
		}
	}
	return c.fetchIntoCache(ctx, key)
}

// fetchIntoCache fetches key's records, merges them into the cache (never
// replacing a newer record of a device) and returns the merged set.
func (c *Client) fetchIntoCache(ctx context.Context, key recordCacheKey) ([]VerifiedRecord, []RecordProblem, error) {
	recs, problems, err := c.fetchRecords(ctx, key.account, key.class)
	var ne *NodeError
	if errors.As(err, &ne) && ne.Code == rpc.CodeWrongSwarm {
		// The directory was stale and is refreshed: ask the right swarm.
		recs, problems, err = c.fetchRecords(ctx, key.account, key.class)
	}
	if err != nil {
		return nil, nil, err
	}
	c.noteOwnRecords(key.account, recs)
	local, now := c.clock(), c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.recordCache[key]
	if had && old.timer != nil {
		old.timer.Stop()
	}
	for i, r := range recs {
		for _, o := range old.recs {
			if o.DeviceID == r.DeviceID && newerRecord(o.Record, r.Record) && o.ExpiresAt.After(now) {
				recs[i] = o
			}
		}
	}
	if len(recs) == 0 || c.closed {
		delete(c.recordCache, key)
		return recs, problems, nil
	}
	if c.recordCache == nil {
		c.recordCache = map[recordCacheKey]cachedRecordSet{}
	}
	set := cachedRecordSet{at: local, used: old.used, recs: recs, refreshing: old.refreshing}
	if !had {
		set.used = local
	}
	set.timer = time.AfterFunc(c.recordRefresh, func() {
		c.mu.Lock()
		s, ok := c.recordCache[key]
		c.mu.Unlock()
		if ok && c.clock().Sub(s.used) < recordKeepWarm {
			c.refreshRecords(key, 0)
		}
	})
	c.recordCache[key] = set
	return recs, problems, nil
}

// newerRecord reports whether a is a later record of its device than b,
// by devicerecord.Newest's order.
func newerRecord(a, b *devicerecord.Record) bool {
	return a.CreatedAt.After(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.After(b.ExpiresAt)
}

// refreshRecords fetches key's records in the background, unless a
// refresh is running already, the set is younger than minAge, or nothing
// is cached for key (a send fetches it when it needs it). A failure
// leaves the cache as it was.
func (c *Client) refreshRecords(key recordCacheKey, minAge time.Duration) {
	c.mu.Lock()
	set, ok := c.recordCache[key]
	if !ok || set.refreshing || c.closed || c.bgStop == nil || c.clock().Sub(set.at) < minAge {
		c.mu.Unlock()
		return
	}
	set.refreshing = true
	c.recordCache[key] = set
	c.bgWG.Add(1) // under mu, before Close can wait
	c.mu.Unlock()
	go func() {
		defer c.bgWG.Done()
		ctx, cancel := context.WithTimeout(c.bg, c.limits.poll)
		_, _, err := c.fetchIntoCache(ctx, key)
		cancel()
		c.mu.Lock()
		if set, ok := c.recordCache[key]; ok {
			set.refreshing = false
			c.recordCache[key] = set
		}
		c.mu.Unlock()
		if err != nil {
			c.log.Debug("refreshing device records in the background", "err", err)
		}
	}()
}

// forgetRecords drops key's cached records: the next use fetches them.
func (c *Client) forgetRecords(key recordCacheKey) {
	c.mu.Lock()
	if set, ok := c.recordCache[key]; ok {
		if set.timer != nil {
			set.timer.Stop()
		}
		delete(c.recordCache, key)
	}
	c.mu.Unlock()
}

// Protocol names the sealing protocol this Client uses between hush
// clients: "v2", or "v1" where a caller still runs the old seam.
func (c *Client) Protocol() string {
	if _, ok := c.seal.(*v2); ok {
		return "v2"
	}
	return "v1"
}

type depositTimeKey struct{}

// withDepositTime makes the stores made with ctx carry the deposit
// timestamp t instead of the current time. A node accepts a timestamp in
// the past as long as timestamp + TTL is not (rpc.StoreRequest.Check).
// Only record publication uses it; it is a context value so that the one
// store path serves every caller unchanged.
func withDepositTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, depositTimeKey{}, t)
}

// depositTime returns the deposit timestamp set by withDepositTime, or now
// when none is set or the one set is after now (a record made by a clock
// ahead of the network's: the node would refuse it as in the future).
func depositTime(ctx context.Context, now time.Time) time.Time {
	if t, ok := ctx.Value(depositTimeKey{}).(time.Time); ok && !t.IsZero() && !t.After(now) {
		return t
	}
	return now
}

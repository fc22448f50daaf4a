package client

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Config sync keeps what the user decided about contacts and conversations
// equal on every device of the account: nicknames, accepted requests and
// blocks (ConfigSync KIND_CONTACTS), disappearing settings and how far each
// conversation was read (KIND_CONVERSATIONS).
//
// Each kind is a map of entries, one per contact or conversation, and every
// device publishes the whole merged map, so any live device can bring a
// restored one up to date. An entry carries a stamp (the signed time of the
// change and the ID of the device that made it) and two maps merge entry by
// entry, the larger stamp winning: last writer wins, the same result on
// every device whatever order objects arrive in. Read state merges by
// maximum instead, since reading cannot be undone.
//
// Changes are found by comparing the database with the merged map at each
// sync, not by hooking every command that changes a contact: a change is
// stamped with the time of the sync that found it. A contact that only
// exists because it wrote to the user (a message request) projects to the
// empty entry, so a device receiving messages never outvotes a decision
// made on another device.

// Config object format.
const (
	configVersion = 1
	// configKeyLabel is the HKDF info that derives the config key from the
	// account seed: a phrase restore recovers it, and so config has no
	// forward secrecy (DESIGN.md §5).
	configKeyLabel = "hush/1 config key"
	configAADLabel = "hush/1 config"
	configSetting  = "client/config-state"
)

// stamp orders config changes: signed Unix milliseconds, then device ID.
type stamp struct {
	MS     int64           `json:"t"`
	Device prekey.DeviceID `json:"d"`
}

func (s stamp) after(o stamp) bool {
	if s.MS != o.MS {
		return s.MS > o.MS
	}
	return bytes.Compare(s.Device[:], o.Device[:]) > 0
}

// contactConfig is what syncs of a contact; the zero value is "no decision".
type contactConfig struct {
	Nickname string `json:"n,omitempty"`
	Accepted bool   `json:"a,omitempty"`
	Blocked  bool   `json:"b,omitempty"`
}

type contactEntry struct {
	contactConfig
	At stamp `json:"at"`
}

// convConfig is a conversation's disappearing setting.
type convConfig struct {
	Mode    clientdb.DisappearMode `json:"m,omitempty"`
	Seconds int64                  `json:"s,omitempty"`
}

type convEntry struct {
	convConfig
	At stamp `json:"at"`
	// ReadMS is the signed sent time of the newest incoming message read.
	ReadMS int64 `json:"r,omitempty"`
	// Flags are mute, pin and archive (chatflags.go), stamped apart from
	// the timer. Added in issue 22: an older config has none (zero
	// stamp, never winning), and an older device keeps them unread.
	Flags   chatFlags `json:"f,omitzero"`
	FlagsAt stamp     `json:"fa,omitzero"`
}

// configState is the merged config, keyed by Account ID (text). It is kept
// in the database's sealed settings; Dirty marks changes not yet published.
type configState struct {
	Contacts      map[string]contactEntry `json:"contacts,omitempty"`
	Conversations map[string]convEntry    `json:"conversations,omitempty"`
	Dirty         bool                    `json:"dirty,omitempty"`
	PublishedMS   int64                   `json:"published_ms,omitempty"`
	// Hashes are this device's newest objects, deleted once replaced.
	Hashes []string `json:"hashes,omitempty"`
	// Objects is set once this device published its config as account
	// objects (devices.go) rather than protocol v1: until then it
	// publishes at the next sync, replacing its v1 objects.
	Objects bool `json:"objects,omitempty"`
	// Scanned notes, per conversation, its activity, size and unread count
	// when its read mark was last computed. Local only, never published.
	Scanned map[string]string `json:"scanned,omitempty"`
}

func (c *Client) loadConfig() (*configState, error) {
	st := &configState{}
	b, err := c.db.Setting(configSetting)
	if err == nil {
		err = json.Unmarshal(b, st)
	} else if errors.Is(err, clientdb.ErrNotFound) {
		err = nil
	}
	if st.Contacts == nil {
		st.Contacts = map[string]contactEntry{}
	}
	if st.Conversations == nil {
		st.Conversations = map[string]convEntry{}
	}
	return st, err
}

func (c *Client) saveConfig(st *configState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return c.db.SetSetting(configSetting, b)
}

// syncConfig stamps local changes, merges the config objects in the swarm,
// applies what other devices decided and publishes when needed.
func (c *Client) syncConfig(ctx context.Context, members []snapshot.Node) error {
	// One sync at a time: each loads, merges and saves the whole state.
	c.configMu.Lock()
	defer c.configMu.Unlock()
	st, err := c.loadConfig()
	if err != nil {
		return err
	}
	base, err := c.stampLocal(st)
	if err != nil {
		return err
	}
	var remote []*configState
	pollErr := c.pollOwn(ctx, members, NamespaceConfig, func(content *envelope.Content) error {
		cs := content.GetConfigSync()
		if cs == nil {
			return fmt.Errorf("%w: not a config object", ErrDropped)
		}
		r, err := c.openConfig(cs)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDropped, err)
		}
		remote = append(remote, r)
		return nil
	})
	for _, r := range remote {
		mergeConfig(st, r)
	}
	applyErr := errors.Join(c.applyConfig(st, base), c.applyFlags(st))
	if err := c.saveConfig(st); err != nil {
		return err
	}
	if pollErr != nil || applyErr != nil {
		return errors.Join(pollErr, applyErr)
	}
	if !st.Dirty && st.Objects && c.now().Sub(time.UnixMilli(st.PublishedMS)) < refreshAfter {
		return nil
	}
	return c.publishConfig(ctx, st)
}

// configBase is the database's config as [Client.stampLocal] read it.
// The poll between stamping and applying waits on the network, and the
// user may change a setting meanwhile (SetTimer, a nickname, an accept):
// applyConfig changes only an entry the database still holds at its base
// value, so such a change is never overwritten by an older merged one;
// the next sync stamps it.
type configBase struct {
	contacts map[string]contactConfig
	convs    map[string]convConfig
}

// contactChanged reports whether the database's value of a contact is no
// longer the one stamped; an absent contact counts as the zero value.
func (b configBase) contactChanged(k string, now contactConfig) bool { return b.contacts[k] != now }

// convChanged is contactChanged for a conversation's timer.
func (b configBase) convChanged(k string, now convConfig) bool { return b.convs[k] != now }

// stampLocal compares the database with st and gives every entry that
// differs the database's value and a fresh stamp of this device. It
// returns the values it read.
func (c *Client) stampLocal(st *configState) (configBase, error) {
	contacts, convs, err := c.localConfig(st)
	if err != nil {
		return configBase{}, err
	}
	base := configBase{contacts: maps.Clone(contacts), convs: map[string]convConfig{}}
	for k, v := range convs {
		base.convs[k] = v.convConfig
	}
	at := stamp{MS: c.signTime().UnixMilli(), Device: c.device.ID}
	for _, k := range slices.Sorted(maps.Keys(st.Contacts)) {
		if _, ok := contacts[k]; !ok {
			contacts[k] = contactConfig{} // forgotten here: no decision
		}
	}
	for k, v := range contacts {
		if e := st.Contacts[k]; e.contactConfig != v {
			st.Contacts[k] = contactEntry{contactConfig: v, At: at}
			st.Dirty = true
		}
	}
	for k, v := range convs {
		e := st.Conversations[k]
		if e.convConfig != v.convConfig {
			e.convConfig, e.At = v.convConfig, at
			st.Dirty = true
		}
		if v.ReadMS > e.ReadMS {
			e.ReadMS = v.ReadMS
			st.Dirty = true
		}
		st.Conversations[k] = e
	}
	return base, c.stampFlags(st)
}

// localConfig projects the database onto config entries.
func (c *Client) localConfig(st *configState) (map[string]contactConfig, map[string]convEntry, error) {
	cts, err := c.db.Contacts()
	if err != nil {
		return nil, nil, err
	}
	contacts := map[string]contactConfig{}
	for _, ct := range cts {
		contacts[ct.Account.String()] = contactConfig{Nickname: ct.Nickname, Accepted: ct.Accepted, Blocked: ct.Blocked}
	}
	cvs, err := c.db.Conversations()
	if err != nil {
		return nil, nil, err
	}
	convs := map[string]convEntry{}
	if st.Scanned == nil {
		st.Scanned = map[string]string{}
	}
	for _, cv := range cvs {
		k := cv.Peer.String()
		e := convEntry{convConfig: convConfig{Mode: cv.Disappearing.Mode, Seconds: int64(cv.Disappearing.After / time.Second)}}
		// Finding the read mark reads messages; a conversation unchanged
		// since the last scan keeps its mark (Sync runs every few seconds
		// under receive --follow).
		sig := fmt.Sprintf("%d/%d/%d", cv.LastActivity.UnixMilli(), cv.Messages, cv.Unread)
		if st.Scanned[k] == sig {
			e.ReadMS = st.Conversations[k].ReadMS
			convs[k] = e
			continue
		}
		ms, err := c.db.Messages(cv.ID, clientdb.Page{Limit: clientdb.MaxPageSize})
		if err != nil {
			return nil, nil, err
		}
		for _, m := range slices.Backward(ms) {
			if m.Direction == clientdb.Incoming && m.Status == clientdb.StatusRead {
				e.ReadMS = m.SentAt.UnixMilli()
				break
			}
		}
		st.Scanned[k] = sig
		convs[k] = e
	}
	return contacts, convs, nil
}

// mergeConfig merges r into st: per entry, the larger stamp wins; read
// state takes the maximum.
func mergeConfig(st, r *configState) {
	for k, e := range r.Contacts {
		if e.At.after(st.Contacts[k].At) {
			st.Contacts[k] = e
		}
	}
	for k, e := range r.Conversations {
		cur, ok := st.Conversations[k]
		if !ok || e.At.after(cur.At) {
			cur.convConfig, cur.At = e.convConfig, e.At
		}
		cur.ReadMS = max(cur.ReadMS, e.ReadMS)
		if e.FlagsAt.after(cur.FlagsAt) {
			cur.Flags, cur.FlagsAt = e.Flags, e.FlagsAt
		}
		st.Conversations[k] = cur
	}
}

// applyConfig makes the database match st, except for entries the
// database changed since base was read. Nicknames can move between
// contacts, so a nickname another contact still holds is retried after the
// others are applied.
func (c *Client) applyConfig(st *configState, base configBase) error {
	now := c.clock()
	var retry []clientdb.Contact
	for _, k := range slices.Sorted(maps.Keys(st.Contacts)) {
		id, err := identity.ParseAccountID(k)
		if err != nil {
			continue
		}
		want := st.Contacts[k].contactConfig
		ct, err := c.db.ContactByAccount(id)
		var have contactConfig
		switch {
		case errors.Is(err, clientdb.ErrNotFound):
			ct = clientdb.Contact{Account: id}
		case err != nil:
			return err
		default:
			have = contactConfig{Nickname: ct.Nickname, Accepted: ct.Accepted, Blocked: ct.Blocked}
		}
		if have == want || base.contactChanged(k, have) {
			continue
		}
		ct.Nickname, ct.Accepted, ct.Blocked = want.Nickname, want.Accepted, want.Blocked
		if err := c.db.UpsertContact(ct, now); errors.Is(err, clientdb.ErrNicknameTaken) {
			retry = append(retry, ct)
		} else if err != nil {
			return err
		}
	}
	for _, ct := range retry {
		if err := c.db.UpsertContact(ct, now); err != nil {
			c.log.Warn("a synced nickname could not be applied", "err", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(st.Conversations)) {
		id, err := identity.ParseAccountID(k)
		if err != nil {
			continue
		}
		if err := c.applyTimer(id, k, st.Conversations[k], base, now); err != nil {
			return err
		}
	}
	return nil
}

// applyTimer is applyConfig for one conversation's timer, under timerMu:
// between its check against base and its write, a user's SetTimer or a
// peer's message must not slip in.
func (c *Client) applyTimer(id identity.AccountID, k string, e convEntry, base configBase, now time.Time) error {
	c.lockTimer()
	defer c.timerMu.Unlock()
	want := clientdb.Disappearing{Mode: e.Mode, After: time.Duration(e.Seconds) * time.Second}
	cv, err := c.db.Conversation(id)
	if errors.Is(err, clientdb.ErrNotFound) {
		if want == (clientdb.Disappearing{}) || base.convChanged(k, convConfig{}) {
			return nil
		}
	} else if err != nil {
		return err
	} else if cv.Disappearing == want || base.convChanged(k, convConfig{Mode: cv.Disappearing.Mode, Seconds: int64(cv.Disappearing.After / time.Second)}) {
		return c.applyRead(cv, e.ReadMS)
	}
	if err := c.db.SetDisappearing(id, want, now); err != nil {
		c.log.Warn("a synced disappearing setting could not be applied", "err", err)
		return nil
	}
	// A message older than the change must not set the timer back when
	// it reaches this device after the config did.
	if at := time.UnixMilli(e.At.MS); at.After(c.lastChange(id).At) {
		return c.recordChange(id, timerChange{By: c.acct.ID(), At: at})
	}
	return nil
}

// applyReadState marks read what another device read, for messages that
// arrived after the config did. Sync runs it after each poll.
func (c *Client) applyReadState() error {
	st, err := c.loadConfig()
	if err != nil {
		return err
	}
	cvs, err := c.db.Conversations()
	if err != nil {
		return err
	}
	for _, cv := range cvs {
		if e, ok := st.Conversations[cv.Peer.String()]; ok && cv.Unread > 0 {
			if err := c.applyRead(cv, e.ReadMS); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyRead marks cv's unread incoming messages sent at or before readMS
// read.
func (c *Client) applyRead(cv clientdb.Conversation, readMS int64) error {
	if cv.Unread == 0 || readMS == 0 {
		return nil
	}
	ms, err := c.db.Messages(cv.ID, clientdb.Page{Limit: clientdb.MaxPageSize})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Direction == clientdb.Incoming && m.Status == clientdb.StatusReceived && m.SentAt.UnixMilli() <= readMS {
			if _, err := c.db.SetMessageStatus(m.ID, clientdb.StatusRead, c.clock()); err != nil {
				return err
			}
		}
	}
	return nil
}

// publishConfig stores st, one object per kind, and deletes this device's
// previous objects: every object holds the whole merged state, so the
// newest of each device is all another device needs.
func (c *Client) publishConfig(ctx context.Context, st *configState) error {
	now := c.now()
	parts := []struct {
		kind envelope.ConfigSync_Kind
		body configState
	}{
		{envelope.ConfigSync_KIND_CONTACTS, configState{Contacts: st.Contacts}},
		{envelope.ConfigSync_KIND_CONVERSATIONS, configState{Conversations: st.Conversations}},
	}
	var hashes []string
	for _, p := range parts {
		seq := uint64(c.signTime().UnixMilli())
		plain, err := json.Marshal(p.body)
		if err != nil {
			return err
		}
		sealed, err := c.sealConfig(p.kind, seq, plain)
		if err != nil {
			return err
		}
		content := &envelope.Content{
			MessageId: randomID(),
			SentAtMs:  seq,
			Body: &envelope.Content_ConfigSync{ConfigSync: &envelope.ConfigSync{
				Kind: p.kind, Sequence: seq, Version: configVersion, SealedConfig: sealed,
			}},
		}
		h, err := c.storeOwn(ctx, NamespaceConfig, content, now)
		if err != nil {
			return fmt.Errorf("publish config: %w", err)
		}
		hashes = append(hashes, h)
	}
	old := st.Hashes
	st.Hashes, st.Dirty, st.PublishedMS, st.Objects = hashes, false, now.UnixMilli(), true
	if err := c.saveConfig(st); err != nil {
		return err
	}
	// Our own objects are in the seen set: deleting them saves space only.
	if err := c.deleteOwn(ctx, old); err != nil {
		c.log.Debug("old config objects not deleted", "err", err)
	}
	return nil
}

// configKey derives the account's config key from its seed.
func (c *Client) configKey() ([]byte, error) {
	seed := c.acct.Seed()
	return hkdf.Key(sha256.New, seed[:], nil, configKeyLabel, chacha20poly1305.KeySize)
}

// configAAD binds a sealed config object to its account, kind, sequence
// and version, so a node cannot pass one kind off as another or an object
// of one account as another's.
func configAAD(acct identity.AccountID, kind envelope.ConfigSync_Kind, seq uint64, version uint32) []byte {
	aad := append([]byte(configAADLabel), acct[:]...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(kind))
	aad = binary.BigEndian.AppendUint64(aad, seq)
	return binary.BigEndian.AppendUint32(aad, version)
}

// sealConfig encrypts a config object: XChaCha20-Poly1305 under the config
// key, random nonce first.
func (c *Client) sealConfig(kind envelope.ConfigSync_Kind, seq uint64, plain []byte) ([]byte, error) {
	key, err := c.configKey()
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, configAAD(c.acct.ID(), kind, seq, configVersion)), nil
}

// openConfig decrypts and parses a config object.
func (c *Client) openConfig(cs *envelope.ConfigSync) (*configState, error) {
	if cs.GetVersion() != configVersion {
		return nil, fmt.Errorf("%w: version %d", ErrConfig, cs.GetVersion())
	}
	key, err := c.configKey()
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	sealed := cs.GetSealedConfig()
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrConfig)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():],
		configAAD(c.acct.ID(), cs.GetKind(), cs.GetSequence(), cs.GetVersion()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return parseConfig(cs.GetKind(), plain)
}

// parseConfig decodes a decrypted object of kind, keeping only the part
// the kind names and entries keyed by a valid Account ID.
func parseConfig(kind envelope.ConfigSync_Kind, plain []byte) (*configState, error) {
	var in configState
	if err := json.Unmarshal(plain, &in); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	out := &configState{Contacts: map[string]contactEntry{}, Conversations: map[string]convEntry{}}
	switch kind {
	case envelope.ConfigSync_KIND_CONTACTS:
		for k, e := range in.Contacts {
			if _, err := identity.ParseAccountID(k); err == nil {
				out.Contacts[k] = e
			}
		}
	case envelope.ConfigSync_KIND_CONVERSATIONS:
		for k, e := range in.Conversations {
			d := clientdb.Disappearing{Mode: e.Mode, After: time.Duration(e.Seconds) * time.Second}
			if _, err := identity.ParseAccountID(k); err == nil && validDisappearing(d) {
				out.Conversations[k] = e
			}
		}
	default:
		return nil, fmt.Errorf("%w: kind %v", ErrConfig, kind)
	}
	return out, nil
}

// validDisappearing mirrors clientdb's check, so a bad entry is dropped on
// arrival rather than failing at every apply.
func validDisappearing(d clientdb.Disappearing) bool {
	switch d.Mode {
	case clientdb.DisappearOff:
		return d.After == 0
	case clientdb.DisappearAfterSend, clientdb.DisappearAfterRead:
		return d.After >= time.Second && d.After%time.Second == 0 && d.After/time.Second <= 1<<32-1
	}
	return false
}

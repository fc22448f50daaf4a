package client

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Namespaces of the account's own swarm beside 0 and 1 (see the package
// doc). Both are owner-only: only the account deposits and reads there.
const (
	// NamespaceDevices holds the account's device announcements.
	NamespaceDevices int32 = 2
	// NamespaceConfig holds sealed config objects (contacts, conversations).
	NamespaceConfig int32 = 3
)

// accountTTL is the lifetime of announcements and config objects: the
// longest an owner-only namespace allows (DESIGN.md §4). refreshAfter is
// how old a device's last announcement or config object may grow before it
// publishes a fresh one, so neither expires while the device is in use.
const (
	accountTTL   = rpc.MaxTTLPrivate
	refreshAfter = 7 * 24 * time.Hour
)

// EventNewDevice reports a device of this account that this device had not
// seen before (Event.Device). Its value stands apart from the message kinds
// so they can grow without renumbering it.
const EventNewDevice EventKind = 64

// Settings kept in the sealed settings table of the home's database.
const (
	deviceSetting = "client/device" // devicerecord.Device, binary
	// The last announcement, unix ms. Renamed when announcements moved off
	// protocol v1, so every device announces itself again in the new form.
	announcedSetting  = "client/device-announced/object"
	devicesSynced     = "client/devices-synced" // set after the first device poll
	newDevicesSetting = "client/new-devices"    // JSON list of IDs not yet shown
)

// Device is one device of the account, as its announcement described it.
type Device struct {
	ID        prekey.DeviceID
	PublicKey identity.Ed25519PublicKey
	// Created is what the device announced; FirstSeen when this device
	// first learnt of it.
	Created, FirstSeen time.Time
	// This is set for the device the Client runs on.
	This bool
}

// ensureDevice returns the home's device identity, creating and recording
// it if there is none.
func ensureDevice(db *clientdb.DB, self identity.AccountID, now time.Time) (*devicerecord.Device, error) {
	b, err := db.Setting(deviceSetting)
	if err == nil {
		return devicerecord.ParseDevice(b)
	}
	if !errors.Is(err, clientdb.ErrNotFound) {
		return nil, err
	}
	d := devicerecord.NewDevice()
	b, _ = d.MarshalBinary() // never fails
	if err := db.SetSetting(deviceSetting, b); err != nil {
		return nil, err
	}
	_, err = db.UpsertDevice(clientdb.Device{Account: self, ID: clientdb.DeviceID(d.ID), PublicKey: d.PublicKey().Bytes(), Created: now}, now)
	return d, err
}

// ThisDevice returns the ID of the device the Client runs on.
func (c *Client) ThisDevice() prekey.DeviceID { return c.device.ID }

// Devices lists the account's devices this device knows of (its own and
// those announced in the swarm), first seen first. It reads the local
// database only; [Client.Sync] and [Client.SyncAccount] bring news.
func (c *Client) Devices() ([]Device, error) {
	ds, err := c.db.Devices(c.acct.ID())
	if err != nil {
		return nil, err
	}
	out := make([]Device, len(ds))
	for i, d := range ds {
		pub, err := identity.Ed25519PublicKeyFromBytes(d.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", prekey.DeviceID(d.ID), err)
		}
		out[i] = Device{
			ID: prekey.DeviceID(d.ID), PublicKey: pub,
			Created: d.Created, FirstSeen: d.FirstSeen, This: d.ID == clientdb.DeviceID(c.device.ID),
		}
	}
	return out, nil
}

// TakeNewDevices returns the devices that appeared since the last call and
// forgets them, so each is shown once (by `hush receive` and `hush
// devices`). Devices already in the swarm when this one was set up are not
// news and never listed here.
func (c *Client) TakeNewDevices() ([]Device, error) {
	// Take the list and clear it in one step: a device the duties add
	// meanwhile (the daemon's Run) stays for the next call.
	var ids []prekey.DeviceID
	err := c.db.UpdateSetting(newDevicesSetting, func(old []byte) ([]byte, error) {
		var err error
		ids, err = decodeNewDevices(old)
		return nil, err
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	all, err := c.Devices()
	if err != nil {
		// Not shown: put them back for the next call.
		return nil, errors.Join(err, c.db.UpdateSetting(newDevicesSetting, func(old []byte) ([]byte, error) {
			now, err := decodeNewDevices(old)
			if err != nil {
				return nil, err
			}
			return json.Marshal(append(ids, now...))
		}))
	}
	var out []Device
	for _, d := range all {
		if slices.Contains(ids, d.ID) {
			out = append(out, d)
		}
	}
	return out, nil
}

func decodeNewDevices(b []byte) ([]prekey.DeviceID, error) {
	if b == nil {
		return nil, nil
	}
	var ids []prekey.DeviceID
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("setting %s: %w", newDevicesSetting, err)
	}
	return ids, nil
}

// SyncAccount announces this device if due, reads the account's device
// announcements and config objects, merges the config with the local
// database and publishes it when it changed. [Client.Sync] runs it before
// polling messages, so a restored device knows its contacts before their
// messages arrive and does not show them as requests.
func (c *Client) SyncAccount(ctx context.Context) error {
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return err
	}
	members = slices.Clone(members)
	mrand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	annErr := c.announce(ctx)
	devErr := c.pollDevices(ctx, members)
	cfgErr := c.syncConfig(ctx, members)
	return errors.Join(annErr, devErr, cfgErr)
}

// announce stores this device's announcement in the own swarm when there is
// none younger than refreshAfter.
func (c *Client) announce(ctx context.Context) error {
	now := c.now()
	if last, err := c.settingTime(announcedSetting); err != nil {
		return err
	} else if now.Sub(last) < refreshAfter {
		return nil
	}
	created := now
	if own, err := c.Devices(); err == nil {
		for _, d := range own {
			if d.This && !d.Created.IsZero() {
				created = d.Created
			}
		}
	}
	content := &envelope.Content{
		MessageId: randomID(),
		SentAtMs:  uint64(now.UnixMilli()),
		Body: &envelope.Content_DeviceAnnouncement{DeviceAnnouncement: &envelope.DeviceAnnouncement{
			DeviceId: c.device.ID[:], DevicePublicKey: c.device.PublicKey().Bytes(), CreatedAtMs: uint64(created.UnixMilli()),
		}},
	}
	if _, err := c.storeOwn(ctx, NamespaceDevices, content, now); err != nil {
		return fmt.Errorf("announce device: %w", err)
	}
	return c.setSettingTime(announcedSetting, now)
}

// pollDevices reads the account's announcements and records the devices in
// them. A device unknown here raises [EventNewDevice] and is kept for
// [Client.TakeNewDevices], except on this device's first poll for devices
// made before this one: those existed before it did (a restore finds the
// devices it was restored beside).
func (c *Client) pollDevices(ctx context.Context, members []snapshot.Node) error {
	_, err := c.db.Setting(devicesSynced)
	first := errors.Is(err, clientdb.ErrNotFound)
	if err != nil && !first {
		return err
	}
	var born time.Time // this device's creation
	if first {
		ds, err := c.Devices()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.This {
				born = d.Created
			}
		}
	}
	self := c.acct.ID()
	err = c.pollOwn(ctx, members, NamespaceDevices, func(content *envelope.Content) error {
		a := content.GetDeviceAnnouncement()
		if a == nil {
			return fmt.Errorf("%w: not a device announcement", ErrDropped)
		}
		d := clientdb.Device{Account: self, PublicKey: a.GetDevicePublicKey(), Created: time.UnixMilli(int64(a.GetCreatedAtMs()))}
		copy(d.ID[:], a.GetDeviceId())
		isNew, err := c.db.UpsertDevice(d, c.clock())
		if errors.Is(err, clientdb.ErrDeviceKeyChanged) {
			// Only the seed's holder can sign this: a bug, or the seed
			// is in other hands. Keep the first key and say so.
			c.log.Warn("a device of this account was announced with a new key", "device", prekey.DeviceID(d.ID))
			return fmt.Errorf("%w: %w", ErrDropped, err)
		}
		older := first && !d.Created.After(born)
		if err != nil || !isNew || older || d.ID == clientdb.DeviceID(c.device.ID) {
			return err
		}
		// One step, as TakeNewDevices may clear the list meanwhile.
		err = c.db.UpdateSetting(newDevicesSetting, func(old []byte) ([]byte, error) {
			ids, err := decodeNewDevices(old)
			if err != nil {
				return nil, err
			}
			return json.Marshal(append(ids, prekey.DeviceID(d.ID)))
		})
		if err != nil {
			return err
		}
		pub, err := identity.Ed25519PublicKeyFromBytes(d.PublicKey)
		if err != nil {
			return err
		}
		c.emit(Event{Kind: EventNewDevice, Device: Device{
			ID: prekey.DeviceID(d.ID), PublicKey: pub, Created: d.Created, FirstSeen: c.clock(),
		}})
		// Sync copies go to the new device from now on (v2keys.go).
		c.refreshRecords(recordCacheKey{c.acct.ID(), prekey.Sync}, 0)
		return nil
	})
	if err != nil {
		return err
	}
	if first {
		return c.db.SetSetting(devicesSynced, []byte{1})
	}
	return nil
}

// pollOwn fetches namespace ns of the own swarm from its cursor (minus the
// lookback), opens each message not seen before as an account object
// (openOwn) and hands it to fn. A message that does not open,
// or that fn rejects with ErrDropped, is dropped and counted.
func (c *Client) pollOwn(ctx context.Context, members []snapshot.Node, ns int32, fn func(*envelope.Content) error) error {
	name := cursorName(ns)
	cur, err := c.db.Cursor(name)
	if err != nil {
		return err
	}
	f := c.fetch(ctx, c.askOrder(members), ns, cur.Resume(c.lookback), c.pollBudget())
	if f.err != nil {
		return f.err
	}
	all := f.msgs
	hashes := make([]string, len(all))
	for i, m := range all {
		hashes[i] = m.Hash
	}
	unseen, err := c.db.Unseen(hashes...)
	if err != nil {
		return err
	}
	for _, m := range all {
		if !slices.Contains(unseen, m.Hash) {
			continue
		}
		content, err := c.openOwn(ns, m)
		if err == nil {
			err = fn(content)
		}
		if err != nil {
			if !errors.Is(err, ErrDropped) {
				return err
			}
			c.dropped.Add(1)
			c.log.Debug("dropped a fetched message", "namespace", ns, "err", err)
			c.emit(Event{Kind: EventDropped, Err: err})
		}
		if err := c.db.MarkSeen(c.seenUntil(), m.Hash); err != nil {
			return err
		}
	}
	if end := f.cursorEnd(); end != nil {
		if t := time.UnixMilli(end.ms); t.After(cur.Time) {
			return c.db.SetCursor(name, clientdb.Cursor{Position: end.hash, Time: t})
		}
	}
	return nil
}

// Account objects (device announcements, config objects) are what an
// account stores for its own devices. They must open on a device restored
// from the recovery phrase alone, which protocol v2's prekeys do not allow,
// so they are sealed under a key derived from the account seed:
// XChaCha20-Poly1305, random 24-byte nonce first, the AAD binding the
// account and the namespace. Protocol v1 sealed them to the account's
// X25519 key, which a quantum computer recovers from the public Account ID
// (docs/protocol-v2.md §10). Anyone with the seed can make one, as anyone
// with the seed could sign a v1 object.
const (
	objectKeyLabel = "hush/1 account object key"
	objectAADLabel = "hush/1 account object"
)

// objectAEAD returns the AEAD of account objects.
func (c *Client) objectAEAD() (cipher.AEAD, error) {
	seed := c.acct.Seed()
	key, err := hkdf.Key(sha256.New, seed[:], nil, objectKeyLabel, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.NewX(key)
}

func objectAAD(acct identity.AccountID, ns int32) []byte {
	aad := append([]byte(objectAADLabel), acct[:]...)
	return binary.BigEndian.AppendUint32(aad, uint32(ns))
}

// openOwn opens an account object fetched from the own swarm's namespace
// ns. Anything else there (protocol v1 objects included) is dropped.
func (c *Client) openOwn(ns int32, m rpc.Message) (*envelope.Content, error) {
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: data is not base64", ErrDropped)
	}
	if rpc.MessageHash(c.acct.ID(), ns, data) != m.Hash {
		return nil, fmt.Errorf("%w: hash does not match the data", ErrDropped)
	}
	env, err := envelope.UnmarshalEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	if env.GetType() != envelope.Envelope_TYPE_ACCOUNT_OBJECT {
		return nil, fmt.Errorf("%w: envelope type %v in namespace %d", ErrDropped, env.GetType(), ns)
	}
	aead, err := c.objectAEAD()
	if err != nil {
		return nil, err
	}
	sealed := env.GetContent()
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: account object of %d bytes", ErrDropped, len(sealed))
	}
	// The namespace is owner-only, but only the key proves the account
	// (its seed) wrote this: a node could place anything there.
	padded, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], objectAAD(c.acct.ID(), ns))
	if err != nil {
		return nil, fmt.Errorf("%w: account object does not open", ErrDropped)
	}
	plain, err := envelope.Unpad(padded)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	content, err := envelope.UnmarshalContent(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	return content, nil
}

// storeOwn seals content as an account object (see openOwn) and stores it
// in the own swarm's namespace ns for accountTTL.
func (c *Client) storeOwn(ctx context.Context, ns int32, content *envelope.Content, now time.Time) (string, error) {
	data, err := c.sealOwn(ns, content, now)
	if err != nil {
		return "", err
	}
	return c.store(ctx, c.acct.ID(), ns, accountTTL, data)
}

// sealOwn wraps content for the own swarm's namespace ns: padded, sealed as
// an account object, in an envelope.
func (c *Client) sealOwn(ns int32, content *envelope.Content, now time.Time) ([]byte, error) {
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return nil, err
	}
	aead, err := c.objectAEAD()
	if err != nil {
		return nil, err
	}
	padded := envelope.Pad(encoded)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(padded)+aead.Overhead())
	rand.Read(nonce)
	data, err := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: envelope.Envelope_TYPE_ACCOUNT_OBJECT, CoarseTimestampS: envelope.CoarseTimestamp(now),
		Content: aead.Seal(nonce, nonce, padded, objectAAD(c.acct.ID(), ns)),
	})
	if err != nil {
		return nil, err
	}
	if len(data) > rpc.MaxDataSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), rpc.MaxDataSize)
	}
	return data, nil
}

// seenUntil is when a hash fetched now stops being marked seen. It is
// computed here, never taken from a node's `expiration` (which a node
// chooses), and lasts as long as a tombstone (clientdb.DefaultTombstoneTTL):
// past that, no key that could open the message is left, so a replay of it
// is dropped again instead of stored.
func (c *Client) seenUntil() time.Time { return c.clock().Add(clientdb.DefaultTombstoneTTL) }

func (c *Client) settingTime(name string) (time.Time, error) {
	b, err := c.db.Setting(name)
	if errors.Is(err, clientdb.ErrNotFound) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, err
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return time.Time{}, fmt.Errorf("setting %s: %w", name, err)
	}
	return time.UnixMilli(ms), nil
}

func (c *Client) setSettingTime(name string, t time.Time) error {
	b, _ := json.Marshal(t.UnixMilli())
	return c.db.SetSetting(name, b)
}

func randomID() []byte {
	b := make([]byte, envelope.MessageIDSize)
	rand.Read(b)
	return b
}

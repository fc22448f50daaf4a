package clientdb

import (
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hushnet/hush/identity"
)

// DeviceID is a device's random 16-byte ID (envelope
// DeviceAnnouncement.device_id).
type DeviceID [16]byte

// ErrDeviceKeyChanged is returned by [DB.UpsertDevice] when a known device
// is announced with another public key. A device keeps its key for life, so
// the client should treat this as an attack or a bug and warn the user; the
// stored key is kept.
var ErrDeviceKeyChanged = errors.New("device announced with a different key")

// Device is one device of an account (the user's own or a contact's), as its
// announcement described it.
type Device struct {
	Account   identity.AccountID
	ID        DeviceID
	PublicKey []byte // the device's 32-byte Ed25519 key
	Name      string // chosen by the device's owner; display only
	Created   time.Time
	// Expires is when the latest protocol v2 record seen of the device
	// stops being valid (zero if none was seen): until then a sender
	// expects to find the device's record, and one missing was withheld.
	Expires time.Time
	// FirstSeen is when this database first learnt of the device; LastSeen
	// when it last saw an announcement.
	FirstSeen, LastSeen time.Time
}

type deviceSealed struct {
	Account   identity.AccountID `json:"account"`
	ID        DeviceID           `json:"id"`
	PublicKey []byte             `json:"pk"`
	Name      string             `json:"name,omitempty"`
	CreatedMS int64              `json:"created_ms"`
	ExpiresMS int64              `json:"expires_ms,omitempty"`
}

// UpsertDevice records an announcement of d seen at now and reports whether
// the device was new, which is when the client tells the user. A known
// device gets its name and LastSeen updated. It returns
// [ErrDeviceKeyChanged] when d.PublicKey differs from the stored key, and
// [ErrInvalid] for a zero now, a zero account or device ID, or a missing key.
func (db *DB) UpsertDevice(d Device, now time.Time) (bool, error) {
	if err := checkTime("now", now); err != nil {
		return false, err
	}
	if d.Account.IsZero() || d.ID == (DeviceID{}) || len(d.PublicKey) == 0 {
		return false, fmt.Errorf("%w: device needs an account, an ID and a key", ErrInvalid)
	}
	dk := db.k.lookupKey(lookupDevice, d.Account[:], d.ID[:])
	isNew := false
	err := db.write(false, func(tx *sql.Tx) error {
		old, err := db.scanDevice(tx.QueryRow("SELECT device_key, sealed, first_seen_ms, last_seen_ms FROM devices WHERE device_key = ?", dk))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			isNew = true
		case err != nil:
			return err
		case subtle.ConstantTimeCompare(old.PublicKey, d.PublicKey) != 1:
			return ErrDeviceKeyChanged
		default:
			if old.Expires.After(d.Expires) {
				d.Expires = old.Expires // an older record seen later does not shorten it
			}
		}
		plain, err := json.Marshal(deviceSealed{Account: d.Account, ID: d.ID, PublicKey: d.PublicKey, Name: d.Name, CreatedMS: nullMS(d.Created).Int64, ExpiresMS: nullMS(d.Expires).Int64})
		if err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO devices(device_key, account_key, sealed, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO UPDATE SET sealed = excluded.sealed, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
			dk, db.k.lookupKey(lookupAccount, d.Account[:]), seal(db.k.contacts, "devices.device", dk, plain), toMS(now), toMS(now))
		return err
	})
	return isNew, err
}

// ReplaceDeviceKey records d.PublicKey as the key of a known device, after
// the user confirmed a key change that [DB.UpsertDevice] refused with
// [ErrDeviceKeyChanged]. It returns [ErrNotFound] for an unknown device.
func (db *DB) ReplaceDeviceKey(d Device, now time.Time) error {
	if err := checkTime("now", now); err != nil {
		return err
	}
	if len(d.PublicKey) == 0 {
		return fmt.Errorf("%w: device needs a key", ErrInvalid)
	}
	dk := db.k.lookupKey(lookupDevice, d.Account[:], d.ID[:])
	return db.write(false, func(tx *sql.Tx) error {
		old, err := db.scanDevice(tx.QueryRow("SELECT device_key, sealed, first_seen_ms, last_seen_ms FROM devices WHERE device_key = ?", dk))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		old.PublicKey, old.Expires = d.PublicKey, d.Expires
		plain, err := json.Marshal(deviceSealed{Account: old.Account, ID: old.ID, PublicKey: old.PublicKey, Name: old.Name, CreatedMS: nullMS(old.Created).Int64, ExpiresMS: nullMS(old.Expires).Int64})
		if err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE devices SET sealed = ?, last_seen_ms = max(last_seen_ms, ?) WHERE device_key = ?",
			seal(db.k.contacts, "devices.device", dk, plain), toMS(now), dk)
		return err
	})
}

// Devices returns the known devices of account, first seen first.
func (db *DB) Devices(account identity.AccountID) ([]Device, error) {
	var ds []Device
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT device_key, sealed, first_seen_ms, last_seen_ms FROM devices WHERE account_key = ?",
			db.k.lookupKey(lookupAccount, account[:]))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := db.scanDevice(rows)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return rows.Err()
	})
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].FirstSeen.Equal(ds[j].FirstSeen) {
			return ds[i].FirstSeen.Before(ds[j].FirstSeen)
		}
		return string(ds[i].ID[:]) < string(ds[j].ID[:])
	})
	return ds, err
}

// DeleteDevice forgets a device (unlinked, or its announcement expired). It
// returns [ErrNotFound] if it was not known.
func (db *DB) DeleteDevice(account identity.AccountID, id DeviceID) error {
	return db.write(true, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM devices WHERE device_key = ?", db.k.lookupKey(lookupDevice, account[:], id[:]))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

func (db *DB) scanDevice(s scanner) (Device, error) {
	var (
		dk, sealed  []byte
		first, last int64
	)
	if err := s.Scan(&dk, &sealed, &first, &last); err != nil {
		return Device{}, err
	}
	pt, err := open(db.k.contacts, "devices.device", dk, sealed)
	if err != nil {
		return Device{}, err
	}
	var v deviceSealed
	if err := json.Unmarshal(pt, &v); err != nil {
		return Device{}, fmt.Errorf("%w: device: %w", ErrCorrupt, err)
	}
	return Device{Account: v.Account, ID: v.ID, PublicKey: v.PublicKey, Name: v.Name, Created: fromNullMS(sql.NullInt64{Int64: v.CreatedMS, Valid: v.CreatedMS != 0}),
		Expires:   fromNullMS(sql.NullInt64{Int64: v.ExpiresMS, Valid: v.ExpiresMS != 0}),
		FirstSeen: fromMS(first), LastSeen: fromMS(last)}, nil
}

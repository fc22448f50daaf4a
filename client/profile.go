package client

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// Settings kept in the database (sealed, names as keyed hashes). The
// profile name and the receipts switch live there, beside the contacts'
// accepted and blocked flags and the conversations' timers, so the config
// sync of the account's devices can read them in one place.
const (
	settingProfileName = "profile/display-name"
	settingReceipts    = "client/receipts"
)

// MaxProfileNameLen is the longest display name, in bytes (clientdb's
// limit for contacts' display names, so a receiver can store it).
const MaxProfileNameLen = 100

// SetProfileName sets the display name sent with every later message
// (DataMessage.profile). Receivers show it only as a hint beside the
// Account ID and never address anyone by it. An empty name stops sending
// one. It returns [ErrBadProfileName].
func (c *Client) SetProfileName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		if err := c.db.DeleteSetting(settingProfileName); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
			return err
		}
		return nil
	}
	if !utf8.ValidString(name) || len(name) > MaxProfileNameLen {
		return fmt.Errorf("%w: at most %d bytes of UTF-8", ErrBadProfileName, MaxProfileNameLen)
	}
	return c.db.SetSetting(settingProfileName, []byte(name))
}

// ProfileName returns the display name set with [Client.SetProfileName],
// empty if none.
func (c *Client) ProfileName() (string, error) {
	b, err := c.db.Setting(settingProfileName)
	if errors.Is(err, clientdb.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// profile is the Profile sent with a message: the name and the avatar's
// pointer (avatar.go), nil without either.
func (c *Client) profile() *envelope.Profile {
	name, _ := c.ProfileName()
	av := c.avatarPointer()
	if name == "" && av == nil {
		return nil
	}
	return &envelope.Profile{DisplayName: name, Avatar: av}
}

// SetReceipts turns delivery and read receipts on or off. They are off by
// default, as in Session: a receipt tells the sender when this device was
// online and when the user read. The setting is local to this device; it
// governs only the receipts this device sends, while receipts that arrive
// are always applied.
func (c *Client) SetReceipts(on bool) error {
	v := []byte("off")
	if on {
		v = []byte("on")
	}
	return c.db.SetSetting(settingReceipts, v)
}

// Receipts reports whether this device sends receipts.
func (c *Client) Receipts() (bool, error) {
	b, err := c.db.Setting(settingReceipts)
	if errors.Is(err, clientdb.ErrNotFound) {
		return false, nil
	}
	return string(b) == "on", err
}

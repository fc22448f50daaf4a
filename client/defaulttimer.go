package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// settingDefaultTimer holds the disappearing setting that conversations
// the user starts begin with (JSON: a Timer's mode and after_ns).
const settingDefaultTimer = "disappear/default"

// DefaultTimer returns the disappearing setting a conversation the user
// starts begins with: off unless [Client.SetDefaultTimer] chose one.
func (c *Client) DefaultTimer() (Timer, error) {
	b, err := c.db.Setting(settingDefaultTimer)
	if errors.Is(err, clientdb.ErrNotFound) {
		return Timer{Mode: DisappearOff}, nil
	} else if err != nil {
		return Timer{}, err
	}
	var t Timer
	if err := json.Unmarshal(b, &t); err != nil {
		return Timer{}, fmt.Errorf("setting %s: %w", settingDefaultTimer, err)
	}
	return t, nil
}

// SetDefaultTimer sets the disappearing setting (mode and after, as for
// [Client.SetTimer]) of the conversations the user starts from now on:
// the first message sent to an account with no conversation here carries
// it, so the other side adopts it too. Existing conversations keep theirs,
// and a conversation a stranger opened keeps the one the stranger chose.
// It returns [ErrBadTimer] for a bad setting.
func (c *Client) SetDefaultTimer(mode string, after time.Duration) error {
	d, err := toDB(mode, after)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(Timer{Mode: modeName(d.Mode), After: d.After})
	return c.db.SetSetting(settingDefaultTimer, b)
}

// startConversation returns the conversation with peer for an outgoing
// message, creating it with the default timer when there is none yet.
func (c *Client) startConversation(peer identity.AccountID) (clientdb.Conversation, error) {
	// Under timerMu from the check on: a stranger's first message
	// (adoptTimer) must not open the conversation in between, or its
	// timer would be overwritten with the default.
	c.lockTimer()
	defer c.timerMu.Unlock()
	if cv, err := c.db.Conversation(peer); !errors.Is(err, clientdb.ErrNotFound) {
		return cv, err
	}
	cv, err := c.db.EnsureConversation(peer, c.clock())
	if err != nil {
		return cv, err
	}
	t, err := c.DefaultTimer()
	if err != nil || t.Mode == DisappearOff {
		return cv, err
	}
	d, err := toDB(t.Mode, t.After)
	if err != nil {
		return cv, err
	}
	if err := c.db.SetDisappearing(peer, d, c.clock()); err != nil {
		return cv, err
	}
	// Named as the user's own change, so an older change from the peer
	// arriving later does not override it.
	if err := c.recordChange(peer, timerChange{By: c.acct.ID(), At: c.now()}); err != nil {
		return cv, err
	}
	return c.db.Conversation(peer)
}

// CheckTimer returns [ErrBadTimer] when mode and after are no valid
// disappearing setting for [Client.SetTimer] or [Client.SetDefaultTimer].
func CheckTimer(mode string, after time.Duration) error {
	_, err := toDB(mode, after)
	return err
}

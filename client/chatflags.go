package client

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Mute, pin and archive (issue 22 item 5) are per-conversation flags, 1:1
// chats and groups alike, that sync to the account's other devices in the
// KIND_CONVERSATIONS config (config.go) as one more part of a
// conversation's entry, with its own stamp, so a flag change and a timer
// change made on two devices do not overwrite each other.
//
// The device's own copy is a sealed setting holding each conversation's
// flags with the stamp of the change that set them. Setting a flag stamps
// it at once; a config sync merges that map and the config's both ways,
// the larger stamp winning, so a flag changed while a sync is on its way
// through the network is neither lost nor undone.
//
// Archiving hides a conversation from the main list until a message newer
// than the archiving arrives (either side's), unless the conversation is
// muted, in which case it stays archived (as Signal and Session do). That
// rule is computed when the list is read, from the archive time that
// travels with the flag, so no device writes anything when a message
// arrives and every device agrees.

// ChatFlags are a conversation's mute, pin and archive flags.
type ChatFlags struct {
	// Muted: its messages raise no notification (daemon notification
	// events; receive marks them) and it stays archived when archived.
	Muted bool `json:"muted,omitempty"`
	// Pinned conversations come first in the list.
	Pinned bool `json:"pinned,omitempty"`
	// Archived conversations are listed by [Client.ArchivedConversations]
	// instead of [Client.Conversations].
	Archived bool `json:"archived,omitempty"`
}

// chatFlags is ChatFlags as it syncs: ArchivedMS is when the archive flag
// was set (signed time), against which a newer message brings it back.
type chatFlags struct {
	Muted      bool  `json:"m,omitempty"`
	Pinned     bool  `json:"p,omitempty"`
	Archived   bool  `json:"a,omitempty"`
	ArchivedMS int64 `json:"am,omitempty"`
}

// flagEntry is one conversation's flags with the stamp of their change.
type flagEntry struct {
	Flags chatFlags `json:"f"`
	At    stamp     `json:"at"`
}

// settingChatFlags holds this device's map of flagEntry by Account ID.
const settingChatFlags = "local/chat-flags"

// SetMuted mutes or unmutes the conversation with peer (a contact, a
// group or the own account). It returns [ErrBadAccountID] for an unusable
// ID.
func (c *Client) SetMuted(peer identity.AccountID, on bool) error {
	return c.setFlag(peer, func(f *chatFlags) { f.Muted = on })
}

// SetPinned pins the conversation with peer to the top of the list, or
// unpins it.
func (c *Client) SetPinned(peer identity.AccountID, on bool) error {
	return c.setFlag(peer, func(f *chatFlags) { f.Pinned = on })
}

// SetArchived archives the conversation with peer (hidden from
// [Client.Conversations] until a newer message, unless muted), or brings
// it back.
func (c *Client) SetArchived(peer identity.AccountID, on bool) error {
	at := c.signTime().UnixMilli()
	return c.setFlag(peer, func(f *chatFlags) {
		f.Archived, f.ArchivedMS = on, 0
		if on {
			f.ArchivedMS = at
		}
	})
}

// ChatFlagsOf returns the flags of the conversation with peer as they
// stand: Archived is false once a newer message brought an unmuted
// conversation back.
func (c *Client) ChatFlagsOf(peer identity.AccountID) (ChatFlags, error) {
	m, err := c.loadFlags()
	if err != nil {
		return ChatFlags{}, err
	}
	var last time.Time
	if cv, err := c.db.Conversation(peer); err == nil {
		last = cv.LastActivity
	}
	return m[peer.String()].Flags.view(last), nil
}

// ArchivedConversations lists the archived conversations, most recently
// active first.
func (c *Client) ArchivedConversations() ([]Conversation, error) {
	all, err := c.allConversations()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(cv Conversation) bool { return !cv.Archived }), nil
}

// view is f as the user sees it, for a conversation last active at last.
func (f chatFlags) view(last time.Time) ChatFlags {
	v := ChatFlags{Muted: f.Muted, Pinned: f.Pinned, Archived: f.Archived}
	if v.Archived && !v.Muted && last.UnixMilli() > f.ArchivedMS {
		v.Archived = false
	}
	return v
}

func (c *Client) setFlag(peer identity.AccountID, change func(*chatFlags)) error {
	if _, err := peer.X25519(); err != nil && !IsGroupID(peer) {
		return errors.Join(ErrBadAccountID, err)
	}
	c.flagsMu.Lock()
	defer c.flagsMu.Unlock()
	m, err := c.loadFlags()
	if err != nil {
		return err
	}
	e := m[peer.String()]
	change(&e.Flags)
	e.At = stamp{MS: c.signTime().UnixMilli(), Device: c.device.ID}
	m[peer.String()] = e
	return c.saveFlags(m)
}

func (c *Client) loadFlags() (map[string]flagEntry, error) {
	m := map[string]flagEntry{}
	b, err := c.db.Setting(settingChatFlags)
	if errors.Is(err, clientdb.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(b, &m)
}

func (c *Client) saveFlags(m map[string]flagEntry) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.db.SetSetting(settingChatFlags, b)
}

// stampFlags copies into st the flags changed here since they were last
// merged (the larger stamp wins).
func (c *Client) stampFlags(st *configState) error {
	m, err := c.loadFlags()
	if err != nil {
		return err
	}
	for k, le := range m {
		e := st.Conversations[k]
		if le.At.after(e.FlagsAt) {
			e.Flags, e.FlagsAt = le.Flags, le.At
			st.Conversations[k] = e
			st.Dirty = true
		}
	}
	return nil
}

// applyFlags copies into this device's flags what the merged config holds
// newer (another device's changes).
func (c *Client) applyFlags(st *configState) error {
	c.flagsMu.Lock()
	defer c.flagsMu.Unlock()
	m, err := c.loadFlags()
	if err != nil {
		return err
	}
	changed := false
	for k, e := range st.Conversations {
		if e.FlagsAt.after(m[k].At) {
			m[k] = flagEntry{Flags: e.Flags, At: e.FlagsAt}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return c.saveFlags(m)
}

// sortConversations puts pinned conversations first, each part most
// recently active first (the order db.Conversations gives, kept stable).
func sortConversations(cs []Conversation) {
	slices.SortStableFunc(cs, func(a, b Conversation) int {
		switch {
		case a.Pinned == b.Pinned:
			return 0
		case a.Pinned:
			return -1
		}
		return 1
	})
}

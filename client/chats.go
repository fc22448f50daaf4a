package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// looksLikeID reports whether s is meant as an Account ID rather than a
// nickname: long runs of hex digits. Such strings are refused as
// nicknames, so a nickname can never shadow an Account ID.
func looksLikeID(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 16 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// Resolve turns what a user typed into an Account ID: a full Account ID,
// or the nickname of a contact. It returns [ErrBadAccountID] for hex that
// is not a valid Account ID and [ErrUnknownContact] for a name no contact
// has. Display names the other side chose are never consulted.
func (c *Client) Resolve(s string) (identity.AccountID, error) {
	if id, err := ParseGroupID(s); err == nil {
		return id, nil // a group's ID (group.go)
	}
	if id, err := identity.ParseAccountID(strings.TrimSpace(s)); err == nil {
		return id, nil
	} else if looksLikeID(s) {
		return identity.AccountID{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	ct, err := c.db.ContactByNickname(s)
	if errors.Is(err, clientdb.ErrNotFound) {
		// Else the name of exactly one group.
		if id, gerr := c.ResolveGroup(s); gerr == nil {
			return id, nil
		}
		if s == NoteToSelfAlias {
			return c.acct.ID(), nil // notetoself.go
		}
		return identity.AccountID{}, fmt.Errorf("%w: %q", ErrUnknownContact, s)
	} else if err != nil {
		return identity.AccountID{}, err
	}
	return ct.Account, nil
}

// AddContact adds or renames a contact. It returns
// [ErrNicknameTaken] when another contact has the nickname, and
// [ErrBadAccountID] for an unusable ID or a nickname that looks like one.
func (c *Client) AddContact(id identity.AccountID, nickname string) error {
	if _, err := id.X25519(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	if looksLikeID(nickname) {
		return fmt.Errorf("%w: a nickname must not look like an Account ID", clientdb.ErrInvalid)
	}
	ct, err := c.db.ContactByAccount(id)
	if errors.Is(err, clientdb.ErrNotFound) {
		ct = clientdb.Contact{Account: id}
	} else if err != nil {
		return err
	}
	ct.Nickname, ct.Accepted = strings.TrimSpace(nickname), true
	return c.db.UpsertContact(ct, c.clock())
}

// Contacts returns every contact, in clientdb's order.
func (c *Client) Contacts() ([]Contact, error) {
	cs, err := c.db.Contacts()
	if err != nil {
		return nil, err
	}
	out := make([]Contact, len(cs))
	for i, ct := range cs {
		out[i] = Contact{Account: ct.Account, Nickname: ct.Nickname, Blocked: ct.Blocked, Created: ct.Created}
		out[i].Avatar, _ = c.HasAvatar(ct.Account)
	}
	return out, nil
}

func (c *Client) nicknames() (map[identity.AccountID]string, error) {
	cs, err := c.db.Contacts()
	if err != nil {
		return nil, err
	}
	m := make(map[identity.AccountID]string, len(cs))
	for _, ct := range cs {
		m[ct.Account] = ct.Nickname
	}
	return m, nil
}

// Conversations lists the conversations, pinned ones first, each part
// most recently active first; message requests are listed by
// [Client.Requests] and archived conversations by
// [Client.ArchivedConversations] instead (chatflags.go).
func (c *Client) Conversations() ([]Conversation, error) {
	all, err := c.allConversations()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(cv Conversation) bool { return cv.Archived }), nil
}

// allConversations is Conversations with the archived ones.
func (c *Client) allConversations() ([]Conversation, error) {
	c.expireLocal()
	cs, err := c.db.Conversations()
	if err != nil {
		return nil, err
	}
	flags, err := c.loadFlags()
	if err != nil {
		return nil, err
	}
	self := c.acct.ID()
	out := make([]Conversation, 0, len(cs))
	for _, cv := range cs {
		f := flags[cv.Peer.String()].Flags.view(cv.LastActivity)
		if req, ok := c.groupRequest(cv.Peer); ok {
			// A group: its name, no contact (group.go).
			if !req {
				g, _ := c.GroupInfo(cv.Peer)
				out = append(out, Conversation{Peer: cv.Peer, Group: true, Nickname: g.Name, Unread: cv.Unread, Messages: cv.Messages, LastActivity: cv.LastActivity, DisappearAfter: g.DisappearAfter,
					Muted: f.Muted, Pinned: f.Pinned, Archived: f.Archived})
			}
			continue
		}
		st, err := c.requestState(cv.Peer)
		if err != nil {
			return nil, err
		}
		if st.isRequest() {
			continue
		}
		o := Conversation{Peer: cv.Peer, Nickname: st.nickname, DisplayName: st.display, Unread: cv.Unread, Messages: cv.Messages, LastActivity: cv.LastActivity,
			Muted: f.Muted, Pinned: f.Pinned, Archived: f.Archived}
		if cv.Peer.Equal(self) {
			o.NoteToSelf, o.Nickname = true, NoteToSelfName // notetoself.go
		}
		if cv.Disappearing.Mode != clientdb.DisappearOff {
			o.DisappearAfter, o.DisappearMode = cv.Disappearing.After, modeName(cv.Disappearing.Mode)
		}
		o.DisappearChangedBy = c.lastChange(cv.Peer).By
		out = append(out, o)
	}
	sortConversations(out)
	return out, nil
}

// History returns the conversation with peer, oldest first (signed send
// time). It returns [ErrNotFound] when there is none.
func (c *Client) History(peer identity.AccountID) ([]Message, error) {
	c.expireLocal() // a deadline that passed while no command ran
	cv, err := c.db.Conversation(peer)
	if err != nil {
		return nil, err
	}
	var all []clientdb.Message
	p := clientdb.Page{Limit: clientdb.MaxPageSize}
	for {
		ms, err := c.db.Messages(cv.ID, p)
		if err != nil {
			return nil, err
		}
		all = append(ms, all...)
		if len(ms) < clientdb.MaxPageSize {
			break
		}
		p.Before = ms[0].ID
	}
	out := make([]Message, len(all))
	for i, m := range all {
		out[i] = toMessage(peer, m)
	}
	c.decorate(out)
	return out, nil
}

// MarkRead marks every unread incoming message of the conversation with
// peer read and returns how many changed: read receipts are queued (when
// receipts are on and peer is an accepted contact) and after-read timers
// start, and both are sent at once when the network answers, else by the
// next background duties. It returns [ErrNotFound] when there is no
// conversation with peer.
func (c *Client) MarkRead(ctx context.Context, peer identity.AccountID) (int, error) {
	cv, err := c.db.Conversation(peer)
	if err != nil {
		return 0, err
	}
	if cv.Unread == 0 {
		return 0, nil
	}
	ms, err := c.db.MarkRead(cv.ID, c.clock())
	if err != nil {
		return 0, err
	}
	if err := c.afterRead(peer, ms); err != nil {
		return len(ms), err
	}
	if len(ms) > 0 {
		if err := c.Flush(ctx); err != nil && !errors.Is(err, ErrUnreachable) {
			c.log.Debug("after marking read", "err", err)
		}
	}
	return len(ms), nil
}

// pendingDeletes is the setting holding own-swarm hashes whose remote
// deletion has not succeeded yet.
const pendingDeletes = "client/pending-deletes"

// DeleteChat deletes the conversation with peer: locally (with a
// tombstone, so the next poll does not bring it back), its sync copies and
// the incoming copies in the own swarm. Remote deletion that cannot reach
// the network now is retried by later background duties; the returned
// error then wraps [ErrUnreachable], while the local deletion is done.
func (c *Client) DeleteChat(ctx context.Context, peer identity.AccountID) (int, error) {
	d, err := c.db.DeleteConversation(peer, c.clock())
	if err != nil {
		return 0, err
	}
	if err := errors.Join(c.dropDeleted(d), c.removePeerAvatar(peer)); err != nil { // media.go, avatar.go
		return d.Messages, err
	}
	return d.Messages, c.retryDeletes(ctx)
}

// DeleteMessage deletes the message with local ID localID for this account
// only ("delete for me"): here, with its media and a tombstone so the next
// poll does not bring it back, and its copy in the own swarm (an incoming
// message's inbox copy, an outgoing one's sync copy), so another device
// that has not fetched it yet will not. Like [Client.DeleteChat] it sends
// nothing to anyone: a device that already holds the message keeps it. It
// raises an [EventUnsent] for the message. It returns [ErrNotFound] for
// an unknown (or already deleted) message; remote deletion that cannot
// reach the network now is retried by later background duties and the
// returned error then wraps [ErrUnreachable], while the local deletion is
// done.
func (c *Client) DeleteMessage(ctx context.Context, localID int64) error {
	m, err := c.db.Message(clientdb.LocalID(localID))
	if err != nil {
		return err
	}
	d, err := c.db.DeleteMessage(clientdb.LocalID(localID), c.clock())
	if err != nil {
		return err
	}
	c.emitUnsent(m)
	if err := c.dropDeleted(d); err != nil { // media.go
		return err
	}
	return c.retryDeletes(ctx)
}

func (c *Client) loadPending() ([]string, error) {
	b, err := c.db.Setting(pendingDeletes)
	if errors.Is(err, clientdb.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return decodePending(b)
}

func decodePending(b []byte) ([]string, error) {
	if b == nil {
		return nil, nil
	}
	var hs []string
	if err := json.Unmarshal(b, &hs); err != nil {
		return nil, fmt.Errorf("%w: pending deletions: %w", clientdb.ErrCorrupt, err)
	}
	return hs, nil
}

// updatePending changes the pending deletions in one transaction: the
// expiry loop, user actions and the duties' retry change them at once.
func (c *Client) updatePending(fn func([]string) []string) error {
	return c.db.UpdateSetting(pendingDeletes, func(old []byte) ([]byte, error) {
		hs, err := decodePending(old)
		if err != nil {
			return nil, err
		}
		hs = fn(hs)
		if len(hs) == 0 {
			return nil, nil
		}
		slices.Sort(hs)
		b, _ := json.Marshal(slices.Compact(hs))
		return b, nil
	})
}

func (c *Client) addPendingDeletes(hs []string) error {
	if len(hs) == 0 {
		return nil
	}
	return c.updatePending(func(cur []string) []string { return append(cur, hs...) })
}

// retryDeletes deletes the pending hashes from the own swarm and the
// pending pieces from the file server (media.go).
func (c *Client) retryDeletes(ctx context.Context) error {
	return errors.Join(c.retrySwarmDeletes(ctx), c.retryBlobDeletes(ctx))
}

func (c *Client) retrySwarmDeletes(ctx context.Context) error {
	hs, err := c.loadPending()
	if err != nil || len(hs) == 0 {
		return err
	}
	if err := c.deleteOwn(ctx, hs); err != nil {
		return err
	}
	// Keep hashes added meanwhile (by this process or another) for the
	// next run.
	return c.updatePending(func(now []string) []string {
		return slices.DeleteFunc(now, func(h string) bool { _, found := slices.BinarySearch(hs, h); return found })
	})
}

// Usage reports the storage the home's messages and database use.
func (c *Client) Usage() (Usage, error) {
	u, err := c.db.Usage()
	if err != nil {
		return Usage{}, err
	}
	nicks, err := c.nicknames()
	if err != nil {
		return Usage{}, err
	}
	ob, err := c.db.Outbox()
	if err != nil {
		return Usage{}, err
	}
	out := Usage{MessageBytes: u.MessageBytes, DatabaseBytes: u.FileBytes + u.WALBytes, Outbox: len(ob),
		Conversations: make([]ConversationUsage, len(u.Conversations))}
	for i, cu := range u.Conversations {
		out.Conversations[i] = ConversationUsage{Peer: cu.Peer, Nickname: nicks[cu.Peer], Messages: cu.Messages, MessageBytes: cu.MessageBytes}
	}
	return out, nil
}

// SetDisappearAfterSend sets the conversation with peer to disappear
// after after (whole seconds), or turns it off with zero: later messages
// carry the setting, and their swarm copies live no longer than it.
func (c *Client) SetDisappearAfterSend(peer identity.AccountID, after time.Duration) error {
	d := clientdb.Disappearing{}
	if after != 0 {
		d = clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: after}
	}
	if _, err := c.db.EnsureConversation(peer, c.clock()); err != nil {
		return err
	}
	return c.db.SetDisappearing(peer, d, c.clock())
}

package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Request is a conversation opened by an account the user has not
// accepted: its first message came from an unknown Account ID. It stays
// out of [Client.Conversations] until [Client.Accept].
type Request struct {
	Peer identity.AccountID `json:"peer"`
	// Group: an invitation to the closed group Peer, named DisplayName,
	// from InvitedBy (accept with [Client.Accept] or
	// [Client.AcceptGroup]).
	Group     bool               `json:"group,omitempty"`
	InvitedBy identity.AccountID `json:"invited_by,omitzero"`
	// DisplayName is the name the peer chose in its profile: a hint only.
	DisplayName  string    `json:"display_name,omitempty"`
	Messages     int       `json:"messages"`
	Unread       int       `json:"unread"`
	LastActivity time.Time `json:"last_activity"`
}

// peerState is what the contacts table says about an account.
type peerState struct {
	known, accepted, blocked bool
	nickname, display        string
}

func (c *Client) peerState(id identity.AccountID) (peerState, error) {
	ct, err := c.db.ContactByAccount(id)
	if errors.Is(err, clientdb.ErrNotFound) {
		return peerState{}, nil
	} else if err != nil {
		return peerState{}, err
	}
	return peerState{known: true, accepted: ct.Accepted, blocked: ct.Blocked, nickname: ct.Nickname, display: ct.DisplayName}, nil
}

// isRequest reports whether a conversation with the account is a message
// request, as far as its contact says.
func (s peerState) isRequest() bool { return !s.accepted && !s.blocked }

// requestState is peerState for a conversation: one the user wrote in is
// no request even without an accepted contact (homes from before
// requests existed), and its contact is accepted on the way.
func (c *Client) requestState(peer identity.AccountID) (peerState, error) {
	st, err := c.peerState(peer)
	if err != nil || !st.isRequest() {
		return st, err
	}
	cv, err := c.db.Conversation(peer)
	if errors.Is(err, clientdb.ErrNotFound) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	p := clientdb.Page{Limit: clientdb.MaxPageSize}
	for {
		ms, err := c.db.Messages(cv.ID, p)
		if err != nil {
			return st, err
		}
		for _, m := range ms {
			if m.Direction == clientdb.Outgoing {
				st.accepted = true
				return st, c.Accept(peer)
			}
		}
		if len(ms) < clientdb.MaxPageSize {
			return st, nil
		}
		p.Before = ms[0].ID
	}
}

// Requests lists the pending message requests, most recently active
// first. Blocked accounts are not listed.
func (c *Client) Requests() ([]Request, error) {
	c.expireLocal()
	cs, err := c.db.Conversations()
	if err != nil {
		return nil, err
	}
	var out []Request
	for _, cv := range cs {
		if req, ok := c.groupRequest(cv.Peer); ok {
			if req {
				g, _ := c.GroupInfo(cv.Peer)
				out = append(out, Request{Peer: cv.Peer, Group: true, InvitedBy: g.InvitedBy, DisplayName: g.Name, Messages: cv.Messages, Unread: cv.Unread, LastActivity: cv.LastActivity})
			}
			continue
		}
		st, err := c.requestState(cv.Peer)
		if err != nil {
			return nil, err
		}
		if st.isRequest() {
			out = append(out, Request{Peer: cv.Peer, DisplayName: st.display, Messages: cv.Messages, Unread: cv.Unread, LastActivity: cv.LastActivity})
		}
	}
	return out, nil
}

// Accept accepts peer's message request (or an account not heard from
// yet): its conversation moves to the chats and receipts may go to it.
// Writing to an account accepts it too.
func (c *Client) Accept(peer identity.AccountID) error {
	if IsGroupID(peer) {
		// An invitation: joined here; the next background duties fetch
		// the group (AcceptGroup does at once).
		return c.updateGroup(peer, func(g *groupState) error {
			if g.Status != GroupInvited {
				return nil
			}
			g.Status, g.Invite = GroupJoined, nil
			return c.queueGroupSync(g)
		})
	}
	return c.setContactFlags(peer, func(ct *clientdb.Contact) { ct.Accepted = true })
}

// DeleteRequest refuses peer's message request: its conversation is
// deleted as [Client.DeleteChat] does and the unaccepted contact removed,
// so a later message from peer is a new request. It returns
// [ErrNotRequest] when peer was accepted.
func (c *Client) DeleteRequest(ctx context.Context, peer identity.AccountID) (int, error) {
	st, err := c.peerState(peer)
	if err != nil {
		return 0, err
	}
	if st.accepted {
		return 0, fmt.Errorf("%w: %s", ErrNotRequest, peer)
	}
	if st.known && !st.blocked {
		if err := c.db.DeleteContact(peer); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
			return 0, err
		}
	}
	return c.DeleteChat(ctx, peer)
}

// setContactFlags changes a contact, creating it (without nickname) when
// the account is unknown.
func (c *Client) setContactFlags(peer identity.AccountID, fn func(*clientdb.Contact)) error {
	if _, err := peer.X25519(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	ct, err := c.db.ContactByAccount(peer)
	if errors.Is(err, clientdb.ErrNotFound) {
		ct = clientdb.Contact{Account: peer}
	} else if err != nil {
		return err
	}
	before := ct
	fn(&ct)
	if before == ct && !errors.Is(err, clientdb.ErrNotFound) {
		return nil
	}
	return c.db.UpsertContact(ct, c.clock())
}

// noteProfile records the display name a peer sent; an unknown account
// becomes an unaccepted contact, which makes its conversation a request.
func (c *Client) noteProfile(peer identity.AccountID, name string) error {
	name = strings.TrimSpace(name)
	st, err := c.peerState(peer)
	if err != nil {
		return err
	}
	if st.known && st.display == name {
		return nil
	}
	if len(name) > MaxProfileNameLen {
		name = ""
	}
	return c.db.SetDisplayName(peer, name, c.clock())
}

// decorate fills the request flag and display-name hint of messages.
func (c *Client) decorate(ms []Message) {
	states := map[identity.AccountID]peerState{}
	flags, _ := c.loadFlags()
	for i := range ms {
		ms[i].Muted = !ms[i].Outgoing && flags[ms[i].Peer.String()].Flags.Muted
		if req, ok := c.groupRequest(ms[i].Peer); ok {
			ms[i].Request = req // a group's: no contact, no profile
			continue
		}
		st, ok := states[ms[i].Peer]
		if !ok {
			st, _ = c.requestState(ms[i].Peer)
			states[ms[i].Peer] = st
		}
		ms[i].Request = st.isRequest()
		ms[i].DisplayName = st.display
	}
}

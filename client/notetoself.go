package client

import (
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Note to self (issue 22 item 3) is the conversation whose peer is the own
// Account ID. A message to it is stored once, as the sync copy every send
// makes (NamespaceSync, sealed to this account's other devices), and never
// in the account's public inbox: the other devices file it under the same
// conversation, attachments included, as they do any sync copy. Its status
// is sent once the sync copy is stored (or at once with no other device).
// Its disappearing timer reaches the other devices through the config
// sync, as every conversation's does; the timer-change message a contact
// gets is not sent, since it would land in the account's public inbox
// (disappear.go). A call to oneself is refused (call.go).

// NoteToSelfName is how the conversation with the own account is named in
// lists, the CLI and the web UI.
const NoteToSelfName = "Note to self"

// NoteToSelfAlias resolves to the own account ([Client.Resolve]) unless a
// contact or group has that name.
const NoteToSelfAlias = "self"

// IsNoteToSelf reports whether peer is this client's own account.
func (c *Client) IsNoteToSelf(peer identity.AccountID) bool {
	return peer.Equal(c.acct.ID())
}

// noteCopy reports whether outbox item it is a note to self's sync copy,
// the one copy whose storing makes the message sent.
func (c *Client) noteCopy(it clientdb.OutboxItem) bool {
	if it.Namespace != int(NamespaceSync) || it.Message == 0 {
		return false
	}
	m, err := c.Message(int64(it.Message))
	return err == nil && m.Peer.Equal(c.acct.ID())
}

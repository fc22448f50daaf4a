package client

import "github.com/hushnet/hush/identity"

// Note to self (issue 22 item 3) is the conversation whose peer is the own
// Account ID. A message to it is stored once, as the sync copy every send
// makes (NamespaceSync, sealed to this account's other devices), and never
// in the account's public inbox: the other devices file it under the same
// conversation, attachments included, as they do any sync copy. Its status
// is sent once the sync copy is stored (or at once with no other device).

// NoteToSelfName is how the conversation with the own account is named in
// lists, the CLI and the web UI.
const NoteToSelfName = "Note to self"

// IsNoteToSelf reports whether peer is this client's own account.
func (c *Client) IsNoteToSelf(peer identity.AccountID) bool {
	return peer.Equal(c.acct.ID())
}

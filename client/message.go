package client

import (
	"encoding/hex"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Message is one chat message as the client shows it.
type Message struct {
	// ID is the local ID, stable on this device only.
	ID int64 `json:"local_id"`
	// MessageID is the sender's random ID, as hex.
	MessageID string `json:"id"`
	// Peer is the other party of the conversation.
	Peer identity.AccountID `json:"peer"`
	// Sender is the author: Peer for incoming messages, the own account
	// for outgoing ones.
	Sender   identity.AccountID `json:"sender"`
	Outgoing bool               `json:"outgoing"`
	// SentAt is the sender's signed time: the order and the time shown.
	SentAt     time.Time `json:"sent_at"`
	ReceivedAt time.Time `json:"received_at"`
	Text       string    `json:"text"`
	// Status is queued, sent, delivered, read or failed for outgoing
	// messages; received or read for incoming ones.
	Status string `json:"status"`
	// Request is set while the peer's conversation is a message request
	// (an account the user has not accepted).
	Request bool `json:"request,omitempty"`
	// DisplayName is the name the peer chose in its profile: a hint shown
	// beside the Account ID, never used to address anyone.
	DisplayName string `json:"display_name,omitempty"`
	// Disappearing is the message's timer mode (after-send, after-read)
	// and ExpiresAt its deadline here, when known.
	Disappearing string    `json:"disappearing,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	// SwarmHashes name the message's copies in the own swarm (an incoming
	// message's inbox copy, an outgoing one's sync copy): what unsend,
	// delete and the timers remove there.
	SwarmHashes []string `json:"swarm_hashes,omitempty"`
	// Attachments are the message's files, with their state here.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Quote is the message this one replies to (reply.go), nil for none.
	Quote *Quote `json:"quote,omitempty"`
	// Reactions are the emoji on the message, by emoji (reaction.go).
	Reactions []Reaction `json:"reactions,omitempty"`
	// Previews are the link previews the sender attached (linkpreview.go):
	// shown as they are; nothing is ever fetched for them here.
	Previews []LinkPreview `json:"previews,omitempty"`
	// Muted: the conversation is muted, so this message raises no
	// notification (chatflags.go).
	Muted bool `json:"muted,omitempty"`
}

func toMessage(peer identity.AccountID, m clientdb.Message) Message {
	var atts []Attachment
	for i, a := range m.Attachments {
		atts = append(atts, toAttachment(i, a))
	}
	var pvs []LinkPreview
	for _, p := range m.Previews {
		pvs = append(pvs, LinkPreview{URL: p.URL, Title: p.Title, Description: p.Description, Image: p.ImageJPEG})
	}
	return Message{
		Attachments: atts, Previews: pvs, Quote: toQuote(m.Quote), Reactions: toReactions(m.Reactions),
		ID: int64(m.ID), MessageID: hex.EncodeToString(m.MessageID[:]), Peer: peer, Sender: m.Sender,
		Outgoing: m.Direction == clientdb.Outgoing, SentAt: m.SentAt, ReceivedAt: m.ReceivedAt,
		Text: m.Body, Status: m.Status.String(), ExpiresAt: m.ExpiresAt, SwarmHashes: m.SwarmHashes,
		Disappearing: map[clientdb.DisappearMode]string{
			clientdb.DisappearAfterSend: DisappearAfterSend, clientdb.DisappearAfterRead: DisappearAfterRead,
		}[m.Disappearing.Mode],
	}
}

// Contact is an account the user named.
type Contact struct {
	Account  identity.AccountID `json:"id"`
	Nickname string             `json:"name"`
	Blocked  bool               `json:"blocked,omitempty"`
	Created  time.Time          `json:"created"`
	// Avatar: the contact's profile picture is here
	// ([Client.OpenAvatar]).
	Avatar bool `json:"avatar,omitempty"`
}

// Conversation is a conversation in the list of chats: 1:1, or a closed
// group's (Group set, Peer the group's ID).
type Conversation struct {
	Peer identity.AccountID `json:"peer"`
	// Group: Peer is a closed group, and Nickname its name.
	Group bool `json:"group,omitempty"`
	// Nickname is the contact's local nickname, empty if none.
	Nickname     string    `json:"name,omitempty"`
	Unread       int       `json:"unread"`
	Messages     int       `json:"messages"`
	LastActivity time.Time `json:"last_activity"`
	// DisplayName is the name the peer chose in its profile (a hint).
	DisplayName string `json:"display_name,omitempty"`
	// DisappearAfter is the timer, zero when off; DisappearMode names it.
	DisappearAfter time.Duration `json:"disappear_after_ns,omitempty"`
	DisappearMode  string        `json:"disappear_mode,omitempty"`
	// DisappearChangedBy is who last changed the setting (either side).
	DisappearChangedBy identity.AccountID `json:"disappear_changed_by,omitzero"`
	// Muted, Pinned and Archived are the conversation's flags
	// (chatflags.go).
	Muted    bool `json:"muted,omitempty"`
	Pinned   bool `json:"pinned,omitempty"`
	Archived bool `json:"archived,omitempty"`
	// NoteToSelf: Peer is the own account; Nickname is "Note to self"
	// (notetoself.go).
	NoteToSelf bool `json:"note_to_self,omitempty"`
}

// ConversationUsage is one conversation's share of local storage.
type ConversationUsage struct {
	Peer         identity.AccountID `json:"peer"`
	Nickname     string             `json:"name,omitempty"`
	Messages     int                `json:"messages"`
	MessageBytes int64              `json:"message_bytes"`
}

// Usage is the storage report.
type Usage struct {
	Conversations []ConversationUsage `json:"conversations"`
	MessageBytes  int64               `json:"message_bytes"`
	// DatabaseBytes is the database file plus its write-ahead log.
	DatabaseBytes int64 `json:"database_bytes"`
	// Outbox counts queued store requests.
	Outbox int `json:"outbox"`
}

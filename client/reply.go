package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// Replies (issue 22): a message may quote an earlier one of the same
// conversation. The quote travels in DataMessage.quote with the quoted
// message's ID, author, signed time and a short excerpt of its text, so a
// receiver that no longer holds the original (unsent, deleted, gone by
// its timer, or never received) still shows what was replied to, marked
// not available. Signal and Session quote the same way (session-desktop
// protos/SignalService.proto DataMessage.Quote); Session points at the
// original by timestamp, hush by its random message ID.

// QuoteSnippet is how many characters of the quoted text a reply carries:
// enough to recognise the message, not a second copy of it (a copy would
// outlive an unsend or a timer of the original).
const QuoteSnippet = 100

// SendOptions are the optional parts of a message ([Client.SendWith]).
// Fields are added by the features that need them; the zero value is a
// plain message.
type SendOptions struct {
	// ReplyTo is the hex message ID ([Message.MessageID]) of a message of
	// the same conversation that this one replies to.
	ReplyTo string
}

// Quote is what a reply shows of the message it replies to.
type Quote struct {
	// MessageID is the quoted message's ID, as hex.
	MessageID string             `json:"id"`
	Author    identity.AccountID `json:"author"`
	SentAt    time.Time          `json:"sent_at"`
	// Text is the sender's excerpt of the quoted text (untrusted: it
	// need not match the original).
	Text string `json:"text"`
	// Available: the quoted message is here, as LocalID; when false it
	// was deleted, disappeared or never arrived, and only Text is left.
	Available bool  `json:"available"`
	LocalID   int64 `json:"local_id,omitempty"`
}

// ErrNotInChat: the message a reply or a reaction names is not in that
// conversation here (never arrived, or deleted).
var ErrNotInChat = fmt.Errorf("%w: that message is not in this chat", ErrNotFound)

// SendWith is [Client.Send] with options: a reply ([SendOptions.ReplyTo]).
// It works for 1:1 chats and groups alike. Besides Send's errors it
// returns [ErrNotInChat] when the quoted message is not in the
// conversation with peer.
func (c *Client) SendWith(ctx context.Context, peer identity.AccountID, text string, opts SendOptions) (Message, error) {
	if strings.TrimSpace(text) == "" {
		return Message{}, ErrEmptyMessage
	}
	if opts == (SendOptions{}) {
		return c.Send(ctx, peer, text)
	}
	data := &envelope.DataMessage{Body: text}
	if opts.ReplyTo != "" {
		q, err := c.quoteOf(peer, opts.ReplyTo)
		if err != nil {
			return Message{}, err
		}
		data.Quote = q
	}
	data = c.withPreviews(ctx, data) // linkpreview.go
	if IsGroupID(peer) {
		local, err := c.queueGroupData(peer, data, nil) // group.go
		if err != nil {
			return Message{}, err
		}
		c.FlushOutbox(ctx)
		return c.Message(local)
	}
	id, items, err := c.queueItems(peer, data, nil)
	if err != nil {
		return Message{}, err
	}
	c.sendNow(ctx, items)
	return c.Message(id)
}

// quoteOf builds the quote of the message with hex ID msgID in the
// conversation with peer.
func (c *Client) quoteOf(peer identity.AccountID, msgID string) (*envelope.Quote, error) {
	m, err := c.findMessage(peer, msgID)
	if err != nil {
		return nil, err
	}
	q := &envelope.Quote{
		MessageId: m.MessageID[:], Author: m.Sender[:], SentAtMs: uint64(m.SentAt.UnixMilli()),
		Text: snippet(m.Body),
	}
	for _, a := range m.Attachments {
		q.Attachments = append(q.Attachments, &envelope.Quote_QuotedAttachment{ContentType: a.ContentType, FileName: a.FileName})
	}
	return q, nil
}

// findMessage returns the message with hex ID msgID in the conversation
// with peer, whoever wrote it. IDs are random per author; in one
// conversation a clash between two authors is as unlikely as any 128-bit
// collision, and the first found is used.
func (c *Client) findMessage(peer identity.AccountID, msgID string) (clientdb.Message, error) {
	var mid clientdb.MessageID
	b, err := hex.DecodeString(msgID)
	if err != nil || len(b) != len(mid) {
		return clientdb.Message{}, fmt.Errorf("%w: message ID must be %d hex bytes", clientdb.ErrInvalid, len(mid))
	}
	copy(mid[:], b)
	conv, err := c.db.Conversation(peer)
	if err != nil {
		return clientdb.Message{}, ErrNotInChat
	}
	authors := []identity.AccountID{c.acct.ID()}
	if IsGroupID(peer) {
		ms, err := c.GroupMembers(peer)
		if err != nil {
			return clientdb.Message{}, err
		}
		for _, m := range ms {
			authors = append(authors, m.Account)
		}
	} else {
		authors = append(authors, peer)
	}
	for _, a := range authors {
		m, err := c.db.LookupMessage(a, mid)
		if err == nil && m.Conversation == conv.ID {
			return m, nil
		}
	}
	return clientdb.Message{}, ErrNotInChat
}

// snippet cuts text to QuoteSnippet characters, marking the cut.
func snippet(text string) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= QuoteSnippet {
		return text
	}
	r := []rune(text)[:QuoteSnippet]
	return strings.TrimSpace(string(r)) + "…"
}

// storedQuote is the local row's form of a received or sent quote; nil
// for none or one too malformed to show. The excerpt is cut again here:
// another client may send more than it should.
func storedQuote(q *envelope.Quote) *clientdb.Quote {
	if q == nil {
		return nil
	}
	author, err := identity.AccountIDFromBytes(q.GetAuthor())
	if err != nil || len(q.GetMessageId()) != envelope.MessageIDSize {
		return nil
	}
	out := &clientdb.Quote{Author: author, SentAt: time.UnixMilli(int64(q.GetSentAtMs())).UTC(), Text: snippet(strings.ToValidUTF8(q.GetText(), "�"))}
	copy(out.MessageID[:], q.GetMessageId())
	return out
}

// toQuote is the public form of a stored quote.
func toQuote(q *clientdb.Quote) *Quote {
	if q == nil {
		return nil
	}
	return &Quote{
		MessageID: hex.EncodeToString(q.MessageID[:]), Author: q.Author, SentAt: q.SentAt, Text: q.Text,
		Available: q.Local != 0, LocalID: int64(q.Local),
	}
}

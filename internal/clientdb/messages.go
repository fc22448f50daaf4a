package clientdb

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hushnet/hush/identity"
)

// MessageID is the random 16-byte ID the sender chose for a message
// (envelope Content.message_id).
type MessageID [16]byte

// LocalID is a message's local row ID: stable on this device, meaningless
// elsewhere.
type LocalID int64

// Direction says who sent a message.
type Direction int

// The values are stored; never renumber them.
const (
	Incoming Direction = iota
	Outgoing
)

// Status is a message's delivery state.
type Status int

// The values are stored (and StatusReceived appears in the schema's
// messages_unread index); never renumber them.
const (
	// StatusReceived: an incoming message not yet read here.
	StatusReceived Status = 1 + iota
	// StatusQueued: an outgoing message waiting in the outbox.
	StatusQueued
	// StatusSent: stored in the recipient's swarm.
	StatusSent
	// StatusDelivered: the recipient's delivery receipt arrived.
	StatusDelivered
	// StatusRead: incoming, read here; outgoing, the read receipt arrived.
	StatusRead
	// StatusFailed: the outbox gave up; it may be queued again.
	StatusFailed
)

func (s Status) String() string {
	switch s {
	case StatusReceived:
		return "received"
	case StatusQueued:
		return "queued"
	case StatusSent:
		return "sent"
	case StatusDelivered:
		return "delivered"
	case StatusRead:
		return "read"
	case StatusFailed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// rank orders the states a message moves through; a status update to a lower
// rank is stale (a delivery receipt after the read receipt) and ignored.
func (s Status) rank() int {
	switch s {
	case StatusQueued, StatusFailed:
		return 0
	case StatusReceived, StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusRead:
		return 3
	}
	return -1
}

func (s Status) valid(d Direction) bool {
	if d == Incoming {
		return s == StatusReceived || s == StatusRead
	}
	return s >= StatusQueued && s <= StatusFailed
}

// Attachment is a file sent with a message (envelope AttachmentPointer),
// stored sealed; only Bytes is kept in the clear, for usage reports (the
// downloaded file's size shows on disk anyway).
type Attachment struct {
	ID          int64  `json:"-"`
	FileID      string `json:"id,omitempty"`
	URL         string `json:"url,omitempty"`
	Key         []byte `json:"key,omitempty"`
	Digest      []byte `json:"digest,omitempty"`
	Size        uint64 `json:"size,omitempty"`
	ContentType string `json:"type,omitempty"`
	FileName    string `json:"name,omitempty"`
	Width       uint32 `json:"w,omitempty"`
	Height      uint32 `json:"h,omitempty"`
	// Flags, DurationMS and Waveform are the pointer's voice-note fields
	// (envelope AttachmentPointer 14–16).
	Flags      uint32 `json:"f,omitempty"`
	DurationMS uint32 `json:"dur,omitempty"`
	Waveform   []byte `json:"wave,omitempty"`
	// LocalPath is where the client kept a downloaded file before media
	// had columns of their own (schema version 5); new rows use
	// LocalFile.
	LocalPath string      `json:"path,omitempty"`
	Thumbnail *Attachment `json:"thumb,omitempty"`
	// Pieces are the file server blobs the padded ciphertext was cut
	// into, in order, and PaddedSize the ciphertext's padded length.
	Pieces     []Piece `json:"pieces,omitempty"`
	PaddedSize uint64  `json:"padded,omitempty"`

	// The fields below are columns of their own (migration 5), changed
	// without re-sealing the metadata above.

	// State is where the file is in its life; zero means MediaPending on
	// insert.
	State MediaState `json:"-"`
	// LocalFile is the name of the file under the client's media folder
	// that holds the verified ciphertext, "" when there is none; its
	// owner deletes the file when the row goes (see [Deleted]).
	LocalFile  string `json:"-"`
	LocalBytes int64  `json:"-"`
	// ThumbnailJPEG is the inline thumbnail: written by InsertMessage,
	// never filled in by reads (see [DB.Thumbnail]); ThumbnailBytes is
	// its length, 0 once cleared.
	ThumbnailJPEG  []byte `json:"-"`
	ThumbnailBytes int64  `json:"-"`
	// Tokens are the delete capabilities of the pieces this device
	// uploaded (none for a received file).
	Tokens []PieceToken `json:"-"`
}

// Piece is one file server blob of an attachment.
type Piece struct {
	ID     string `json:"id"`
	Digest []byte `json:"d"`
	Size   uint64 `json:"n"`
}

// PieceToken is the capability to delete or extend an uploaded piece.
type PieceToken struct {
	ID      string    `json:"id"`
	Token   []byte    `json:"t"`
	Expires time.Time `json:"x"`
}

// Message is one chat message.
type Message struct {
	ID           LocalID
	Conversation ConversationID
	MessageID    MessageID
	Direction    Direction
	// Sender is the peer for incoming messages and the user's own Account
	// ID for outgoing ones.
	Sender identity.AccountID
	// SentAt is the sender's signed timestamp (Content.sent_at_ms):
	// ordering and disappearing deadlines use it, never ReceivedAt.
	SentAt     time.Time
	ReceivedAt time.Time
	Body       string
	Status     Status
	// Disappearing is the setting the message is subject to, as the sender
	// stated it (DataMessage.expiration); it is authoritative for this
	// message whatever the conversation's current setting.
	Disappearing Disappearing
	ReadAt       time.Time // when an incoming message was first read here
	ExpiresAt    time.Time // zero: never
	// SwarmHashes are the hashes of the message's copies in swarms, in no
	// particular order.
	SwarmHashes []string
	Attachments []Attachment
	// Signed is, for a message a contact sent with protocol v2, the
	// signed part of its seal (crypto/sealv2 Meta.Signed), kept so that a
	// history share can prove to the account's other devices who wrote it.
	// Nil for others. Set with [DB.SetSigned].
	Signed []byte
	// Quote is the message this one replies to, as the sender quoted it;
	// nil for none.
	Quote *Quote
	// Reactions are the standing reactions to the message, oldest
	// first; filled in by reads, ignored by InsertMessage
	// ([DB.PutReaction]).
	Reactions []Reaction
	// Previews are the link previews the sender attached (envelope
	// LinkPreview), kept sealed with the body.
	Previews []LinkPreview
}

// Quote is what a reply says of the message it replies to.
type Quote struct {
	MessageID MessageID
	Author    identity.AccountID
	SentAt    time.Time
	// Text is the sender's excerpt of the quoted text.
	Text string
	// Local is the quoted message's local ID when it is in the same
	// conversation here, 0 when it is not (never arrived, deleted,
	// disappeared). Filled in by reads.
	Local LocalID
}

// LinkPreview is a link preview as stored: what the sender fetched.
type LinkPreview struct {
	URL         string `json:"u"`
	Title       string `json:"t,omitempty"`
	Description string `json:"d,omitempty"`
	ImageJPEG   []byte `json:"i,omitempty"`
}

// Page selects a slice of a conversation in display order (signed sent time,
// then a keyed hash of sender and message ID). At most one of Before and
// After is set; with neither, the newest messages are returned.
type Page struct {
	Before LocalID // the newest Limit messages ordered before this one
	After  LocalID // the oldest Limit messages ordered after this one
	Limit  int     // 0 means DefaultPageSize; at most MaxPageSize
}

// Deleted lists what a deletion removed that lives outside this database:
// swarm copies the caller should delete remotely, and attachments whose
// downloaded files the caller should remove.
type Deleted struct {
	Messages    int
	SwarmHashes []string
	Attachments []Attachment
}

// expiry computes a message's disappearing deadline from what is known now.
func expiry(d Disappearing, dir Direction, sent, read time.Time) time.Time {
	switch {
	case d.Mode == DisappearAfterSend, d.Mode == DisappearAfterRead && dir == Outgoing:
		return sent.Add(d.After)
	case d.Mode == DisappearAfterRead && !read.IsZero():
		return read.Add(d.After)
	}
	return time.Time{}
}

func (m *Message) check() error {
	switch {
	case m.MessageID == MessageID{}:
		return fmt.Errorf("%w: message ID is zero", ErrInvalid)
	case m.Direction != Incoming && m.Direction != Outgoing:
		return fmt.Errorf("%w: direction %d", ErrInvalid, m.Direction)
	case m.SentAt.IsZero() || m.ReceivedAt.IsZero():
		return fmt.Errorf("%w: sent and received times are required", ErrInvalid)
	case m.Sender.IsZero():
		return fmt.Errorf("%w: sender is required", ErrInvalid)
	case !m.Status.valid(m.Direction):
		return fmt.Errorf("%w: status %v for direction %d", ErrInvalid, m.Status, m.Direction)
	case !utf8.ValidString(m.Body):
		return fmt.Errorf("%w: body is not UTF-8", ErrInvalid)
	}
	for _, h := range m.SwarmHashes {
		if h == "" {
			return fmt.Errorf("%w: empty swarm hash", ErrInvalid)
		}
	}
	return m.Disappearing.check()
}

// InsertMessage stores m in the conversation with peer, creating the
// conversation if needed, and returns its local ID and whether it was new.
// It is idempotent: a message whose (sender, message ID) or any of whose
// swarm hashes is already stored is not stored again; its new swarm hashes
// are added to the stored one and the stored one's ID is returned with
// false. m.ID, m.Conversation and m.ExpiresAt are ignored (the deadline is
// computed from m.Disappearing); a zero Status means StatusReceived for
// incoming and StatusQueued for outgoing messages; a zero Sender of an
// incoming message means peer. It returns [ErrDeleted] for a message whose
// conversation was deleted at or after its sent time or which was itself
// deleted, and [ErrInvalid] for a malformed m.
func (db *DB) InsertMessage(peer identity.AccountID, m Message) (LocalID, bool, error) {
	if err := checkAccount(peer); err != nil {
		return 0, false, err
	}
	if m.Sender.IsZero() && m.Direction == Incoming {
		m.Sender = peer
	}
	if m.Status == 0 {
		m.Status = StatusReceived
		if m.Direction == Outgoing {
			m.Status = StatusQueued
		}
	}
	if err := m.check(); err != nil {
		return 0, false, err
	}
	if m.Status == StatusRead && m.Direction == Incoming && m.ReadAt.IsZero() {
		m.ReadAt = m.ReceivedAt
	}
	var (
		id    LocalID
		isNew bool
	)
	err := db.write(false, func(tx *sql.Tx) (err error) {
		id, isNew, err = db.insertMessage(tx, peer, &m)
		return err
	})
	return id, isNew, err
}

// nextMessageID is the SQL expression of a new message's ID: past every
// ID ever given (id_marks, migration 4), so a deleted message's ID is
// never handed out again. A file a test stopped at an older version has
// no marks and gets SQLite's next rowid.
func (db *DB) nextMessageID() string {
	if t := db.cfg.targetVersion; t != 0 && t < messageIDMarks {
		return "NULL"
	}
	return "(SELECT last + 1 FROM id_marks WHERE name = 'messages')"
}

// messageIDMarks is the schema version that added id_marks.
const messageIDMarks = 4

func (db *DB) insertMessage(tx *sql.Tx, peer identity.AccountID, m *Message) (LocalID, bool, error) {
	pk := db.k.lookupKey(lookupAccount, peer[:])
	mk := db.k.lookupKey(lookupMessage, m.Sender[:], m.MessageID[:])
	var n int
	err := tx.QueryRow(`SELECT count(*) FROM tombstones
		WHERE (kind = ? AND key = ? AND before_ms >= ?) OR (kind = ? AND key = ?)`,
		tombstoneConv, pk, toMS(m.SentAt), tombstoneMessage, mk).Scan(&n)
	if err != nil {
		return 0, false, err
	}
	if n > 0 {
		return 0, false, ErrDeleted
	}

	var id LocalID
	err = tx.QueryRow("SELECT id FROM messages WHERE msg_key = ?", mk).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		for _, h := range m.SwarmHashes {
			err = tx.QueryRow("SELECT message_id FROM message_copies WHERE hash_key = ?",
				db.k.lookupKey(lookupSwarm, []byte(h))).Scan(&id)
			if !errors.Is(err, sql.ErrNoRows) {
				break
			}
		}
	}
	switch {
	case err == nil:
		return id, false, db.addCopies(tx, id, m.SwarmHashes)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, err
	}

	conv, err := db.ensureConversation(tx, peer, m.ReceivedAt)
	if err != nil {
		return 0, false, err
	}
	exp := expiry(m.Disappearing, m.Direction, m.SentAt, m.ReadAt)
	err = tx.QueryRow(`INSERT INTO messages(id, conv_id, msg_key, outgoing, sent_ms, received_ms, status,
			disappear_mode, disappear_s, read_ms, expires_ms, sealed)
		VALUES (`+db.nextMessageID()+`, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		conv, mk, m.Direction == Outgoing, toMS(m.SentAt), toMS(m.ReceivedAt), m.Status,
		m.Disappearing.Mode, int64(m.Disappearing.After/time.Second), nullMS(m.ReadAt), nullMS(exp),
		seal(db.k.messages, "messages.content", mk, encodeContent(m))).Scan(&id)
	if err != nil {
		return 0, false, err
	}
	if err := db.addCopies(tx, id, m.SwarmHashes); err != nil {
		return 0, false, err
	}
	for i, a := range m.Attachments {
		if err := db.insertAttachment(tx, id, mk, i, a); err != nil {
			return 0, false, err
		}
	}
	activity := min(toMS(m.SentAt), toMS(m.ReceivedAt))
	_, err = tx.Exec("UPDATE conversations SET last_activity_ms = max(last_activity_ms, ?) WHERE id = ?", activity, conv)
	return id, true, err
}

func attachmentRow(msgKey []byte, idx int) []byte {
	return binary.BigEndian.AppendUint32(slices.Clone(msgKey), uint32(idx))
}

// encodeContent lays out the sealed part of a message: sender ‖ message ID ‖
// 4-byte body length ‖ body ‖ 4-byte signed length ‖ signed ‖ 4-byte
// previews length ‖ previews (JSON) ‖ 4-byte quote length ‖ quote,
// zero-padded to a multiple of 32 bytes so the row's size tells less
// about the body's. Rows written before a part existed end in padding,
// which reads as a length of 0 (or too short to hold one). A quote is
// author ‖ message ID ‖ 8-byte sent ms ‖ text.
func encodeContent(m *Message) []byte {
	var q []byte
	if m.Quote != nil {
		q = append(q, m.Quote.Author[:]...)
		q = append(q, m.Quote.MessageID[:]...)
		q = binary.BigEndian.AppendUint64(q, uint64(m.Quote.SentAt.UnixMilli()))
		q = append(q, m.Quote.Text...)
	}
	var previews []byte
	if len(m.Previews) > 0 {
		previews, _ = json.Marshal(m.Previews) // cannot fail: strings and bytes
	}
	n := identity.AccountIDSize + len(m.MessageID) + 4 + len(m.Body) + 4 + len(m.Signed) + 4 + len(previews) + 4 + len(q)
	b := make([]byte, 0, (n+31)/32*32)
	b = append(b, m.Sender[:]...)
	b = append(b, m.MessageID[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Body)))
	b = append(b, m.Body...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Signed)))
	b = append(b, m.Signed...)
	// Link previews (issue 22), JSON; an older row's zero padding reads
	// as none.
	b = binary.BigEndian.AppendUint32(b, uint32(len(previews)))
	b = append(b, previews...)
	if q != nil {
		b = binary.BigEndian.AppendUint32(b, uint32(len(q)))
		b = append(b, q...)
	}
	return b[:cap(b)]
}

func decodeContent(b []byte, m *Message) error {
	const head = identity.AccountIDSize + len(MessageID{}) + 4
	if len(b) < head {
		return fmt.Errorf("%w: message content too short", ErrCorrupt)
	}
	copy(m.Sender[:], b)
	copy(m.MessageID[:], b[identity.AccountIDSize:])
	n := binary.BigEndian.Uint32(b[head-4:])
	if uint64(n) > uint64(len(b)-head) {
		return fmt.Errorf("%w: message body length", ErrCorrupt)
	}
	m.Body = string(b[head : head+int(n)])
	rest := b[head+int(n):]
	if len(rest) < 4 {
		return nil
	}
	k := binary.BigEndian.Uint32(rest)
	if uint64(k) > uint64(len(rest)-4) {
		return fmt.Errorf("%w: message signed part length", ErrCorrupt)
	}
	if k > 0 {
		m.Signed = slices.Clone(rest[4 : 4+int(k)])
	}
	rest = rest[4+int(k):]
	if len(rest) < 4 {
		return nil
	}
	p := binary.BigEndian.Uint32(rest)
	if uint64(p) > uint64(len(rest)-4) {
		return fmt.Errorf("%w: message previews length", ErrCorrupt)
	}
	if p > 0 {
		if err := json.Unmarshal(rest[4:4+int(p)], &m.Previews); err != nil {
			return fmt.Errorf("%w: message previews: %w", ErrCorrupt, err)
		}
	}
	rest = rest[4+int(p):]
	if len(rest) < 4 {
		return nil
	}
	k = binary.BigEndian.Uint32(rest)
	if uint64(k) > uint64(len(rest)-4) {
		return fmt.Errorf("%w: message quote length", ErrCorrupt)
	}
	if k == 0 {
		return nil
	}
	q := rest[4 : 4+int(k)]
	const qhead = identity.AccountIDSize + len(MessageID{}) + 8
	if len(q) < qhead {
		return fmt.Errorf("%w: message quote too short", ErrCorrupt)
	}
	m.Quote = &Quote{Text: string(q[qhead:])}
	q = q[copy(m.Quote.Author[:], q):]
	q = q[copy(m.Quote.MessageID[:], q):]
	m.Quote.SentAt = fromMS(int64(binary.BigEndian.Uint64(q)))
	return nil
}

// SetSigned keeps the signed part of message id's seal (see
// [Message.Signed]). It returns [ErrNotFound] for an unknown message.
func (db *DB) SetSigned(id LocalID, signed []byte) error {
	return db.write(false, func(tx *sql.Tx) error {
		var mk, sealed []byte
		err := tx.QueryRow("SELECT msg_key, sealed FROM messages WHERE id = ?", id).Scan(&mk, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		pt, err := open(db.k.messages, "messages.content", mk, sealed)
		if err != nil {
			return err
		}
		var m Message
		if err := decodeContent(pt, &m); err != nil {
			return err
		}
		m.Signed = signed
		_, err = tx.Exec("UPDATE messages SET sealed = ? WHERE id = ?", seal(db.k.messages, "messages.content", mk, encodeContent(&m)), id)
		return err
	})
}

// addCopies records swarm hashes of message id, skipping known ones.
func (db *DB) addCopies(tx *sql.Tx, id LocalID, hashes []string) error {
	for _, h := range hashes {
		hk := db.k.lookupKey(lookupSwarm, []byte(h))
		_, err := tx.Exec("INSERT INTO message_copies(hash_key, message_id, sealed) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			hk, id, seal(db.k.messages, "message_copies.hash", hk, []byte(h)))
		if err != nil {
			return err
		}
	}
	return nil
}

// AddSwarmHashes records the swarm hashes under which an outgoing message
// was stored, once the nodes answered. It returns [ErrNotFound] for an
// unknown message.
func (db *DB) AddSwarmHashes(id LocalID, hashes ...string) error {
	for _, h := range hashes {
		if h == "" {
			return fmt.Errorf("%w: empty swarm hash", ErrInvalid)
		}
	}
	return db.write(false, func(tx *sql.Tx) error {
		if err := tx.QueryRow("SELECT id FROM messages WHERE id = ?", id).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return db.addCopies(tx, id, hashes)
	})
}

const messageCols = `id, conv_id, msg_key, outgoing, sent_ms, received_ms, status, disappear_mode, disappear_s,
	read_ms, expires_ms, sealed`

// Message returns the message with local ID id, or [ErrNotFound].
func (db *DB) Message(id LocalID) (Message, error) {
	return db.messageWhere("id = ?", id)
}

// LookupMessage returns the message that sender sent with ID msgID (what
// receipts and unsend requests name), or [ErrNotFound].
func (db *DB) LookupMessage(sender identity.AccountID, msgID MessageID) (Message, error) {
	return db.messageWhere("msg_key = ?", db.k.lookupKey(lookupMessage, sender[:], msgID[:]))
}

func (db *DB) messageWhere(where string, args ...any) (Message, error) {
	var ms []Message
	err := db.read(func(r *sql.DB) (err error) {
		ms, err = db.queryMessages(r, "SELECT "+messageCols+" FROM messages WHERE "+where, args...)
		return err
	})
	if err == nil && len(ms) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Message{}, err
	}
	return ms[0], nil
}

// Messages returns a page of the conversation's messages, oldest first,
// ordered by signed sent time and, among equal times, by a keyed hash of
// (sender, message ID): a fixed order on this device that, unlike the raw
// IDs, does not let two seized devices be matched by their rows. It returns
// [ErrNotFound] when p.Before or p.After names a message not in conv.
func (db *DB) Messages(conv ConversationID, p Page) ([]Message, error) {
	if p.Before != 0 && p.After != 0 || p.Limit < 0 || p.Limit > MaxPageSize {
		return nil, fmt.Errorf("%w: page %+v", ErrInvalid, p)
	}
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	var ms []Message
	err := db.read(func(r *sql.DB) error {
		q := "SELECT " + messageCols + " FROM messages WHERE conv_id = ?"
		args := []any{conv}
		order := "DESC"
		if pivot := max(p.Before, p.After); pivot != 0 {
			var sent int64
			var mk []byte
			err := r.QueryRow("SELECT sent_ms, msg_key FROM messages WHERE id = ? AND conv_id = ?", pivot, conv).Scan(&sent, &mk)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			if p.After != 0 {
				q += " AND (sent_ms, msg_key) > (?, ?)"
				order = "ASC"
			} else {
				q += " AND (sent_ms, msg_key) < (?, ?)"
			}
			args = append(args, sent, mk)
		}
		q += " ORDER BY sent_ms " + order + ", msg_key " + order + " LIMIT ?"
		var err error
		ms, err = db.queryMessages(r, q, append(args, p.Limit)...)
		return err
	})
	if p.After == 0 {
		slices.Reverse(ms)
	}
	return ms, err
}

// queryMessages runs a query selecting messageCols and fills in each
// message's swarm hashes and attachments.
func (db *DB) queryMessages(q querier, query string, args ...any) ([]Message, error) {
	rows, err := q.Query(query, args...)
	if err != nil {
		return nil, err
	}
	var (
		ms    []Message
		keys  [][]byte // msg_key, by index in ms
		index = map[LocalID]int{}
	)
	for rows.Next() {
		var (
			m                Message
			mk, sealed       []byte
			out              bool
			sent, recv, secs int64
			readMS, expMS    sql.NullInt64
		)
		err := rows.Scan(&m.ID, &m.Conversation, &mk, &out, &sent, &recv, &m.Status,
			&m.Disappearing.Mode, &secs, &readMS, &expMS, &sealed)
		if err != nil {
			rows.Close()
			return nil, err
		}
		pt, err := open(db.k.messages, "messages.content", mk, sealed)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if err := decodeContent(pt, &m); err != nil {
			rows.Close()
			return nil, err
		}
		if out {
			m.Direction = Outgoing
		}
		m.SentAt, m.ReceivedAt = fromMS(sent), fromMS(recv)
		m.Disappearing.After = time.Duration(secs) * time.Second
		m.ReadAt, m.ExpiresAt = fromNullMS(readMS), fromNullMS(expMS)
		index[m.ID] = len(ms)
		ms = append(ms, m)
		keys = append(keys, mk)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ms) == 0 {
		return ms, err
	}
	if err := db.fillReactions(q, ms, keys); err != nil {
		return nil, err
	}
	for i := range ms {
		if qt := ms[i].Quote; qt != nil {
			err := q.QueryRow("SELECT id FROM messages WHERE msg_key = ? AND conv_id = ?",
				db.k.lookupKey(lookupMessage, qt.Author[:], qt.MessageID[:]), ms[i].Conversation).Scan(&qt.Local)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
	}
	ids := make([]any, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	in := "(" + strings.Repeat("?,", len(ids)-1) + "?)"

	hashes, err := db.queryCopies(q, "SELECT message_id, hash_key, sealed FROM message_copies WHERE message_id IN "+in+" ORDER BY message_id, hash_key", ids...)
	if err != nil {
		return nil, err
	}
	for _, h := range hashes {
		m := &ms[index[h.msg]]
		m.SwarmHashes = append(m.SwarmHashes, h.hash)
	}
	atts, err := db.queryAttachments(q, "a.message_id IN "+in, ids...)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		m := &ms[index[a.msg]]
		m.Attachments = append(m.Attachments, a.Attachment)
	}
	return ms, nil
}

type copyRow struct {
	msg  LocalID
	hash string
}

func (db *DB) queryCopies(q querier, query string, args ...any) ([]copyRow, error) {
	rows, err := q.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []copyRow
	for rows.Next() {
		var (
			c          copyRow
			hk, sealed []byte
		)
		if err := rows.Scan(&c.msg, &hk, &sealed); err != nil {
			return nil, err
		}
		h, err := open(db.k.messages, "message_copies.hash", hk, sealed)
		if err != nil {
			return nil, err
		}
		c.hash = string(h)
		out = append(out, c)
	}
	return out, rows.Err()
}

type attachmentRowData struct {
	msg      LocalID
	idx      int
	mk       []byte
	conv     ConversationID
	sent     time.Time
	outgoing bool
	Attachment
}

// queryAttachments returns the attachments matching where (over attachments
// a joined with messages m), in message and index order.
func (db *DB) queryAttachments(q querier, where string, args ...any) ([]attachmentRowData, error) {
	cols := "1, NULL, 0, 0, NULL"
	if db.media() {
		cols = "a.state, a.local_sealed, a.local_bytes, a.thumb_bytes, a.tokens_sealed"
	}
	rows, err := q.Query(`SELECT a.id, a.message_id, a.idx, m.msg_key, a.sealed, `+cols+`, m.conv_id, m.sent_ms, m.outgoing
		FROM attachments a JOIN messages m ON m.id = a.message_id WHERE `+where+` ORDER BY a.message_id, a.idx`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []attachmentRowData
	for rows.Next() {
		var (
			a                    attachmentRowData
			sealed, local, token []byte
			state                MediaState
			localBytes, thumb    int64
			sent                 int64
		)
		if err := rows.Scan(&a.ID, &a.msg, &a.idx, &a.mk, &sealed, &state, &local, &localBytes, &thumb, &token,
			&a.conv, &sent, &a.outgoing); err != nil {
			return nil, err
		}
		row := attachmentRow(a.mk, a.idx)
		pt, err := open(db.k.attach, "attachments.meta", row, sealed)
		if err != nil {
			return nil, err
		}
		id := a.ID
		if err := json.Unmarshal(pt, &a.Attachment); err != nil {
			return nil, fmt.Errorf("%w: attachment: %w", ErrCorrupt, err)
		}
		a.ID, a.State, a.LocalBytes, a.ThumbnailBytes, a.sent = id, state, localBytes, thumb, fromMS(sent)
		if local != nil {
			name, err := open(db.k.attach, "attachments.local", row, local)
			if err != nil {
				return nil, err
			}
			a.LocalFile = string(name)
		}
		if token != nil {
			pt, err := open(db.k.attach, "attachments.tokens", row, token)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(pt, &a.Tokens); err != nil {
				return nil, fmt.Errorf("%w: attachment tokens: %w", ErrCorrupt, err)
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAttachmentPath records where the downloaded file of attachment id is
// kept ("" when it was removed). It returns [ErrNotFound] for an unknown
// attachment.
func (db *DB) SetAttachmentPath(id int64, path string) error {
	return db.write(false, func(tx *sql.Tx) error {
		atts, err := db.queryAttachments(tx, "a.id = ?", id)
		if err != nil {
			return err
		}
		if len(atts) == 0 {
			return ErrNotFound
		}
		r := atts[0]
		r.LocalPath = path
		plain, err := json.Marshal(r.Attachment)
		if err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE attachments SET sealed = ? WHERE id = ?",
			seal(db.k.attach, "attachments.meta", attachmentRow(r.mk, r.idx), plain), id)
		return err
	})
}

// SetMessageStatus moves message id to status s and reports whether it
// changed. Statuses only move forward (queued → sent → delivered → read,
// with failed beside queued so a failed message can be queued again); a
// stale update, such as a delivery receipt after the read receipt, is
// ignored and reported as false. Marking an incoming message read starts
// its after-read timer at now. It returns [ErrNotFound] for an unknown
// message and [ErrInvalid] for a status that does not fit its direction or
// a zero now.
func (db *DB) SetMessageStatus(id LocalID, s Status, now time.Time) (bool, error) {
	if err := checkTime("now", now); err != nil {
		return false, err
	}
	var changed bool
	err := db.write(false, func(tx *sql.Tx) error {
		var (
			cur        Status
			out        bool
			mode, secs int64
			sent       int64
		)
		err := tx.QueryRow("SELECT status, outgoing, disappear_mode, disappear_s, sent_ms FROM messages WHERE id = ?", id).
			Scan(&cur, &out, &mode, &secs, &sent)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		dir := Incoming
		if out {
			dir = Outgoing
		}
		if !s.valid(dir) {
			return fmt.Errorf("%w: status %v for direction %d", ErrInvalid, s, dir)
		}
		if s == cur || s.rank() < cur.rank() || (s == StatusFailed && cur.rank() > 1) {
			return nil
		}
		changed = true
		if dir == Incoming && s == StatusRead {
			d := Disappearing{Mode: DisappearMode(mode), After: time.Duration(secs) * time.Second}
			exp := expiry(d, dir, fromMS(sent), now)
			_, err = tx.Exec("UPDATE messages SET status = ?, read_ms = ?, expires_ms = ? WHERE id = ?", s, toMS(now), nullMS(exp), id)
			return err
		}
		_, err = tx.Exec("UPDATE messages SET status = ? WHERE id = ?", s, id)
		return err
	})
	return changed, err
}

// MarkRead marks every unread incoming message of conv read at now, starting
// after-read timers, and returns those messages (for read receipts and for
// shortening their swarm copies' expiry).
func (db *DB) MarkRead(conv ConversationID, now time.Time) ([]Message, error) {
	if err := checkTime("now", now); err != nil {
		return nil, err
	}
	var ms []Message
	err := db.write(false, func(tx *sql.Tx) error {
		var err error
		ms, err = db.queryMessages(tx, "SELECT "+messageCols+" FROM messages WHERE conv_id = ? AND status = ? ORDER BY sent_ms, msg_key",
			conv, StatusReceived)
		if err != nil {
			return err
		}
		for i := range ms {
			m := &ms[i]
			m.Status, m.ReadAt = StatusRead, now
			m.ExpiresAt = expiry(m.Disappearing, m.Direction, m.SentAt, now)
			_, err := tx.Exec("UPDATE messages SET status = ?, read_ms = ?, expires_ms = ? WHERE id = ?",
				StatusRead, toMS(now), nullMS(m.ExpiresAt), m.ID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return ms, err
}

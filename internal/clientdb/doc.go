// Package clientdb is the hush client's local database: contacts,
// conversations, messages with their attachments and delivery state, the
// outbox, poll cursors, seen swarm hashes, tombstones, known devices,
// closed groups with their keys, and settings, in one
// SQLite file per home (HOME/hush.db), encrypted at rest under the home's
// database key.
//
// # Encryption at rest
//
// [Open] takes the 32-byte database key that internal/keystore unwraps with
// the passphrase; this package never sees the passphrase. HKDF-SHA256 derives
// from it one XChaCha20-Poly1305 key per purpose (contacts and peers,
// messages, attachments, outbox, settings and cursors, the key check) and one
// HMAC-SHA256 key for lookups. Stored only sealed: message bodies, senders
// and message IDs; swarm hashes of message copies; attachment metadata and
// keys; contacts' Account IDs, nicknames and display names; outbox payloads
// and recipients; device records; setting values and poll cursors; group state and group
// keys; the quote a reply carries (inside the message's sealed content);
// reactions (who, which emoji, when, withdrawn or not), each row sealed
// with only its keyed hashes, its conversation and its arrival time in the
// clear (migration 7). A sealed
// value is version
// byte ‖ random 24-byte nonce ‖ ciphertext, and its associated data names its
// table and column and the row's identity (a keyed hash or a random
// reference unique to the row), so a value moved to another row or column
// fails to open and is reported as [ErrCorrupt].
//
// Lookups by Account ID, nickname, (sender, message ID), swarm hash, device,
// setting or cursor name go through keyed hashes (HMAC-SHA256 with a domain
// label per kind, cut to 16 bytes), which reveal equality only to someone
// holding the key.
//
// In the clear, on purpose: timestamps (sent, received, read, expiry, last
// activity, outbox schedule), message direction and status, disappearing
// settings, counts, attachment sizes, row IDs and which rows belong to one
// conversation. Ordering, paging, expiry and the outbox need indexed queries
// on them. A seized device therefore shows when and how much the user
// messaged, and with how many distinct peers, but not what was said, to
// whom, or under which names. Messages are ordered by the signed sent time
// and, among equal times, by the keyed hash of (sender, message ID) rather
// than by the raw ID, so two seized devices cannot be matched row by row.
//
// A wrong key is detected at Open by a sealed check value, read over a
// read-only connection, and reported as [ErrWrongKey]: the main file and any
// WAL a crash left stay byte for byte as they were.
//
// # Deletion
//
// Every connection runs with PRAGMA secure_delete=ON, so SQLite overwrites
// freed content with zeros, and every method that deleted rows ends with
// PRAGMA wal_checkpoint(TRUNCATE), so the old page images leave the WAL as
// well. (Flash wear levelling and file-system journals can still keep old
// blocks below the file; full-disk encryption is the answer there, and
// everything secret reaches the file sealed in the first place.)
// Deleting a conversation or a message leaves a tombstone (a keyed hash and
// a time bound) that [DB.InsertMessage] honours, so the next poll does not
// bring a deleted chat back; tombstones and seen hashes expire
// ([DB.ExpireDue]) once no swarm can still hold the message.
//
// # How the client uses it
//
//   - Receiving: poll with [DB.Cursor] and [Cursor.Resume]; keep the hashes
//     [DB.Unseen] returns; open each message, drop it if
//     [DB.ConversationDeleted] or the contact is blocked, store it with
//     [DB.InsertMessage] (which also refuses tombstoned and duplicate
//     messages), then [DB.MarkSeen] every fetched hash, openable or not, and
//     [DB.SetCursor].
//   - Sending: [DB.InsertMessage] (StatusQueued), [DB.EnqueueOutbox] one item
//     per destination swarm; a flusher takes [DB.DueOutbox], and reports
//     each attempt with [DB.OutboxResult]; on success it records the hashes
//     with [DB.AddSwarmHashes] and moves the message on with
//     [DB.SetMessageStatus].
//   - Receipts and unsend requests find their message with
//     [DB.LookupMessage]; [DB.DeleteMessageByID] tombstones a message that
//     has not arrived yet.
//   - Reading: [DB.MarkRead] returns the messages for read receipts and for
//     shortening after-read swarm expiries.
//   - Housekeeping: [DB.ExpireDue] on every run of the background duties.
//   - Deleting: [DB.DeleteConversation], [DB.DeleteMessage] and
//     [DB.ExpireDue] return the swarm hashes to delete remotely and the
//     attachments whose local files (and, for uploads, remote pieces) to
//     remove; [DB.ClearMedia] marks media cleared and returns its files.
//   - Media: an attachment row has a state ([MediaState]), the sealed name
//     of its local file (the verified ciphertext; the client owns the
//     folder), a sealed inline thumbnail ([DB.Thumbnail]) and, for
//     uploads, the pieces' sealed delete tokens. [DB.SetMedia] moves it
//     along; [DB.Media] and [DB.Usage] list and count it.
//
// # Concurrency
//
// The file is in WAL mode with a busy timeout (10 s by default), so `hush
// receive --follow` and `hush send` can use one home at the same time, from
// two processes or two DBs in one process. Each DB writes through one
// connection in IMMEDIATE transactions and reads through a small read-only
// pool.
//
// # Schema
//
// The schema is in sql/ as numbered scripts embedded in the binary; Open runs
// the ones newer than the file's PRAGMA user_version in one transaction
// (syncthing's internal/db/sqlite/basedb.go works the same way), and marks
// the file with its own application_id so another program's database is not
// taken for ours.
//
// # Time
//
// Methods take the times they need as arguments and read no clock. Times are
// kept as Unix milliseconds and returned in UTC.
package clientdb

package clientdb

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MediaState is where an attachment's file is in its life here.
type MediaState int

// The values are stored; never renumber them.
const (
	// MediaPending: known from its message, not downloaded (yet).
	MediaPending MediaState = 1 + iota
	// MediaDownloading: a download is under way or was interrupted; a
	// partial file may exist.
	MediaDownloading
	// MediaReady: the verified ciphertext is in the local file.
	MediaReady
	// MediaCleared: the user cleared it; the message stays.
	MediaCleared
	// MediaExpired: the file server no longer holds it.
	MediaExpired
	// MediaFailed: the last download failed (tampered or unreachable); it
	// may be fetched again.
	MediaFailed
)

func (s MediaState) String() string {
	switch s {
	case MediaPending:
		return "pending"
	case MediaDownloading:
		return "downloading"
	case MediaReady:
		return "ready"
	case MediaCleared:
		return "cleared"
	case MediaExpired:
		return "expired"
	case MediaFailed:
		return "failed"
	}
	return fmt.Sprintf("MediaState(%d)", int(s))
}

func (s MediaState) valid() bool { return s >= MediaPending && s <= MediaFailed }

// mediaColumns is the schema version that gave attachments their media
// columns.
const mediaColumns = 5

// media reports whether the file has the media columns (a test may stop
// migrating before them).
func (db *DB) media() bool { t := db.cfg.targetVersion; return t == 0 || t >= mediaColumns }

// sealedOrNil seals b, or returns nil (SQL NULL) for an empty b.
func (db *DB) sealedOrNil(column string, row, b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return seal(db.k.attach, column, row, b)
}

func (db *DB) insertAttachment(tx *sql.Tx, msg LocalID, mk []byte, i int, a Attachment) error {
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	row := attachmentRow(mk, i)
	meta := seal(db.k.attach, "attachments.meta", row, plain)
	if !db.media() {
		_, err = tx.Exec("INSERT INTO attachments(message_id, idx, bytes, sealed) VALUES (?, ?, ?, ?)", msg, i, int64(a.Size), meta)
		return err
	}
	if a.State == 0 {
		a.State = MediaPending
	}
	if !a.State.valid() {
		return fmt.Errorf("%w: media state %d", ErrInvalid, a.State)
	}
	var tokens []byte
	if len(a.Tokens) > 0 {
		if tokens, err = json.Marshal(a.Tokens); err != nil {
			return err
		}
	}
	_, err = tx.Exec(`INSERT INTO attachments(message_id, idx, bytes, sealed, state, local_sealed, local_bytes,
			thumb_sealed, thumb_bytes, tokens_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		msg, i, int64(a.Size), meta, a.State,
		db.sealedOrNil("attachments.local", row, []byte(a.LocalFile)), a.LocalBytes,
		db.sealedOrNil("attachments.thumb", row, a.ThumbnailJPEG), len(a.ThumbnailJPEG),
		db.sealedOrNil("attachments.tokens", row, tokens))
	return err
}

// MediaItem is an attachment with the message it belongs to.
type MediaItem struct {
	Attachment
	Message      LocalID
	Index        int
	Conversation ConversationID
	SentAt       time.Time
	Outgoing     bool
}

func (a attachmentRowData) item() MediaItem {
	return MediaItem{Attachment: a.Attachment, Message: a.msg, Index: a.idx, Conversation: a.conv, SentAt: a.sent, Outgoing: a.outgoing}
}

// Media lists the attachments of conversation conv (every conversation
// when conv is 0), oldest message first.
func (db *DB) Media(conv ConversationID) ([]MediaItem, error) {
	where, args := "1", []any{}
	if conv != 0 {
		where, args = "m.conv_id = ?", []any{conv}
	}
	var out []MediaItem
	err := db.read(func(r *sql.DB) error {
		atts, err := db.queryAttachments(r, where, args...)
		for _, a := range atts {
			out = append(out, a.item())
		}
		return err
	})
	slices.SortStableFunc(out, func(a, b MediaItem) int { return a.SentAt.Compare(b.SentAt) })
	return out, err
}

// MediaOf returns attachment index of message msg, or [ErrNotFound].
func (db *DB) MediaOf(msg LocalID, index int) (MediaItem, error) {
	var out MediaItem
	err := db.read(func(r *sql.DB) error {
		atts, err := db.queryAttachments(r, "a.message_id = ? AND a.idx = ?", msg, index)
		if err != nil {
			return err
		}
		if len(atts) == 0 {
			return ErrNotFound
		}
		out = atts[0].item()
		return nil
	})
	return out, err
}

// Thumbnail returns the inline thumbnail of attachment id, or
// [ErrNotFound] when it has none (or it was cleared).
func (db *DB) Thumbnail(id int64) ([]byte, error) {
	var out []byte
	err := db.read(func(r *sql.DB) error {
		var (
			mk, sealed []byte
			idx        int
		)
		err := r.QueryRow(`SELECT m.msg_key, a.idx, a.thumb_sealed FROM attachments a JOIN messages m ON m.id = a.message_id
			WHERE a.id = ?`, id).Scan(&mk, &idx, &sealed)
		if errors.Is(err, sql.ErrNoRows) || err == nil && sealed == nil {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		out, err = open(db.k.attach, "attachments.thumb", attachmentRow(mk, idx), sealed)
		return err
	})
	return out, err
}

// SetMedia moves attachment id to state s with local file name local
// (empty: none) of size bytes. It returns the file name the row held
// before, so the caller can remove a file it replaced, and
// [ErrNotFound] for an unknown attachment.
func (db *DB) SetMedia(id int64, s MediaState, local string, bytes int64) (previous string, err error) {
	if !s.valid() {
		return "", fmt.Errorf("%w: media state %d", ErrInvalid, s)
	}
	err = db.write(local == "", func(tx *sql.Tx) error {
		atts, err := db.queryAttachments(tx, "a.id = ?", id)
		if err != nil {
			return err
		}
		if len(atts) == 0 {
			return ErrNotFound
		}
		a := atts[0]
		previous = a.LocalFile
		if local == "" {
			bytes = 0
		}
		_, err = tx.Exec("UPDATE attachments SET state = ?, local_sealed = ?, local_bytes = ? WHERE id = ?",
			s, db.sealedOrNil("attachments.local", attachmentRow(a.mk, a.idx), []byte(local)), bytes, id)
		return err
	})
	return previous, err
}

// ClearMedia marks cleared the attachments of conversation conv (every
// conversation when conv is 0) whose messages were sent before before
// (all when before is zero), dropping their local file names and
// thumbnails; the messages and the pointers stay, so a cleared file can be
// fetched again while the file server holds it. It returns the
// attachments it cleared, with the local files the caller must remove.
func (db *DB) ClearMedia(conv ConversationID, before time.Time) ([]MediaItem, error) {
	where, args := "a.state != ?", []any{MediaCleared}
	if conv != 0 {
		where += " AND m.conv_id = ?"
		args = append(args, conv)
	}
	if !before.IsZero() {
		where += " AND m.sent_ms < ?"
		args = append(args, toMS(before))
	}
	var out []MediaItem
	err := db.write(true, func(tx *sql.Tx) error {
		atts, err := db.queryAttachments(tx, where, args...)
		if err != nil {
			return err
		}
		for _, a := range atts {
			// Expired media stays expired: there is nothing to fetch again.
			state := MediaCleared
			if a.State == MediaExpired {
				state = MediaExpired
			}
			if a.State == MediaExpired && a.ThumbnailBytes == 0 && a.LocalFile == "" {
				continue
			}
			if _, err := tx.Exec(`UPDATE attachments SET state = ?, local_sealed = NULL, local_bytes = 0,
					thumb_sealed = NULL, thumb_bytes = 0 WHERE id = ?`, state, a.ID); err != nil {
				return err
			}
			out = append(out, a.item())
		}
		return nil
	})
	return out, err
}

// ResetLocalMedia marks pending every attachment whose local file is
// recorded, and forgets the files: for a database restored without its
// media folder (a backup carries none), whose files can be fetched again
// while the file server holds them. It returns how many it reset.
func (db *DB) ResetLocalMedia() (int, error) {
	var n int64
	err := db.write(false, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE attachments SET state = ?, local_sealed = NULL, local_bytes = 0
			WHERE local_sealed IS NOT NULL OR state IN (?, ?)`, MediaPending, MediaReady, MediaDownloading)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// MediaFiles returns the local file names of every attachment: the
// files of the media folder that belong to a row. (The client removes
// the others, left by a crash between a file and its row.)
func (db *DB) MediaFiles() (map[string]bool, error) {
	out := map[string]bool{}
	err := db.read(func(r *sql.DB) error {
		atts, err := db.queryAttachments(r, "a.local_sealed IS NOT NULL")
		for _, a := range atts {
			out[a.LocalFile] = true
		}
		return err
	})
	return out, err
}

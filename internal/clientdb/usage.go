package clientdb

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/hushnet/hush/identity"
)

// ConversationUsage is one conversation's share of the database.
type ConversationUsage struct {
	Conversation    ConversationID
	Peer            identity.AccountID
	Messages        int
	MessageBytes    int64 // sealed message rows
	Attachments     int
	AttachmentBytes int64 // announced sizes of their attachments
	// Media kept here: local files (the verified ciphertexts) and inline
	// thumbnails, with their sizes.
	MediaFiles, Thumbnails     int
	MediaBytes, ThumbnailBytes int64
}

// Usage is a storage report.
type Usage struct {
	Conversations []ConversationUsage // largest first
	// Totals over all conversations.
	MessageBytes, AttachmentBytes int64
	MediaBytes, ThumbnailBytes    int64
	// On-disk sizes of the database file and its WAL.
	FileBytes, WALBytes int64
}

// Usage reports how much storage the database uses, per conversation and on
// disk. Attachment bytes count the sizes senders announced: the downloaded
// files live outside the database, under the client's control.
func (db *DB) Usage() (Usage, error) {
	var u Usage
	mediaUsage := "0, 0, 0, 0"
	if db.media() {
		const in = " FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conv_id = c.id"
		mediaUsage = "(SELECT count(*)" + in + " AND a.local_sealed IS NOT NULL), (SELECT coalesce(sum(a.local_bytes), 0)" + in + `),
			(SELECT count(*)` + in + " AND a.thumb_bytes > 0), (SELECT coalesce(sum(a.thumb_bytes), 0)" + in + ")"
	}
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query(`SELECT c.id, c.peer_key, c.peer_sealed,
				(SELECT count(*) FROM messages m WHERE m.conv_id = c.id),
				(SELECT coalesce(sum(length(m.sealed)), 0) FROM messages m WHERE m.conv_id = c.id),
				(SELECT count(*) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conv_id = c.id),
				(SELECT coalesce(sum(a.bytes), 0) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conv_id = c.id),
				` + mediaUsage + `
			FROM conversations c`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				cu       ConversationUsage
				pk, peer []byte
			)
			if err := rows.Scan(&cu.Conversation, &pk, &peer, &cu.Messages, &cu.MessageBytes, &cu.Attachments, &cu.AttachmentBytes,
				&cu.MediaFiles, &cu.MediaBytes, &cu.Thumbnails, &cu.ThumbnailBytes); err != nil {
				return err
			}
			raw, err := open(db.k.contacts, "conversations.peer", pk, peer)
			if err != nil {
				return err
			}
			copy(cu.Peer[:], raw)
			u.MessageBytes += cu.MessageBytes
			u.AttachmentBytes += cu.AttachmentBytes
			u.MediaBytes += cu.MediaBytes
			u.ThumbnailBytes += cu.ThumbnailBytes
			u.Conversations = append(u.Conversations, cu)
		}
		return rows.Err()
	})
	if err != nil {
		return u, err
	}
	sortUsage(u.Conversations)
	if u.FileBytes, err = fileSize(db.path); err != nil {
		return u, err
	}
	u.WALBytes, err = fileSize(db.path + "-wal")
	return u, err
}

func sortUsage(cs []ConversationUsage) {
	total := func(c ConversationUsage) int64 { return c.MessageBytes + c.AttachmentBytes }
	sort.Slice(cs, func(i, j int) bool {
		if ti, tj := total(cs[i]), total(cs[j]); ti != tj {
			return ti > tj
		}
		return cs[i].Conversation < cs[j].Conversation
	})
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Backup writes a consistent copy of the database to dest (which must not
// exist), compacted and with the WAL folded in, while the database stays in
// use. The copy is sealed exactly as the original: it opens only with the
// same key, so it is safe to store anywhere; restoring is copying it back
// as the home's database file.
func (db *DB) Backup(dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("backup: %s: %w", dest, fs.ErrExist)
	}
	// Create it 0600 first; VACUUM INTO fills an existing empty file.
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// The writer runs it: query_only, which the readers have, refuses VACUUM
	// INTO although it only reads this database.
	err = db.read(func(*sql.DB) error {
		_, err := db.w.Exec("VACUUM INTO ?", dest)
		return err
	})
	if err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

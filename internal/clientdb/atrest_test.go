package clientdb

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushnet/hush/identity"
)

// TestAtRest stores distinctive secrets, deletes some, and scans every byte
// of every file the database leaves in its directory (main file, WAL, shared
// memory), while open and after Close: no plaintext secret may appear in any
// form, and the ciphertexts of deleted rows must be gone too.
func TestAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hush.db")
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	type secret struct {
		what string
		b    []byte
	}
	var secrets []secret
	add := func(what string, b []byte) { secrets = append(secrets, secret{what, clone(b)}) }
	addAccount := func(id identity.AccountID) {
		add("account hex "+id.Short(), []byte(id.String()))
		add("account HEX "+id.Short(), []byte(strings.ToUpper(id.String())))
		add("account raw "+id.Short(), id[:])
		add("account key "+id.Short(), id[1:])
	}

	peers := []identity.AccountID{account(0x11), account(0x22), account(0x33)}
	deletedPeer := peers[2]
	for i, p := range peers {
		addAccount(p)
		c := Contact{Account: p, Nickname: fmt.Sprintf("nick-quokka-%d", i), DisplayName: fmt.Sprintf("display-wombat-%d", i), Accepted: true}
		add("nickname", []byte(c.Nickname))
		add("display name", []byte(c.DisplayName))
		if err := db.UpsertContact(c, t0); err != nil {
			t.Fatal(err)
		}
	}
	addAccount(me)

	var deletedIDs []LocalID
	for i := range 60 {
		p := peers[i%3]
		m := incoming(byte(i+1), i, fmt.Sprintf("body-xyzzy-%03d-%s", i, strings.Repeat("s", i*37)))
		if i%2 == 1 {
			m = outgoing(byte(i+1), i, m.Body)
		}
		m.SwarmHashes = []string{fmt.Sprintf("swarmhash-plugh-%03d", i)}
		key := bytes.Repeat([]byte{0xA5, byte(i)}, 16)
		m.Attachments = []Attachment{{FileID: fmt.Sprintf("fileid-%03d", i), Key: key, FileName: fmt.Sprintf("filename-grue-%03d.jpg", i), Size: 10}}
		add("body", []byte(m.Body[:14]))
		add("message ID", m.MessageID[:])
		add("swarm hash", []byte(m.SwarmHashes[0]))
		add("attachment key", key)
		add("file name", []byte(m.Attachments[0].FileName))
		id := mustInsert(t, db, p, m)
		if i%10 == 4 {
			deletedIDs = append(deletedIDs, id)
		}
	}
	if err := db.SetSetting("profile.name", []byte("setting-frotz-value")); err != nil {
		t.Fatal(err)
	}
	add("setting", []byte("setting-frotz-value"))
	if err := db.SetCursor("own/0", Cursor{Position: "cursor-position-zork", Time: t0}); err != nil {
		t.Fatal(err)
	}
	add("cursor", []byte("cursor-position-zork"))
	outboxID, err := db.EnqueueOutbox(OutboxItem{To: peers[0], Payload: []byte("outbox-payload-gnusto")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	add("outbox payload", []byte("outbox-payload-gnusto"))
	if err := db.SetOutboxSealed(outboxID, []byte("outbox-sealed-copy-rezrov"), t0); err != nil {
		t.Fatal(err)
	}
	add("outbox sealed copy", []byte("outbox-sealed-copy-rezrov"))

	// Ciphertexts of what is about to be deleted: they must not survive.
	var gone []secret
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	grab := func(what, query string, args ...any) {
		rows, err := raw.Query(query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			// The nonce and the first ciphertext bytes: unique to the row.
			gone = append(gone, secret{what, clone(b[:min(len(b), 40)])})
		}
	}
	for _, id := range deletedIDs {
		grab("deleted message", "SELECT sealed FROM messages WHERE id = ?", id)
		grab("deleted attachment", "SELECT sealed FROM attachments WHERE message_id = ?", id)
	}
	peerKey := db.k.lookupKey(lookupAccount, deletedPeer[:])
	grab("deleted conversation message", "SELECT sealed FROM messages WHERE conv_id = (SELECT id FROM conversations WHERE peer_key = ?)", peerKey)
	grab("deleted conversation peer", "SELECT peer_sealed FROM conversations WHERE peer_key = ?", peerKey)
	grab("deleted contact", "SELECT account_sealed FROM contacts WHERE account_key = ?", peerKey)
	grab("deleted setting", "SELECT sealed FROM settings")
	raw.Close()
	if len(gone) < 30 {
		t.Fatalf("only %d deleted ciphertexts captured", len(gone))
	}

	for _, id := range deletedIDs {
		if _, err := db.DeleteMessage(id, at(1000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DeleteConversation(deletedPeer, at(1000)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContact(deletedPeer); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSetting("profile.name"); err != nil {
		t.Fatal(err)
	}

	scan := func(when string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var total int
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			total += len(b)
			for _, s := range append(secrets, gone...) {
				if i := bytes.Index(b, s.b); i >= 0 {
					t.Errorf("%s: %s found in %s at offset %d: %q", when, s.what, e.Name(), i, s.b)
				}
			}
		}
		if total < 10_000 {
			t.Fatalf("%s: only %d bytes on disk: the scan looked at nothing", when, total)
		}
	}
	scan("while open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after close")

	// The scan can fail: the same secrets are there once opened with the key.
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.ContactByNickname("nick-quokka-0")
	if err != nil || c.Account != peers[0] {
		t.Fatalf("reopened: %+v, %v", c, err)
	}
	conv, _ := db.Conversation(peers[0])
	ms, _ := db.Messages(conv.ID, Page{})
	if len(ms) != 18 || !strings.HasPrefix(ms[0].Body, "body-xyzzy-000") {
		t.Fatalf("reopened: %d messages", len(ms))
	}
}

// TestAtRestScanDetects is the control for TestAtRest: without sealing the
// same scan finds a body, so a passing TestAtRest means something.
func TestAtRestScanDetects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.db")
	c, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec("CREATE TABLE m(body BLOB); INSERT INTO m VALUES (?)", []byte("body-xyzzy-000")); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(p)
		found = found || bytes.Contains(b, []byte("body-xyzzy-000"))
	}
	if !found {
		t.Fatal("the scan does not find an unsealed value")
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

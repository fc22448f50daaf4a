package clientdb

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMediaState(t *testing.T) {
	db, _ := openTest(t)
	m := incoming(1, 0, "pics")
	m.Attachments = []Attachment{
		{FileID: "a", Size: 100, FileName: "cat.jpg", ContentType: "image/jpeg",
			Pieces: []Piece{{ID: "p1", Digest: []byte{1}, Size: 64}, {ID: "p2", Digest: []byte{2}, Size: 64}}, PaddedSize: 128,
			ThumbnailJPEG: []byte("thumb-bytes")},
		{FileID: "b", Size: 50, State: MediaReady, LocalFile: "rnd-b", LocalBytes: 64,
			Tokens: []PieceToken{{ID: "p3", Token: []byte("tok"), Expires: at(60)}}},
	}
	id := mustInsert(t, db, alice, m)
	got, err := db.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	a, b := got.Attachments[0], got.Attachments[1]
	switch {
	case a.State != MediaPending || a.LocalFile != "" || a.ThumbnailBytes != 11 || a.ThumbnailJPEG != nil:
		t.Fatalf("first attachment: %+v", a)
	case len(a.Pieces) != 2 || a.Pieces[1].ID != "p2" || a.PaddedSize != 128:
		t.Fatalf("pieces: %+v", a)
	case b.State != MediaReady || b.LocalFile != "rnd-b" || b.LocalBytes != 64 || len(b.Tokens) != 1 ||
		string(b.Tokens[0].Token) != "tok" || !b.Tokens[0].Expires.Equal(at(60)):
		t.Fatalf("second attachment: %+v", b)
	}
	if th, err := db.Thumbnail(a.ID); err != nil || string(th) != "thumb-bytes" {
		t.Fatalf("Thumbnail: %q, %v", th, err)
	}
	if _, err := db.Thumbnail(b.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Thumbnail of an attachment without one: %v", err)
	}

	prev, err := db.SetMedia(a.ID, MediaReady, "rnd-a", 128)
	if err != nil || prev != "" {
		t.Fatalf("SetMedia: %q, %v", prev, err)
	}
	it, err := db.MediaOf(id, 0)
	if err != nil || it.State != MediaReady || it.LocalFile != "rnd-a" || it.LocalBytes != 128 || it.Message != id || it.SentAt.IsZero() {
		t.Fatalf("MediaOf after SetMedia: %+v, %v", it, err)
	}
	if prev, err := db.SetMedia(a.ID, MediaFailed, "", 0); err != nil || prev != "rnd-a" {
		t.Fatalf("SetMedia back: %q, %v", prev, err)
	}
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"unknown attachment", ErrNotFound, func() error { _, err := db.SetMedia(999, MediaReady, "x", 1); return err }},
		{"bad state", ErrInvalid, func() error { _, err := db.SetMedia(a.ID, 0, "", 0); return err }},
		{"unknown index", ErrNotFound, func() error { _, err := db.MediaOf(id, 5); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
}

func TestClearMedia(t *testing.T) {
	db, _ := openTest(t)
	old := incoming(1, 0, "old pics")
	old.Attachments = []Attachment{{FileID: "a", Size: 100, State: MediaReady, LocalFile: "fa", LocalBytes: 128, ThumbnailJPEG: []byte("t")},
		{FileID: "b", Size: 50}}
	oldID := mustInsert(t, db, alice, old)
	recent := incoming(2, 100, "new pics")
	recent.Attachments = []Attachment{{FileID: "c", Size: 7, State: MediaReady, LocalFile: "fc", LocalBytes: 64}}
	mustInsert(t, db, alice, recent)
	other := incoming(3, 0, "other")
	other.Attachments = []Attachment{{FileID: "d", Size: 7, State: MediaReady, LocalFile: "fd", LocalBytes: 64}}
	mustInsert(t, db, bob, other)
	c, _ := db.Conversation(alice)

	u, err := db.Usage()
	if err != nil || u.MediaBytes != 256 || u.ThumbnailBytes != 1 {
		t.Fatalf("usage before: %+v, %v", u, err)
	}
	got, err := db.ClearMedia(c.ID, at(50))
	if err != nil || len(got) != 2 || got[0].LocalFile != "fa" || got[0].Message != oldID {
		t.Fatalf("ClearMedia: %+v, %v", got, err)
	}
	m, err := db.Message(oldID)
	if err != nil || m.Body != "old pics" || len(m.Attachments) != 2 || m.Attachments[0].State != MediaCleared ||
		m.Attachments[0].LocalFile != "" || m.Attachments[0].ThumbnailBytes != 0 || m.Attachments[0].FileName != old.Attachments[0].FileName {
		t.Fatalf("message after ClearMedia: %+v, %v", m, err)
	}
	if _, err := db.Thumbnail(m.Attachments[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("thumbnail after clear: %v", err)
	}
	all, _ := db.Media(0)
	states := ""
	for _, it := range all {
		states += it.State.String() + " "
	}
	if states != "cleared cleared ready ready " {
		t.Fatalf("states after a clear of alice's older media: %s", states)
	}
	// Everything else, everywhere.
	if got, err := db.ClearMedia(0, time.Time{}); err != nil || len(got) != 2 {
		t.Fatalf("ClearMedia(all): %+v, %v", got, err)
	}
	if u, _ := db.Usage(); u.MediaBytes != 0 || u.ThumbnailBytes != 0 || u.AttachmentBytes != 164 {
		t.Fatalf("usage after: %+v", u)
	}
}

func TestResetLocalMedia(t *testing.T) {
	db, _ := openTest(t)
	m := incoming(1, 0, "pics")
	m.Attachments = []Attachment{{FileID: "a", State: MediaReady, LocalFile: "fa", LocalBytes: 1}, {FileID: "b", State: MediaExpired}}
	id := mustInsert(t, db, alice, m)
	if files, err := db.MediaFiles(); err != nil || !files["fa"] || len(files) != 1 {
		t.Fatalf("MediaFiles: %v, %v", files, err)
	}
	if n, err := db.ResetLocalMedia(); err != nil || n != 1 {
		t.Fatalf("ResetLocalMedia: %d, %v", n, err)
	}
	got, _ := db.Message(id)
	if got.Attachments[0].State != MediaPending || got.Attachments[0].LocalFile != "" || got.Attachments[1].State != MediaExpired {
		t.Fatalf("after reset: %+v", got.Attachments)
	}
}

// TestMigrateMedia builds a file as version 4 left it, with an attachment,
// and checks that migration 5 keeps it, pending, and that the media
// columns work on it.
func TestMigrateMedia(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, withSchemaVersion(4))
	if err != nil {
		t.Fatal(err)
	}
	m := incoming(1, 0, "before media")
	m.Attachments = []Attachment{{FileID: "old", Size: 9, FileName: "a.txt"}}
	id := mustInsert(t, db, alice, m)
	if got, err := db.Message(id); err != nil || got.Attachments[0].FileName != "a.txt" {
		t.Fatalf("version 4 read: %+v, %v", got, err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("SELECT state FROM attachments"); err == nil {
		t.Fatal("version 4 has the media columns: the test builds the wrong file")
	}
	raw.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Message(id)
	if err != nil || got.Attachments[0].FileName != "a.txt" || got.Attachments[0].State != MediaPending {
		t.Fatalf("after migration: %+v, %v", got, err)
	}
	if _, err := db.SetMedia(got.Attachments[0].ID, MediaReady, "f", 16); err != nil {
		t.Fatal(err)
	}
	if u, err := db.Usage(); err != nil || u.MediaBytes != 16 {
		t.Fatalf("usage after migration: %+v, %v", u, err)
	}
}

// TestMediaAtRest stores attachments with distinctive names, MIME types,
// thumbnails, keys, local file names and delete tokens, and scans the
// database's files: none of them may appear unsealed.
func TestMediaAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hush.db")
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{
		"file name": []byte("holiday-snorkel-plover.heic"),
		"mime":      []byte("application/x-plover-secret"),
		"thumbnail": []byte("thumbnail-jpeg-bytes-plover"),
		"key":       bytes.Repeat([]byte{0x5c, 0xa3}, 16),
		"local":     []byte("local-name-plover"),
		"token":     []byte("delete-token-plover"),
		"piece":     []byte("piece-id-plover"),
	}
	m := outgoing(1, 0, "x")
	m.Attachments = []Attachment{{
		FileName: string(secrets["file name"]), ContentType: string(secrets["mime"]), Key: secrets["key"],
		Pieces: []Piece{{ID: string(secrets["piece"]), Size: 10}}, ThumbnailJPEG: secrets["thumbnail"],
		State: MediaReady, LocalFile: string(secrets["local"]), LocalBytes: 10,
		Tokens: []PieceToken{{ID: string(secrets["piece"]), Token: secrets["token"]}},
	}}
	mustInsert(t, db, alice, m)
	scan := func(when string) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for what, s := range secrets {
				if bytes.Contains(b, s) {
					t.Errorf("%s: %s in the clear in %s", when, what, e.Name())
				}
			}
		}
	}
	scan("while open")
	db.Close()
	scan("after close")
}

package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	pngenc "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// mediaPair is a pair of accounts on one standalone node sharing a fake
// file server and codec.
type mediaPair struct {
	*pair
	files *fakeFiles
	codec mediaCodec
}

func newMediaPair(t *testing.T) *mediaPair {
	mp := &mediaPair{pair: &pair{t: t, nd: startStandalone(t), clock: &fakeClock{}, aHome: newHome(t), bHome: newHome(t), ctx: context.Background()},
		files: newFakeFiles(), codec: newMediaCodec()}
	mp.restart()
	mp.aliceID, mp.bobID = mp.alice.Account(), mp.bob.Account()
	return mp
}

func (mp *mediaPair) restart() {
	if mp.alice != nil {
		mp.alice.Close()
		mp.bob.Close()
	}
	o := Options{Standalone: mp.nd, Clock: mp.clock.Now, Files: mp.files}
	mp.alice, mp.bob = open(mp.t, mp.aHome, o), open(mp.t, mp.bHome, o)
	mp.alice.codec, mp.bob.codec = mp.codec, mp.codec
}

// writeFile writes n bytes of a recognisable pattern to a file named name
// and returns its path and content.
func writeFile(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	b := bytes.Repeat([]byte("plaintext-marker-quetzal "), n/25+1)[:n]
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// collect gathers the transfer events of c until stop is called.
func collect(c *Client) (func() []Transfer, func()) {
	ch, stop := c.Subscribe(4096)
	var (
		mu  sync.Mutex
		got []Transfer
		wg  sync.WaitGroup
	)
	wg.Go(func() {
		for e := range ch {
			if e.Kind == EventTransfer {
				mu.Lock()
				got = append(got, e.Transfer)
				mu.Unlock()
			}
		}
	})
	return func() []Transfer { stop(); wg.Wait(); return got }, stop
}

func open1(t *testing.T, c *Client, id int64, index int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.OpenMedia(id, index, &buf); err != nil {
		t.Fatalf("OpenMedia(%d, %d): %v", id, index, err)
	}
	return buf.Bytes()
}

// TestSendFiles sends a three-piece file and a small one: pieces go up in
// parallel (at most four at once) with progress, both sides keep only
// ciphertext, the small file is downloaded by the receive loop and the
// large one on demand, and both open to the bytes sent.
func TestSendFiles(t *testing.T) {
	mp := newMediaPair(t)
	mp.files.slow = 20 * time.Millisecond
	mp.bob.AddContact(mp.aliceID, "alice")
	bigPath, big := writeFile(t, "big-secret-name.bin", 2*pieceSize+12345)
	smallPath, small := writeFile(t, "small-secret-name.txt", 1000)
	events, _ := collect(mp.alice)
	m, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "two files", []FileToSend{{Path: bigPath}, {Path: smallPath}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "sent" || m.Text != "two files" || len(m.Attachments) != 2 {
		t.Fatalf("sent message: %+v", m)
	}
	if a := m.Attachments[0]; a.State != MediaReady || a.Size != int64(len(big)) || a.FileName != "big-secret-name.bin" {
		t.Fatalf("alice's first attachment: %+v", a)
	}
	if n := mp.files.maxInflight.Load(); n > uploadWorkers {
		t.Fatalf("%d uploads at once, at most %d allowed", n, uploadWorkers)
	}
	if mp.files.count() != 4 {
		t.Fatalf("%d blobs on the server, want 3 + 1", mp.files.count())
	}
	ev := events()
	last := map[int]Transfer{}
	for _, e := range ev {
		if !e.Up || e.Done > e.Total {
			t.Fatalf("upload event %+v", e)
		}
		last[e.Index] = e
	}
	if last[0].Done != last[0].Total || last[0].Total < int64(len(big)) || last[1].Done != last[1].Total {
		t.Fatalf("last upload events: %+v", last)
	}
	if got := open1(t, mp.alice, m.ID, 0); !bytes.Equal(got, big) {
		t.Fatal("alice's own copy does not open to what she sent")
	}

	bobEvents, _ := collect(mp.bob)
	got := mp.read(mp.bob)
	if len(got) != 1 || len(got[0].Attachments) != 2 {
		t.Fatalf("bob got %+v", got)
	}
	in := got[0]
	if in.Attachments[0].State != MediaPending || in.Attachments[1].State != MediaReady {
		t.Fatalf("after the receive loop: %+v (the small one within AutoDownloadBytes only)", in.Attachments)
	}
	if _, err := mp.bob.OpenMedia(in.ID, 0, io_discard{}); !errors.Is(err, ErrNotDownloaded) {
		t.Fatalf("opening a pending attachment: %v", err)
	}
	if err := mp.bob.FetchMedia(mp.ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(open1(t, mp.bob, in.ID, 0), big) || !bytes.Equal(open1(t, mp.bob, in.ID, 1), small) {
		t.Fatal("bob's files do not open to what alice sent")
	}
	down := 0
	for _, e := range bobEvents() {
		if !e.Up && e.MessageID == in.ID && e.Done <= e.Total && e.Err == nil {
			down++
		}
	}
	if down < 4 {
		t.Fatalf("%d download progress events, want one per piece", down)
	}

	// Storage figures are the bytes on disk.
	for _, c := range []*Client{mp.alice, mp.bob} {
		rep, err := c.Storage()
		if err != nil {
			t.Fatal(err)
		}
		if rep.MediaBytes != dirBytes(t, filepath.Join(c.home, mediaDir)) || rep.MediaBytes != rep.MediaFolderBytes || rep.MediaBytes == 0 ||
			len(rep.Conversations) != 1 || rep.Conversations[0].MediaFiles != 2 {
			t.Fatalf("storage %+v, %d bytes in the media folder", rep, dirBytes(t, filepath.Join(c.home, mediaDir)))
		}
	}
	// At rest: no file of either home holds the plaintext, the file name
	// or the MIME type.
	for _, home := range []string{mp.aHome, mp.bHome} {
		scanHome(t, home, map[string][]byte{
			"plaintext": big[:64], "small plaintext": small[100:164], "file name": []byte("big-secret-name"),
			"small file name": []byte("small-secret-name"), "mime": []byte("text/plain"),
		})
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

// scanHome fails when any file under home contains one of secrets.
func scanHome(t *testing.T, home string, secrets map[string][]byte) {
	t.Helper()
	files := 0
	filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for what, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s found in %s", what, path)
			}
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("scanned %d files", files)
	}
}

func TestSendFilesBadInput(t *testing.T) {
	mp := newMediaPair(t)
	over, _ := writeFile(t, "over.bin", DefaultMaxAttachmentBytes+1)
	ok, _ := writeFile(t, "ok.bin", 10)
	for _, tc := range []struct {
		name  string
		files []FileToSend
		want  error
	}{
		{"over the cap, after a good file", []FileToSend{{Path: ok}, {Path: over}}, ErrAttachmentTooLarge},
		{"missing", []FileToSend{{Path: filepath.Join(t.TempDir(), "nope")}}, ErrBadFile},
		{"a directory", []FileToSend{{Path: t.TempDir()}}, ErrBadFile},
		{"none", nil, ErrBadFile},
		{"too many", slices.Repeat([]FileToSend{{Path: ok}}, maxFilesPerMessage+1), ErrBadFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", tc.files); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := mp.files.uploads.Load(); n != 0 {
				t.Fatalf("%d uploads before the error", n)
			}
		})
	}
	// An unreadable file.
	noread, _ := writeFile(t, "noread.bin", 10)
	os.Chmod(noread, 0)
	if os.Getuid() != 0 {
		if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: noread}}); !errors.Is(err, ErrBadFile) {
			t.Fatalf("unreadable file: %v", err)
		}
	}
	// The cap is a setting.
	if err := mp.alice.SetMediaSettings(MediaSettings{MaxAttachmentBytes: 5, AutoDownloadBytes: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: ok}}); !errors.Is(err, ErrAttachmentTooLarge) {
		t.Fatalf("over a lowered cap: %v", err)
	}
	if err := mp.alice.SetMediaSettings(MediaSettings{MaxAttachmentBytes: MaxAttachmentLimit + 1}); !errors.Is(err, ErrAttachmentTooLarge) {
		t.Fatalf("a cap over the limit: %v", err)
	}
	// Without a file server.
	mp.alice.files = nil
	if err := mp.alice.SetMediaSettings(MediaSettings{MaxAttachmentBytes: DefaultMaxAttachmentBytes}); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: ok}}); !errors.Is(err, ErrNoFileServer) {
		t.Fatalf("no file server: %v", err)
	}
	if err := mp.alice.FetchMedia(mp.ctx, 12345); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FetchMedia of an unknown message: %v", err)
	}
	if _, err := mp.alice.OpenMedia(12345, 0, io_discard{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenMedia of an unknown message: %v", err)
	}
}

// TestUploadRetries: each piece is retried on its own (failures of the way
// there, a rate limit with its delay); a piece refused as too large is not.
func TestUploadRetries(t *testing.T) {
	mp := newMediaPair(t)
	path, content := writeFile(t, "f.bin", 2*pieceSize+5)
	var mu sync.Mutex
	tries := map[[32]byte]int{}
	mp.files.failUpload = func(_ int64, piece []byte) error {
		mu.Lock()
		defer mu.Unlock()
		k := sha256.Sum256(piece)
		tries[k]++
		switch tries[k] {
		case 1:
			return errors.New("path broke")
		case 2:
			return &busyError{err: errors.New("429"), after: time.Millisecond}
		}
		return nil
	}
	m, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	if mp.files.count() != 3 {
		t.Fatalf("%d blobs", mp.files.count())
	}
	mp.read(mp.bob)
	got, _ := mp.bob.History(mp.aliceID)
	if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
		t.Fatal("content differs")
	}
	_ = m

	before := mp.files.uploads.Load()
	mp.files.failUpload = func(int64, []byte) error { return ErrAttachmentTooLarge }
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); !errors.Is(err, ErrAttachmentTooLarge) {
		t.Fatalf("413: %v", err)
	}
	if n := mp.files.uploads.Load() - before; n > 3 {
		t.Fatalf("%d uploads for three pieces refused as too large: retried", n)
	}
	// Pieces of a failed send are deleted, no message stays, and nothing
	// is left in the media folder.
	first := mp.files.uploads.Load() + 1
	mp.files.failUpload = func(n int64, _ []byte) error {
		if n != first {
			return errors.New("down")
		}
		return nil
	}
	blobs := mp.files.count()
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); err == nil {
		t.Fatal("a send whose uploads fail succeeded")
	}
	if mp.files.count() != blobs {
		t.Fatalf("%d blobs left by the failed send", mp.files.count()-blobs)
	}
	h, _ := mp.alice.History(mp.bobID)
	if len(h) != 1 {
		t.Fatalf("alice's history after failed sends: %d messages", len(h))
	}
	if n := len(mustDir(t, filepath.Join(mp.aHome, mediaDir))); n != 1 {
		t.Fatalf("%d files in alice's media folder, want 1", n)
	}
}

func mustDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

// TestDownloadRefusesTampering: a piece altered, two swapped, the last cut
// short, or one missing on the server: refused with a clear error, nothing
// kept as good, and the file can be fetched again once the server is
// right.
func TestDownloadRefusesTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(ids []string, blobs map[string][]byte)
		want   error
		state  string
	}{
		{"a piece altered", func(ids []string, b map[string][]byte) { b[ids[1]][7] ^= 1 }, ErrAttachmentCorrupt, MediaFailed},
		{"pieces swapped", func(ids []string, b map[string][]byte) { b[ids[0]], b[ids[1]] = b[ids[1]], b[ids[0]] }, ErrAttachmentCorrupt, MediaFailed},
		{"last piece cut", func(ids []string, b map[string][]byte) { b[ids[2]] = b[ids[2]][:len(b[ids[2]])-1] }, ErrAttachmentCorrupt, MediaFailed},
		{"a piece missing", func(ids []string, b map[string][]byte) { delete(b, ids[2]) }, ErrAttachmentExpired, MediaExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := newMediaPair(t)
			path, content := writeFile(t, "f.bin", 2*pieceSize+100)
			m, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}})
			if err != nil {
				t.Fatal(err)
			}
			dm, _ := mp.alice.db.Message(clientdb.LocalID(m.ID))
			var ids []string
			for _, pc := range dm.Attachments[0].Pieces {
				ids = append(ids, pc.ID)
			}
			saved := map[string][]byte{}
			mp.files.edit(func(b map[string][]byte) {
				for k, v := range b {
					saved[k] = bytes.Clone(v)
				}
				tc.tamper(ids, b)
			})
			got := mp.read(mp.bob)
			err = mp.bob.FetchMedia(mp.ctx, got[0].ID)
			if !errors.Is(err, tc.want) {
				t.Fatalf("FetchMedia: %v, want %v", err, tc.want)
			}
			it, _ := mp.bob.Media(&mp.aliceID)
			if len(it) != 1 || it[0].State != tc.state || it[0].StoredBytes != 0 {
				t.Fatalf("after the refusal: %+v", it)
			}
			if ents, _ := os.ReadDir(filepath.Join(mp.bHome, mediaDir)); len(ents) != 0 {
				t.Fatalf("%d files left in the media folder", len(ents))
			}
			if _, err := mp.bob.OpenMedia(got[0].ID, 0, io_discard{}); err == nil {
				t.Fatal("a refused attachment opened")
			}
			if tc.state == MediaExpired {
				h, _ := mp.bob.History(mp.aliceID)
				if len(h) != 1 || h[0].Attachments[0].State != MediaExpired {
					t.Fatalf("the message does not stay, marked expired: %+v", h)
				}
				return
			}
			mp.files.edit(func(b map[string][]byte) {
				for k, v := range saved {
					b[k] = v
				}
			})
			if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err != nil {
				t.Fatalf("fetching again: %v", err)
			}
			if !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
				t.Fatal("content differs")
			}
		})
	}
}

// TestDownloadResumes: a download interrupted after its first piece
// resumes at the second.
func TestDownloadResumes(t *testing.T) {
	mp := newMediaPair(t)
	path, content := writeFile(t, "f.bin", 2*pieceSize+100)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	got := mp.read(mp.bob)
	mp.files.failDownload = func(id string, n int64) error {
		if n > 1 {
			return errors.New("path broke")
		}
		return nil
	}
	if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err == nil {
		t.Fatal("the interrupted download succeeded")
	}
	if it, _ := mp.bob.Media(nil); it[0].State != MediaFailed || it[0].StoredBytes != pieceSize {
		t.Fatalf("after the interruption: %+v", it[0])
	}
	mp.files.failDownload = nil
	before := mp.files.downloads.Load()
	if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := mp.files.downloads.Load() - before; n != 2 {
		t.Fatalf("%d downloads to resume, want the two missing pieces", n)
	}
	if !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
		t.Fatal("content differs")
	}
}

// TestNoAutoDownloadForRequests: a stranger's attachment waits for the
// user, however small.
func TestNoAutoDownloadForRequests(t *testing.T) {
	mp := newMediaPair(t)
	path, _ := writeFile(t, "f.bin", 100)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "hi", []FileToSend{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	mp.sync(mp.bob)
	if n := mp.files.downloads.Load(); n != 0 {
		t.Fatalf("%d downloads for a message request", n)
	}
	if it, _ := mp.bob.Media(nil); len(it) != 1 || it[0].State != MediaPending {
		t.Fatalf("media %+v", it)
	}
}

// TestMalformedPointerDropped: a message whose attachment the codec
// refuses is dropped and counted, and receiving goes on.
func TestMalformedPointerDropped(t *testing.T) {
	mp := newMediaPair(t)
	mp.bob.AddContact(mp.aliceID, "alice")
	// Well formed for the envelope, but its padded size is not Padmé's of
	// the stream its size gives, so the codec refuses it.
	bad := &envelope.DataMessage{Body: "bad", Attachments: []*envelope.AttachmentPointer{{Key: make([]byte, 32), Digest: make([]byte, 32),
		Size: 50, PaddedSize: 100, Pieces: []*envelope.AttachmentPointer_Piece{{Id: "abc", Digest: make([]byte, 32), Size: 100}}}}}
	if _, err := mp.alice.queueData(mp.bobID, bad, nil); err != nil {
		t.Fatal(err)
	}
	mp.alice.FlushOutbox(mp.ctx)
	mp.send(mp.alice, mp.bobID, "after")
	got := mp.read(mp.bob)
	if !slices.Equal(texts(got), []string{"after"}) || mp.bob.Stats().Dropped != 1 {
		t.Fatalf("bob got %v, dropped %d", texts(got), mp.bob.Stats().Dropped)
	}
}

// TestMediaGoesWithMessages: unsend, disappearing and chat delete remove
// the local files on both sides and the pieces on the file server; clear
// media removes files and thumbnails and keeps the message.
func TestMediaGoesWithMessages(t *testing.T) {
	mp := newMediaPair(t)
	mp.bob.AddContact(mp.aliceID, "alice")
	path, content := writeFile(t, "photo.png", 3000)
	send := func() Message {
		t.Helper()
		m, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	files := func(home string) int { ents, _ := os.ReadDir(filepath.Join(home, mediaDir)); return len(ents) }

	// Unsend.
	m := send()
	mp.read(mp.bob)
	if files(mp.aHome) != 1 || files(mp.bHome) != 1 || mp.files.count() != 1 {
		t.Fatalf("before unsend: %d, %d files, %d blobs", files(mp.aHome), files(mp.bHome), mp.files.count())
	}
	if err := mp.alice.Unsend(mp.ctx, mp.bobID, m.MessageID); err != nil {
		t.Fatal(err)
	}
	mp.sync(mp.bob)
	if files(mp.aHome) != 0 || files(mp.bHome) != 0 || mp.files.count() != 0 {
		t.Fatalf("after unsend: %d, %d files, %d blobs", files(mp.aHome), files(mp.bHome), mp.files.count())
	}

	// Clear media keeps the message.
	m = send()
	got := mp.read(mp.bob)
	rep, _ := mp.bob.Storage()
	cleared, err := mp.bob.ClearMedia(nil, 0)
	if err != nil || cleared.Files != 1 || cleared.Bytes != rep.MediaBytes || cleared.Thumbnails != 0 {
		t.Fatalf("ClearMedia: %+v, %v (storage before %+v)", cleared, err, rep)
	}
	h, _ := mp.bob.History(mp.aliceID)
	if len(h) != 1 || h[0].Attachments[0].State != MediaCleared || files(mp.bHome) != 0 {
		t.Fatalf("after clear: %+v, %d files", h, files(mp.bHome))
	}
	if rep, _ := mp.bob.Storage(); rep.MediaBytes != 0 || rep.MediaFolderBytes != 0 {
		t.Fatalf("storage after clear: %+v", rep)
	}
	if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err != nil || !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
		t.Fatalf("fetching a cleared file again: %v", err)
	}

	// Chat delete, on both sides.
	if _, err := mp.bob.DeleteChat(mp.ctx, mp.aliceID); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.alice.DeleteChat(mp.ctx, mp.bobID); err != nil {
		t.Fatal(err)
	}
	if files(mp.aHome) != 0 || files(mp.bHome) != 0 || mp.files.count() != 0 {
		t.Fatalf("after chat delete: %d, %d files, %d blobs", files(mp.aHome), files(mp.bHome), mp.files.count())
	}

	// Disappearing after send: the pieces' ttl is the timer, and the
	// files go at the deadline.
	if _, err := mp.alice.SetTimer(mp.ctx, mp.bobID, DisappearAfterSend, time.Hour); err != nil {
		t.Fatal(err)
	}
	mp.read(mp.bob)
	send()
	mp.read(mp.bob)
	if ttl := mp.files.ttls[len(mp.files.ttls)-1]; ttl != time.Hour {
		t.Fatalf("piece ttl %v under a one-hour timer", ttl)
	}
	if files(mp.bHome) != 1 {
		t.Fatalf("bob has %d files", files(mp.bHome))
	}
	mp.clock.Advance(time.Hour + time.Minute)
	mp.sync(mp.alice, mp.bob)
	if files(mp.aHome) != 0 || files(mp.bHome) != 0 || mp.files.count() != 0 {
		t.Fatalf("after the deadline: %d, %d files, %d blobs", files(mp.aHome), files(mp.bHome), mp.files.count())
	}
}

// TestImagesAndThumbnails: an image sent as a photo is re-encoded (its
// text chunk with a location goes) with a thumbnail the receiver can
// read; sent as a file, its bytes are untouched.
func TestImagesAndThumbnails(t *testing.T) {
	mp := newMediaPair(t)
	mp.bob.AddContact(mp.aliceID, "alice")
	png := pngWithText(t, 3, 2, "EXIF-GPS 48.8584 N 2.2945 E")
	path := filepath.Join(t.TempDir(), "pic.png")
	os.WriteFile(path, png, 0o600)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}, {Path: path, AsFile: true}}); err != nil {
		t.Fatal(err)
	}
	got := mp.read(mp.bob)
	a := got[0].Attachments
	if !a[0].HasThumbnail || a[0].Width != 3 || a[1].HasThumbnail || a[0].State != MediaReady {
		t.Fatalf("attachments %+v", a)
	}
	if b := open1(t, mp.bob, got[0].ID, 0); bytes.Contains(b, []byte("EXIF-GPS")) {
		t.Fatal("the photo kept its metadata")
	}
	if b := open1(t, mp.bob, got[0].ID, 1); !bytes.Equal(b, png) {
		t.Fatal("the file sent as a file was changed")
	}
	var th bytes.Buffer
	if err := mp.bob.OpenThumbnail(got[0].ID, 0, &th); err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Bytes())); err != nil || cfg.Width != 3 || cfg.Height != 2 {
		t.Fatalf("thumbnail does not decode as a 3×2 JPEG: %+v, %v", cfg, err)
	}
	thumbLen := th.Len()
	if err := mp.bob.OpenThumbnail(got[0].ID, 1, &th); !errors.Is(err, ErrNotFound) {
		t.Fatalf("thumbnail of a file: %v", err)
	}
	rep, _ := mp.bob.Storage()
	if rep.ThumbnailBytes != int64(thumbLen) || rep.Conversations[0].Thumbnails != 1 {
		t.Fatalf("storage %+v", rep)
	}
	bomb := filepath.Join(t.TempDir(), "bomb.png")
	// A PNG header claiming 100,000 × 100,000 pixels, and no pixels: the
	// dimensions are refused before anything is decoded.
	ihdr := binary.BigEndian.AppendUint32(nil, 13)
	ihdr = append(ihdr, "IHDR"...)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100_000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100_000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	ihdr = binary.BigEndian.AppendUint32(ihdr, crc32.ChecksumIEEE(ihdr[4:]))
	os.WriteFile(bomb, append([]byte("\x89PNG\r\n\x1a\n"), ihdr...), 0o600)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: bomb}}); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("an image the codec refuses: %v", err)
	}
}

// TestSharedHistoryCarriesPointers: a history share rebuilds an own
// message's pointers (key, pieces, thumbnail), so the new device can
// fetch the file.
func TestSharedHistoryCarriesPointers(t *testing.T) {
	mp := newMediaPair(t)
	path, _ := writeFile(t, "f.bin", 100)
	m, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "cap", []FileToSend{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	dm, _ := mp.alice.db.Message(clientdb.LocalID(m.ID))
	e, err := sharedMessage(mp.bobID, dm, mp.clock.Now(), mp.codec)
	if err != nil || e == nil {
		t.Fatal(err)
	}
	c, err := envelope.UnmarshalContent(e.GetContent())
	if err != nil {
		t.Fatal(err)
	}
	atts := c.GetData().GetAttachments()
	if len(atts) != 1 {
		t.Fatalf("shared content has %d attachments", len(atts))
	}
	p, err := mp.codec.fromWire(atts[0])
	if err != nil || len(p.Pieces) != 1 || !bytes.Equal(p.Key, dm.Attachments[0].Key) {
		t.Fatalf("shared pointer %+v, %v", p, err)
	}
}

// TestExportSaysNoMedia: a backup carries no media, and says so; the
// import marks the attachments to be fetched again.
func TestExportSaysNoMedia(t *testing.T) {
	mp := newMediaPair(t)
	path, _ := writeFile(t, "f.bin", 100)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	mp.alice.Close()
	h, _ := NewHome(mp.aHome)
	var buf bytes.Buffer
	sum, err := h.Export(mp.ctx, &buf, []byte(testPass), []byte("bk"), InsecureTestKDF())
	if err != nil {
		t.Fatal(err)
	}
	if sum.MediaLeftOut != 1 || sum.MediaLeftOutBytes == 0 {
		t.Fatalf("export summary %+v", sum)
	}
	dst, _ := NewHome(filepath.Join(t.TempDir(), "restored"))
	isum, err := dst.Import(&buf, []byte("bk"), []byte(testPass), InsecureTestKDF())
	if err != nil || isum.MediaToFetch != 1 {
		t.Fatalf("import summary %+v, %v", isum, err)
	}
	c := open(t, dst.Dir(), Options{Standalone: mp.nd, Files: mp.files})
	c.codec = mp.codec
	it, _ := c.Media(nil)
	if len(it) != 1 || it[0].State != MediaPending {
		t.Fatalf("restored media %+v", it)
	}
	if err := c.FetchMedia(mp.ctx, it[0].MessageID); err != nil {
		t.Fatal(err)
	}
}

// pngWithText returns a w×h PNG carrying text in a tEXt chunk before its
// end, as a camera or editor may leave a location there.
func pngWithText(t *testing.T, w, h int, text string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 37)
	}
	var buf bytes.Buffer
	if err := pngenc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	iend := b[len(b)-12:] // length, "IEND", CRC
	data := append([]byte("Comment\x00"), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append(append(append([]byte{}, b[:len(b)-12]...), chunk...), iend...)
	return out
}

// TestConcurrentFetchesShareOne: a fetch of an attachment already being
// downloaded (the automatic download, then a click on it) waits for that
// download instead of writing the same file from a second side; both
// calls succeed, every piece is downloaded once, and the file opens.
func TestConcurrentFetchesShareOne(t *testing.T) {
	mp := newMediaPair(t)
	path, content := writeFile(t, "f.bin", 2*pieceSize+100)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	got := mp.read(mp.bob)
	var blocked atomic.Int64
	release := make(chan struct{})
	mp.files.failDownload = func(id string, n int64) error {
		blocked.Add(1)
		<-release
		return nil
	}
	before := mp.files.downloads.Load()
	errs := make(chan error, 2)
	go func() { errs <- mp.bob.FetchMedia(mp.ctx, got[0].ID) }()
	waitFor(t, "the first download", func() bool { return blocked.Load() == 1 })
	go func() { errs <- mp.bob.FetchMedia(mp.ctx, got[0].ID) }()
	// The second call must wait, not download: give it the time a
	// second download would need to start (the test can only pass
	// wrongly if the machine is slower than that, never fail wrongly).
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if blocked.Load() > 1 {
			t.Error("a second download of the attachment started while the first ran")
			break
		}
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("FetchMedia: %v", err)
		}
	}
	if n := mp.files.downloads.Load() - before; n != 3 {
		t.Errorf("%d piece downloads for a three-piece file fetched twice at once, want 3", n)
	}
	if it, _ := mp.bob.Media(nil); it[0].State != MediaReady {
		t.Fatalf("after both fetches: %+v", it[0])
	}
	if !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
		t.Fatal("content differs")
	}
}

// TestFetchOfReadyAttachmentKeepsIt: a fetch that started from an old
// view of an attachment (the automatic download's list, read before a
// click fetched it) finds it ready and neither downloads it again nor
// replaces the file a reader may have open.
func TestFetchOfReadyAttachmentKeepsIt(t *testing.T) {
	mp := newMediaPair(t)
	path, content := writeFile(t, "f.bin", 2*pieceSize+100)
	if _, err := mp.alice.SendFiles(mp.ctx, mp.bobID, "", []FileToSend{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	got := mp.read(mp.bob)
	if err := mp.bob.FetchMedia(mp.ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	before := mp.files.downloads.Load()
	// As the automatic download does with the pending state it read.
	if err := mp.bob.fetchOne(mp.ctx, got[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	if n := mp.files.downloads.Load() - before; n != 0 {
		t.Errorf("%d piece downloads for an attachment already here", n)
	}
	if it, _ := mp.bob.Media(nil); it[0].State != MediaReady {
		t.Fatalf("after the second fetch: %+v", it[0])
	}
	if !bytes.Equal(open1(t, mp.bob, got[0].ID, 0), content) {
		t.Fatal("content differs")
	}
}

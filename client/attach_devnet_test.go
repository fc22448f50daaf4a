package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
)

// TestAttachmentsDevnet sends files through onion paths to the devnet's
// real file server (`hushd files`, a process) and back: 1 KiB, 1 MiB,
// 10 MB and a photo carrying EXIF GPS. The file server is killed with
// SIGKILL during the upload and during the download and restarted; both
// complete. The receiver's bytes are the sender's, the photo has lost its
// EXIF, its thumbnail decodes; no file under either home, and no blob of
// the file server, holds plaintext, a file name or a MIME type; clearing
// media keeps the message and frees what `hush storage` reported.
func TestAttachmentsDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hushd processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	d := startHushdDevnet(ctx, t)

	o := Options{Network: d.Network()}
	aHome, bHome := newHome(t), newHome(t)
	alice, bob := open(t, aHome, o), open(t, bHome, o)
	if err := bob.AddContact(alice.Account(), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := alice.AddContact(bob.Account(), "bob"); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	files := []struct {
		name string
		data []byte
	}{
		{"small-quetzal.bin", randomBytes(t, 1<<10)},
		{"medium-quetzal.bin", randomBytes(t, 1<<20)},
		{"large-quetzal.bin", randomBytes(t, 10_000_000)},
		{"holiday-quetzal.jpg", jpegWithGPS(t, 64, 48)},
	}
	var send []FileToSend
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		send = append(send, FileToSend{Path: p})
	}

	// The file server dies (SIGKILL) before the third piece goes up, and
	// comes back when the client has seen that fail.
	alice.files = &killingFiles{FileServer: alice.files, d: d, t: t, killBefore: 3, upload: true}
	sent, err := alice.SendFiles(ctx, bob.Account(), "four files", send)
	if err != nil {
		t.Fatal(err)
	}
	if k := alice.files.(*killingFiles); !k.killed.Load() || !k.restarted.Load() {
		t.Fatal("the file server was not killed during the upload")
	}
	if len(sent.Attachments) != len(files) {
		t.Fatalf("sent %d attachments, want %d", len(sent.Attachments), len(files))
	}

	// The same during bob's download of the large file (the three small
	// ones came with the receive loop's automatic download).
	bob.files = &killingFiles{FileServer: bob.files, d: d, t: t, killBefore: 2}
	var got Message
	waitForLong(t, 3*time.Minute, "bob receives the files", func() bool {
		ms, err := bob.Poll(ctx)
		if err != nil {
			t.Logf("poll: %v", err)
		}
		for _, m := range ms {
			if m.Text == "four files" {
				got = m
			}
		}
		return got.ID != 0
	})
	states := func() []string {
		items, err := bob.Media(nil)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range items {
			s = append(s, it.State)
		}
		return s
	}
	if err := bob.FetchMedia(ctx, got.ID); err != nil {
		t.Fatalf("FetchMedia: %v (states %v)", err, states())
	}
	if k := bob.files.(*killingFiles); !k.killed.Load() || !k.restarted.Load() {
		t.Fatal("the file server was not killed during the download")
	}

	for i, f := range files {
		var buf bytes.Buffer
		a, err := bob.OpenMedia(got.ID, i, &buf)
		if err != nil {
			t.Fatalf("open %s: %v (states %v)", f.name, err, states())
		}
		if a.FileName != f.name {
			t.Errorf("attachment %d is named %q, want %q", i, a.FileName, f.name)
		}
		if f.name != "holiday-quetzal.jpg" {
			if !bytes.Equal(buf.Bytes(), f.data) {
				t.Errorf("%s: bob's bytes differ from alice's", f.name)
			}
			continue
		}
		if bytes.Contains(buf.Bytes(), []byte("Exif")) || bytes.Contains(buf.Bytes(), []byte("GPS")) {
			t.Error("the photo bob received still carries its EXIF/GPS segment")
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf.Bytes())); err != nil || cfg.Width != 64 || cfg.Height != 48 {
			t.Errorf("the received photo does not decode as 64×48: %+v, %v", cfg, err)
		}
		var th bytes.Buffer
		if err := bob.OpenThumbnail(got.ID, i, &th); err != nil {
			t.Fatalf("thumbnail: %v", err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(th.Bytes())); err != nil {
			t.Errorf("the thumbnail does not decode: %v", err)
		}
	}

	// At rest: neither home nor the file server's folder holds a piece of
	// plaintext, a file name or the MIME type.
	secrets := [][]byte{[]byte("quetzal"), []byte("image/jpeg"), []byte("application/octet-stream")}
	for _, f := range files[:3] {
		secrets = append(secrets, f.data[len(f.data)/2:len(f.data)/2+64])
	}
	for _, root := range []string{aHome, bHome, d.FileServer().Dir} {
		filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, s := range secrets {
				if bytes.Contains(b, s) {
					t.Errorf("%s holds %.20q in the clear", path, s)
				}
			}
			return nil
		})
	}

	// Clearing media keeps the message, marks its files cleared and
	// frees the bytes `hush storage` counted, which were those on disk.
	before, err := bob.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if disk := dirBytes(t, filepath.Join(bHome, mediaDir)); before.MediaBytes != disk || disk == 0 {
		t.Fatalf("storage reports %d media bytes, the media folder holds %d", before.MediaBytes, disk)
	}
	alicePeer := alice.Account()
	if _, err := bob.ClearMedia(&alicePeer, 0); err != nil {
		t.Fatal(err)
	}
	after, err := bob.Storage()
	if err != nil {
		t.Fatal(err)
	}
	if after.MediaBytes != 0 || dirBytes(t, filepath.Join(bHome, mediaDir)) != 0 {
		t.Fatalf("after clearing: storage %d bytes, folder %d", after.MediaBytes, dirBytes(t, filepath.Join(bHome, mediaDir)))
	}
	h, err := bob.History(alicePeer)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) == 0 || h[len(h)-1].Text != "four files" {
		t.Fatal("clearing media took the message")
	}
	for _, a := range h[len(h)-1].Attachments {
		if a.State != MediaCleared {
			t.Errorf("attachment %d is %s after clearing, want %s", a.Index, a.State, MediaCleared)
		}
	}
}

// killingFiles wraps a client's file server: before its killBefore-th
// upload (or download) it kills the devnet's file server, and restarts it
// once a call has failed, so the client's retry is what completes.
type killingFiles struct {
	FileServer
	d          *devnet.Devnet
	t          *testing.T
	upload     bool
	killBefore int32

	mu                sync.Mutex
	calls             atomic.Int32
	killed, restarted atomic.Bool
}

func (k *killingFiles) around(call func() error) error {
	if k.calls.Add(1) == k.killBefore {
		if err := k.d.KillFiles(); err != nil {
			k.t.Errorf("kill the file server: %v", err)
		}
		k.killed.Store(true)
	}
	err := call()
	if err != nil && k.killed.Load() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if !k.restarted.Load() {
			if rerr := k.d.RestartFiles(); rerr != nil {
				k.t.Errorf("restart the file server: %v", rerr)
			}
			k.restarted.Store(true)
		}
	}
	return err
}

func (k *killingFiles) Upload(ctx context.Context, piece []byte, ttl time.Duration) (UploadedPiece, error) {
	if !k.upload {
		return k.FileServer.Upload(ctx, piece, ttl)
	}
	var u UploadedPiece
	err := k.around(func() (err error) { u, err = k.FileServer.Upload(ctx, piece, ttl); return err })
	return u, err
}

func (k *killingFiles) Download(ctx context.Context, id string, offset, length int64) ([]byte, int64, error) {
	if k.upload {
		return k.FileServer.Download(ctx, id, offset, length)
	}
	var (
		data []byte
		size int64
	)
	err := k.around(func() (err error) { data, size, err = k.FileServer.Download(ctx, id, offset, length); return err })
	return data, size, err
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// jpegWithGPS returns a w×h JPEG with an APP1 Exif segment naming a GPS
// position right after its start marker, as a phone camera writes one.
func jpegWithGPS(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// APP1: "Exif\0\0", then a TIFF header whose content is opaque to
	// decoders; the GPS text is what must not survive.
	payload := append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00"), []byte("GPS 48.8584N 2.2945E")...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

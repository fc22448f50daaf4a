package client

import (
	"bytes"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAvatar: alice's profile picture is re-encoded (its text chunk with
// a location gone), scaled to fit AvatarSide and uploaded for the longest
// TTL; bob, who accepted alice, fetches it in the receive loop and opens
// an image without the text; a stranger's is recorded but not fetched; a
// new picture replaces the file, clearing removes it, and so does chat
// delete.
func TestAvatar(t *testing.T) {
	mp := newMediaPair(t)
	mp.bob.AddContact(mp.aliceID, "alice")
	dir := t.TempDir()
	path := filepath.Join(dir, "me.png")
	os.WriteFile(path, pngWithText(t, 900, 300, "GPS 48.8584 N 2.2945 E"), 0o600)
	if err := mp.alice.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	if set, exp, err := mp.alice.ProfileAvatar(); !set || err != nil || exp.Before(time.Now().Add(DefaultFileTTL)) {
		t.Fatalf("ProfileAvatar: %v %v %v", set, exp, err)
	}
	if ttl := mp.files.ttls[len(mp.files.ttls)-1]; ttl < DefaultFileTTL {
		t.Fatalf("uploaded for %v", ttl)
	}
	mp.send(mp.alice, mp.bobID, "hi")
	mp.read(mp.bob)
	var buf bytes.Buffer
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); err != nil {
		t.Fatalf("OpenAvatar: %v", err)
	}
	if bytes.Contains(buf.Bytes(), []byte("GPS")) {
		t.Fatal("the avatar kept its text chunk")
	}
	img, _, err := image.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil || img.Bounds().Dx() != AvatarSide || img.Bounds().Dy() != AvatarSide/3 {
		t.Fatalf("avatar does not decode as a %d×%d image: %v, %v", AvatarSide, AvatarSide/3, img, err)
	}
	if cs, _ := mp.bob.Contacts(); len(cs) != 1 || !cs[0].Avatar {
		t.Fatalf("contacts %+v", cs)
	}
	scanHome(t, mp.bHome, map[string][]byte{"avatar plaintext": buf.Bytes()})
	files := func() int { return len(mustDir(t, filepath.Join(mp.bHome, avatarDir))) }

	// A stranger (carol) with an avatar: bob records the pointer and
	// fetches nothing.
	carol := open(t, newHome(t), Options{Standalone: mp.nd, Clock: mp.clock.Now, Files: mp.files})
	carol.codec = mp.codec
	if err := carol.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	mp.send(carol, mp.bobID, "hello, stranger")
	before := mp.files.downloads.Load()
	mp.sync(mp.bob)
	if n := mp.files.downloads.Load(); n != before {
		t.Fatalf("%d downloads for a message request's avatar", n-before)
	}
	if err := mp.bob.OpenAvatar(carol.Account(), &buf); !errors.Is(err, ErrNotDownloaded) {
		t.Fatalf("stranger's avatar: %v", err)
	}

	// A new picture replaces the file.
	os.WriteFile(path, pngWithText(t, 20, 20, "again"), 0o600)
	if err := mp.alice.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	mp.send(mp.alice, mp.bobID, "new face")
	mp.read(mp.bob)
	buf.Reset()
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(buf.Bytes())); err != nil || cfg.Width != 20 || files() != 1 {
		t.Fatalf("replaced avatar %+v %v, %d files", cfg, err, files())
	}

	// Clearing: the next message carries none and bob removes it.
	if err := mp.alice.ClearAvatar(); err != nil {
		t.Fatal(err)
	}
	if len(mustDir(t, filepath.Join(mp.aHome, avatarDir))) != 0 {
		t.Fatal("alice kept her cleared avatar's file")
	}
	mp.send(mp.alice, mp.bobID, "no face")
	mp.read(mp.bob)
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); !errors.Is(err, ErrNotFound) || files() != 0 {
		t.Fatalf("after clearing: %v, %d files", err, files())
	}

	// Chat delete removes it too.
	if err := mp.alice.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	mp.send(mp.alice, mp.bobID, "face again")
	mp.read(mp.bob)
	if files() != 1 {
		t.Fatalf("%d avatar files", files())
	}
	if _, err := mp.bob.DeleteChat(mp.ctx, mp.aliceID); err != nil && !errors.Is(err, ErrUnreachable) {
		t.Fatal(err)
	}
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); !errors.Is(err, ErrNotFound) || files() != 0 {
		t.Fatalf("after chat delete: %v, %d files", err, files())
	}
}

// TestAvatarRefresh: once its pieces are near their expiry the own
// avatar is uploaded again by the background duties, and the old pieces
// deleted.
func TestAvatarRefresh(t *testing.T) {
	mp := newMediaPair(t)
	path := filepath.Join(t.TempDir(), "me.png")
	os.WriteFile(path, pngWithText(t, 8, 8, "x"), 0o600)
	if err := mp.alice.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	_, exp, _ := mp.alice.ProfileAvatar()
	mp.clock.Advance(exp.Sub(mp.clock.Now()) - time.Hour)
	ups, dels := mp.files.uploads.Load(), mp.files.deletes.Load()
	if err := mp.alice.refreshAvatar(mp.ctx); err != nil {
		t.Fatal(err)
	}
	_, exp2, _ := mp.alice.ProfileAvatar()
	if mp.files.uploads.Load() == ups || mp.files.deletes.Load() == dels || !exp2.After(exp) {
		t.Fatalf("no re-upload: uploads %d→%d, deletes %d→%d, expiry %v→%v", ups, mp.files.uploads.Load(), dels, mp.files.deletes.Load(), exp, exp2)
	}
}

// TestAvatarTampered: a tampered piece is refused and nothing is kept;
// the next message fetches it again once the server holds the right bytes.
func TestAvatarTampered(t *testing.T) {
	mp := newMediaPair(t)
	mp.bob.AddContact(mp.aliceID, "alice")
	path := filepath.Join(t.TempDir(), "me.png")
	os.WriteFile(path, pngWithText(t, 16, 16, "x"), 0o600)
	if err := mp.alice.SetAvatar(mp.ctx, path); err != nil {
		t.Fatal(err)
	}
	mp.files.mu.Lock()
	var id string
	var good []byte
	for k, b := range mp.files.blobs {
		id, good = k, bytes.Clone(b)
		b[len(b)/2] ^= 1
	}
	mp.files.mu.Unlock()
	mp.send(mp.alice, mp.bobID, "hi")
	mp.read(mp.bob)
	var buf bytes.Buffer
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); !errors.Is(err, ErrNotDownloaded) || len(mustDir(t, filepath.Join(mp.bHome, avatarDir))) != 0 {
		t.Fatalf("tampered avatar: %v", err)
	}
	mp.files.mu.Lock()
	mp.files.blobs[id] = good
	mp.files.mu.Unlock()
	mp.send(mp.alice, mp.bobID, "again")
	mp.read(mp.bob)
	if err := mp.bob.OpenAvatar(mp.aliceID, &buf); err != nil {
		t.Fatalf("after the server is right: %v", err)
	}
}

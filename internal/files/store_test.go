package files

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// blobFiles lists the files under dir's blob folder.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, BlobDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCrashLeavesNothingVisible: whatever point an upload or a delete was
// at when the process died, the next start shows either the whole blob
// or nothing, and leaves no stray file.
func TestCrashLeavesNothingVisible(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	dir := t.TempDir()
	s, err := OpenStore(dir, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.Put(ctx, []byte("complete"), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.Put(ctx, []byte("row lost"), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Died after writing the temporary file, before the rename.
	if err := os.WriteFile(filepath.Join(dir, TempDir, "upload-123"), []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Died after the rename, before the row (or after a delete's row
	// removal, before the unlink): a blob file without a row.
	orphan := make([]byte, 32)
	orphan[0] = 0xee
	oh := hex.EncodeToString(orphan)
	os.MkdirAll(filepath.Dir(s.blobPath(oh)), 0o700)
	if err := os.WriteFile(s.blobPath(oh), []byte("renamed, no row"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A row whose file a disk lost.
	if err := os.Remove(s.blobPath(hex.EncodeToString(gone.ID))); err != nil {
		t.Fatal(err)
	}
	// A stray file in the wrong shard is no blob either.
	stray := filepath.Join(dir, BlobDir, "00", "00", hex.EncodeToString(kept.ID))
	os.MkdirAll(filepath.Dir(stray), 0o700)
	os.WriteFile(stray, []byte("misplaced"), 0o600)

	s, err = OpenStore(dir, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if entries, _ := os.ReadDir(filepath.Join(dir, TempDir)); len(entries) != 0 {
		t.Fatalf("temporary leftovers survive the start: %v", entries)
	}
	if files := blobFiles(t, dir); len(files) != 1 || files[0] != s.blobPath(hex.EncodeToString(kept.ID)) {
		t.Fatalf("blob files after the start: %v", files)
	}
	for _, id := range [][]byte{orphan, gone.ID} {
		if _, err := s.Info(ctx, id, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a half-done blob is visible: %v", err)
		}
	}
	b, _, err := s.Read(ctx, kept.ID, 0, 100, now)
	if err != nil || string(b) != "complete" {
		t.Fatalf("the complete blob: %q %v", b, err)
	}
	if st := s.Stats(); st.Blobs != 1 || st.Bytes != int64(len("complete")) {
		t.Fatalf("stats %+v", st)
	}
}

// TestPutFailureLeavesNothing: an upload whose row cannot be written
// (the database is closed under it) leaves no file behind and no space
// reserved.
func TestPutFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	s.db.Close()
	if _, err := s.Put(context.Background(), []byte("doomed"), time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Put succeeded without a database")
	}
	if files := blobFiles(t, dir); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, TempDir)); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if s.reserved != 0 || s.used != 0 {
		t.Fatalf("reserved %d used %d", s.reserved, s.used)
	}
}

func TestWithoutPaths(t *testing.T) {
	id := "abcd" + strings.Repeat("0", 60)
	_, err := os.Open(filepath.Join(t.TempDir(), BlobDir, "ab", "cd", id))
	lerr := os.Rename(filepath.Join(t.TempDir(), "upload-1"), filepath.Join(t.TempDir(), id))
	for _, e := range []error{err, lerr, fmt.Errorf("read: %w", err)} {
		got := withoutPaths(e)
		if strings.Contains(got.Error(), id) || !errors.Is(got, fs.ErrNotExist) {
			t.Fatalf("withoutPaths(%v) = %v", e, got)
		}
	}
}

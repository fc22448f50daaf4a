//go:build unix

package devnet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/filesclient"
)

// TestFileServerKilled runs the devnet's file server as a hushd process,
// kills it with SIGKILL while uploads are in flight, and restarts it:
// it comes back with its blobs, no half-written upload is left in its
// data, and every blob row has its file.
func TestFileServerKilled(t *testing.T) {
	hushd := buildHushd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := up(t, ctx, Options{Nodes: 4, Processes: true, HushdPath: hushd})
	if d.FilesPid() == 0 {
		t.Fatal("the file server has no process")
	}
	do := filesDoer(t, d)
	kept := bytes.Repeat([]byte("kept "), 50_000)
	up := uploadEventually(t, ctx, do, kept)

	// Uploads of the largest pieces, in flight while the server dies.
	big := bytes.Repeat([]byte{0x5a}, filesclient.MaxPiece)
	done := make(chan error, 4)
	for range cap(done) {
		go func() {
			_, err := filesclient.Upload(ctx, do, big, time.Hour)
			done <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // some are on the wire; none is waited on
	if err := d.KillFiles(); err != nil {
		t.Fatal(err)
	}
	for range cap(done) {
		<-done // succeeded before the kill, or failed: both are fine
	}
	if d.FilesRunning() {
		t.Fatal("the killed file server still runs")
	}
	if err := d.RestartFiles(); err != nil {
		t.Fatal(err)
	}
	checkDownload(t, ctx, do, up.ID, kept)

	dir := d.FileServer().Dir
	if entries, _ := os.ReadDir(filepath.Join(dir, files.TempDir)); len(entries) != 0 {
		t.Fatalf("half-written uploads survive the restart: %d", len(entries))
	}
	rep, err := files.Transparency(ctx, dir, config.DefaultFiles())
	if err != nil {
		t.Fatal(err)
	}
	var rows, blobs int64
	for _, k := range rep.Records {
		switch {
		case k.Kind == "table" && k.Name == "blobs":
			rows = k.Count
		case k.Kind == "files" && k.Name == files.BlobDir+"/ab/cd/<blob id in hex>":
			blobs = k.Count
		}
	}
	if rows != blobs || rows < 1 {
		t.Fatalf("%d rows, %d blob files after the restart", rows, blobs)
	}
}

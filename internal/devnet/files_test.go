package devnet

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/filesclient"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// filesDoer reaches d's file server through three of its nodes, as a
// client's path does.
func filesDoer(t *testing.T, d *Devnet) filesclient.Doer {
	t.Helper()
	nodes := d.Nodes()
	path := []snapshot.Node{nodes[0].Node, nodes[1].Node, nodes[2].Node}
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	t.Cleanup(pool.Close)
	target, key, ok := filesclient.Endpoint(d.Network())
	if !ok || target != d.FileServer().Target || key != d.FileServer().X25519 {
		t.Fatalf("the network file's file server %+v differs from the devnet's %+v", target, d.FileServer())
	}
	return func(ctx context.Context, body []byte) (int, []byte, error) {
		return onionclient.SendServer(ctx, pool, path, target, key, body)
	}
}

// uploadEventually retries an upload until the file server serves the
// path's last relay (it learns the nodes from the registry's snapshots,
// after they registered).
func uploadEventually(t *testing.T, ctx context.Context, do filesclient.Doer, piece []byte) filesclient.Uploaded {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		up, err := filesclient.Upload(actx, do, piece, time.Hour)
		cancel()
		if err == nil {
			return up
		}
		select {
		case <-ctx.Done():
			t.Fatalf("upload: %v (last error %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func checkDownload(t *testing.T, ctx context.Context, do filesclient.Doer, id string, want []byte) {
	t.Helper()
	got, size, err := filesclient.Download(ctx, do, id, 0, 0)
	if err != nil || size != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("download: %d bytes of %d, %v", len(got), size, err)
	}
}

// TestDevnetFileServer: a devnet lists its file server in the network
// file (keys included), and a client reaches it through three of the
// devnet's nodes, whose relays allow it from the network file and pin its
// key. Stopped, it refuses nothing silently (the client hears the last
// relay's failure); restarted, it serves the blob stored before.
func TestDevnetFileServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := up(t, ctx, Options{Nodes: 4})
	fs := d.FileServer()
	svc := d.Network().Services.Files
	if svc == nil || svc.Address != fs.Address || *svc.Ed25519 != fs.Ed25519 || *svc.X25519 != fs.X25519 {
		t.Fatalf("network file services.files %+v, file server %+v", svc, fs)
	}
	if !d.FilesRunning() || d.FilesPid() != 0 {
		t.Fatalf("running %v, pid %d in-process", d.FilesRunning(), d.FilesPid())
	}
	do := filesDoer(t, d)
	piece := bytes.Repeat([]byte("devnet attachment piece "), 10_000)
	up := uploadEventually(t, ctx, do, piece)
	checkDownload(t, ctx, do, up.ID, piece)

	if err := d.StopFiles(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := filesclient.Download(ctx, do, up.ID, 0, 0); err == nil {
		t.Fatal("a stopped file server answered")
	}
	if err := d.RestartFiles(); err != nil {
		t.Fatal(err)
	}
	if err := d.RestartFiles(); err == nil {
		t.Fatal("a running file server started twice")
	}
	checkDownload(t, ctx, do, up.ID, piece)
	if err := filesclient.Delete(ctx, do, up.ID, up.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := filesclient.Download(ctx, do, up.ID, 0, 0); !errors.Is(err, filesclient.ErrNotFound) {
		t.Fatalf("download after delete: %v", err)
	}
}

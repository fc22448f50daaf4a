package filesclient_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/filesclient"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// startServer runs a file server that serves the nodes of nw.
func startServer(t *testing.T, nodes func(identity.Ed25519PublicKey) bool) *files.Server {
	t.Helper()
	cfg := config.DefaultFiles()
	cfg.Data, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	s, err := files.New(cfg, slog.New(slog.DiscardHandler), files.WithNodes(nodes))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-s.Ready()
	return s
}

// TestThroughRelays uploads and downloads through a 3-relay onion path of
// real relays (relaytest), the last of which reaches the real file server
// over TLS pinned to its key as a node does. The relays never see the
// bytes, and the server serves only the network's nodes.
func TestThroughRelays(t *testing.T) {
	var nw *relaytest.Network
	srv := startServer(t, func(k identity.Ed25519PublicKey) bool { return nw != nil && nw.Node(k) != nil })
	port := srv.Addr().(*net.TCPAddr).Port
	target := onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "https", Method: http.MethodPost, Target: wire.Target}
	nw = relaytest.Start(t, relaytest.Options{Nodes: 4, StewardServers: []relay.StewardServer{{Target: target, Ed25519: srv.Identity().Ed25519Public()}}})
	pool := nw.ClientPool()
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	key := snapshot.X25519Key(srv.Identity().X25519Public())
	do := func(ctx context.Context, body []byte) (int, []byte, error) {
		return onionclient.SendServer(ctx, pool, path, target, key, body)
	}
	ctx := context.Background()

	piece := make([]byte, filesclient.MaxPiece)
	rand.Read(piece)
	up, err := filesclient.Upload(ctx, do, piece, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A download in three parts, as one resumed after interruptions.
	var got []byte
	for off := int64(0); off < int64(len(piece)); {
		data, size, err := filesclient.Download(ctx, do, up.ID, off, 800_000)
		if err != nil || size != int64(len(piece)) {
			t.Fatalf("download at %d: %d %v", off, size, err)
		}
		got = append(got, data...)
		off += int64(len(data))
	}
	if !bytes.Equal(got, piece) {
		t.Fatal("downloaded bytes differ")
	}
	info, err := filesclient.Info(ctx, do, up.ID)
	if err != nil || info.Size != int64(len(piece)) || !info.Expires.Equal(up.Expires) {
		t.Fatalf("info %+v %v", info, err)
	}
	exp, err := filesclient.Extend(ctx, do, up.ID, up.Token, 48*time.Hour)
	if err != nil || !exp.After(up.Expires) {
		t.Fatalf("extend: %v %v", exp, err)
	}
	if err := filesclient.Delete(ctx, do, up.ID, bytes.Repeat([]byte{9}, 32)); !errors.Is(err, filesclient.ErrForbidden) || filesclient.HTTPStatus(err) != 403 {
		t.Fatalf("delete with a wrong token: %v", err)
	}
	if err := filesclient.Delete(ctx, do, up.ID, up.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := filesclient.Download(ctx, do, up.ID, 0, 10); !errors.Is(err, filesclient.ErrNotFound) {
		t.Fatalf("download after delete: %v", err)
	}
	for _, o := range nw.Observations() {
		if bytes.Contains(o.Request, piece[:64]) || bytes.Contains(o.Response, piece[:64]) || bytes.Contains(o.Request, []byte(up.ID)) {
			t.Fatalf("relay at hop %d saw the piece or its ID", o.Hop)
		}
	}

	// A relay that is no node of the network is refused by the server:
	// the client hears the last relay's failure, nothing is stored.
	outsider := relaytest.Start(t, relaytest.Options{Nodes: 3, StewardServers: []relay.StewardServer{{Target: target, Ed25519: srv.Identity().Ed25519Public()}}})
	opath := []snapshot.Node{outsider.Nodes[0].Info, outsider.Nodes[1].Info, outsider.Nodes[2].Info}
	_, err = filesclient.Upload(ctx, func(ctx context.Context, body []byte) (int, []byte, error) {
		return onionclient.SendServer(ctx, outsider.ClientPool(), opath, target, key, body)
	}, []byte("x"), 0)
	if !errors.Is(err, onion.ErrDestinationFailed) {
		t.Fatalf("upload through a foreign network's relays: %v", err)
	}
	if st := srv.Store().Stats(); st.Blobs != 0 {
		t.Fatalf("%d blobs stored", st.Blobs)
	}
}

// fake answers every request with one canned answer.
func fake(status int, body []byte) filesclient.Doer {
	return func(context.Context, []byte) (int, []byte, error) { return status, body, nil }
}

func TestAnswers(t *testing.T) {
	ctx := context.Background()
	id := wire.EncodeID(make([]byte, 32))
	st, rate, _ := wire.MarshalError(&wire.Error{Code: wire.CodeRateLimited, RetryAfter: 2 * time.Second})
	_, err := filesclient.Upload(ctx, fake(st, rate), []byte("x"), 0)
	var e *filesclient.Error
	if !errors.Is(err, filesclient.ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 2*time.Second {
		t.Fatalf("rate limited: %v", err)
	}
	called := false
	if _, err := filesclient.Upload(ctx, func(context.Context, []byte) (int, []byte, error) { called = true; return 0, nil, nil },
		make([]byte, filesclient.MaxPiece+1), 0); !errors.Is(err, filesclient.ErrTooLarge) || called {
		t.Fatalf("oversized piece: %v (sent: %v)", err, called)
	}
	// A server that answers fewer bytes than the blob has from there.
	short, err := wire.MarshalResponse(wire.OpDownload, &wire.Response{Size: 100, Expires: time.UnixMilli(1), Data: []byte("abc")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := filesclient.Download(ctx, fake(200, short), id, 0, 10); !errors.Is(err, filesclient.ErrBadAnswer) {
		t.Fatalf("short download: %v", err)
	}
	if _, _, err := filesclient.Download(ctx, fake(200, short), id, 97, 10); err != nil {
		t.Fatalf("the tail of a blob: %v", err)
	}
	if _, err := filesclient.Info(ctx, fake(502, []byte("bad gateway")), id); !errors.Is(err, filesclient.ErrBadAnswer) {
		t.Fatalf("garbage answer: %v", err)
	}
	transport := errors.New("no path")
	if err := filesclient.Delete(ctx, func(context.Context, []byte) (int, []byte, error) { return 0, nil, transport }, id, make([]byte, 32)); !errors.Is(err, transport) {
		t.Fatalf("transport error: %v", err)
	}
}

// BenchmarkThroughRelays uploads and downloads MaxPiece pieces through 3
// real relays to a real file server (one op = one upload and one
// download), reporting the throughput of the piece's bytes.
func BenchmarkThroughRelays(b *testing.B) {
	var nw *relaytest.Network
	cfg := config.DefaultFiles()
	cfg.Data, cfg.Listen = b.TempDir(), "127.0.0.1:0"
	cfg.RelayBurst, cfg.RelayRatePerSecond = 1_000_000, 1_000_000
	srv, err := files.New(cfg, slog.New(slog.DiscardHandler), files.WithNodes(func(k identity.Ed25519PublicKey) bool { return nw != nil && nw.Node(k) != nil }))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-srv.Ready()
	target := onion.ServerTarget{Host: "127.0.0.1", Port: uint16(srv.Addr().(*net.TCPAddr).Port), Protocol: "https", Method: http.MethodPost, Target: wire.Target}
	nw = relaytest.Start(b, relaytest.Options{Nodes: 3, StewardServers: []relay.StewardServer{{Target: target, Ed25519: srv.Identity().Ed25519Public()}}})
	pool := nw.ClientPool()
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	key := snapshot.X25519Key(srv.Identity().X25519Public())
	do := func(ctx context.Context, body []byte) (int, []byte, error) {
		return onionclient.SendServer(ctx, pool, path, target, key, body)
	}
	piece := make([]byte, filesclient.MaxPiece)
	rand.Read(piece)
	b.SetBytes(2 * int64(len(piece)))
	for b.Loop() {
		up, err := filesclient.Upload(context.Background(), do, piece, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := filesclient.Download(context.Background(), do, up.ID, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/protocol/transparency"
)

// reportTransport answers report requests as steward servers would: by
// the target's port, a signed report, a report signed by a key the
// network file does not list, or a refusal.
type reportTransport struct {
	t       *testing.T
	answers map[uint16]func() (int, []byte)
	keys    map[uint16]snapshot.X25519Key
}

func (r *reportTransport) Do(context.Context, snapshot.Node, []byte) (int, []byte, error) {
	return 0, nil, errors.New("no nodes here")
}

func (r *reportTransport) DoServer(_ context.Context, target onion.ServerTarget, key snapshot.X25519Key, body []byte) (int, []byte, error) {
	if target.Target != transparency.Target || !bytes.Equal(body, transparency.MarshalRequest()) {
		r.t.Errorf("asked %+v %q", target, body)
	}
	if key != r.keys[target.Port] {
		r.t.Errorf("port %d: sealed to %x, want %x", target.Port, key, r.keys[target.Port])
	}
	status, b := r.answers[target.Port]()
	return status, b, nil
}

func signedBy(t *testing.T, key ed25519.PrivateKey, server string) []byte {
	b, err := transparency.Sign(&transparency.Statement{
		Format: transparency.Format, NetworkID: "testnet", Server: server, Key: identity.Ed25519PublicKeyOf(key), Issued: 1,
		Report: transparency.Report{Format: transparency.Format, Server: server, Records: []transparency.Record{},
			Logs: transparency.Logs{Level: "info", Streams: []transparency.LogStream{}}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTransparencyReports: every steward in the network file is asked
// through the transport, sealed to its key (a registry host's derived
// from its Ed25519 key); a report signed by another key than the file's
// is refused, a refusal is that server's error, while the others still
// come; the TURN server's report is asked at its credential endpoint.
func TestTransparencyReports(t *testing.T) {
	seed := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	reg, push, files, impostor, turn := seed(1), seed(2), seed(3), seed(4), seed(5)
	pub := func(k ed25519.PrivateKey) identity.Ed25519PublicKey { return identity.Ed25519PublicKeyOf(k) }
	regX := func() snapshot.X25519Key { id, _ := pub(reg).AccountID(); return snapshot.X25519Key(id[1:]) }()
	pushK, filesK, turnK := pub(push), pub(files), pub(turn)
	px, fx, tx := snapshot.X25519Key{2}, snapshot.X25519Key{3}, snapshot.X25519Key{5}
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	nf := &netfile.Network{ID: "testnet", Loopback: true, Limits: netfile.DefaultLimits(),
		Registries: []netfile.Registry{{Address: addr(7101), Ed25519: pub(reg)}},
		Services: netfile.Services{
			Push:  &netfile.Service{Address: addr(7102), Ed25519: &pushK, X25519: &px},
			Files: &netfile.Service{Address: addr(7103), Ed25519: &filesK, X25519: &fx},
			// The TURN server's report comes from its credential endpoint,
			// not its TURN port.
			TURN: &netfile.Service{Address: addr(3478), Endpoint: addr(7104), Ed25519: &turnK, X25519: &tx},
		}}
	tr := &reportTransport{t: t,
		answers: map[uint16]func() (int, []byte){
			7101: func() (int, []byte) { return http.StatusOK, signedBy(t, reg, "registry") },
			7102: func() (int, []byte) { return http.StatusOK, signedBy(t, impostor, "push") },
			7103: func() (int, []byte) { return http.StatusServiceUnavailable, []byte("busy") },
			7104: func() (int, []byte) { return http.StatusOK, signedBy(t, turn, "turn") },
		},
		keys: map[uint16]snapshot.X25519Key{7101: regX, 7102: px, 7103: fx, 7104: tx},
	}
	c := open(t, newHome(t), Options{Network: nf, Transport: tr})
	reps, err := c.TransparencyReports(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 4 {
		t.Fatalf("%d reports", len(reps))
	}
	if r := reps[0]; r.Server != "registry" || r.Err != nil || r.Report == nil || r.Report.Key != pub(reg) {
		t.Errorf("registry: %+v", r)
	}
	if r := reps[1]; r.Server != "push" || !errors.Is(r.Err, transparency.ErrSignature) || r.Report != nil {
		t.Errorf("push signed by an impostor: %+v", r)
	}
	if r := reps[2]; r.Server != "files" || r.Err == nil || r.Report != nil {
		t.Errorf("files refusing: %+v", r)
	}
	if r := reps[3]; r.Server != "turn" || r.Err != nil || r.Report == nil || r.Report.Key != turnK {
		t.Errorf("turn: %+v", r)
	}
}

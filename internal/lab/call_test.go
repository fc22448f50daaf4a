//go:build lab && linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/turn"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The lab's TURN host and its clients, each in a /24 of its own.
const (
	turnAddr  = "10.77.40.1"
	aliceAddr = "10.77.20.1"
	bobAddr   = "10.77.21.1"
)

// callResult is one end of a lab call, as its helper saw it.
type callResult struct {
	// Setup is from the call started (dial) or answered to media
	// flowing at this end.
	Setup time.Duration `json:"setup"`
	// Local and Remote are the selected pair's candidate types.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Candidates are every candidate line this end signalled (trickled
	// or in its SDP).
	Candidates []string `json:"candidates"`
	// Dominant is the recording's dominant frequency (answer only).
	Dominant float64 `json:"dominant"`
	Recorded int     `json:"recorded"`
}

// helperCall opens the account in job.Home relay-only and dials
// job.Peer with a 440 Hz tone (calldial, until the callee hangs up) or
// answers the first incoming call, records 1.5 s and hangs up
// (callanswer).
func helperCall(ctx context.Context, job helperJob) (helperResult, error) {
	nf, err := node.LoadNetwork(job.Network)
	if err != nil {
		return helperResult{}, err
	}
	var mu sync.Mutex
	var sent []client.CallSignal
	c, err := client.Open(ctx, client.Options{
		Home: job.Home, Passphrase: []byte("lab"), Network: nf,
		CallSignalSent: func(_ identity.AccountID, s client.CallSignal) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, s)
		},
	})
	if err != nil {
		return helperResult{}, err
	}
	defer c.Close()
	if err := c.SetCallMode(client.CallsRelay); err != nil {
		return helperResult{}, err
	}
	events, stop := c.Subscribe(64)
	defer stop()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.Run(rctx) }()
	defer func() { cancel(); <-done }()

	var s *callrtc.Session
	start := time.Now()
	if job.Mode == "calldial" {
		peer, err := identity.ParseAccountID(job.Peer)
		if err != nil {
			return helperResult{}, err
		}
		s, err = callrtc.Dial(ctx, c, peer, callrtc.Options{Audio: callrtc.Tone(440, 30, 0.5)})
		if err != nil {
			return helperResult{}, err
		}
	} else {
		var id string
		for id == "" {
			select {
			case e := <-events:
				if e.Kind == client.EventCall && e.Call.State == client.CallIncoming {
					id = e.Call.ID
				}
			case <-ctx.Done():
				return helperResult{}, errors.New("the call did not ring")
			}
		}
		start = time.Now()
		if s, err = callrtc.Answer(ctx, c, id, callrtc.Options{}); err != nil {
			return helperResult{}, err
		}
	}
	defer s.Close()
	select {
	case <-s.Flowing():
	case <-s.Done():
		return helperResult{}, fmt.Errorf("the call ended: %w", s.Err())
	case <-ctx.Done():
		return helperResult{}, errors.New("no media flowed")
	}
	r := &callResult{Setup: s.FlowingAt().Sub(start)}
	for {
		p, ok := s.SelectedPair()
		if ok {
			r.Local, r.Remote = p.Local, p.Remote
			break
		}
		if ctx.Err() != nil {
			return helperResult{}, errors.New("no selected pair")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if job.Mode == "calldial" {
		select {
		case <-s.Done():
		case <-ctx.Done():
			return helperResult{}, errors.New("the callee did not hang up")
		}
	} else {
		for len(s.Recording()) < 3*callrtc.SampleRate/2 {
			if ctx.Err() != nil {
				return helperResult{}, fmt.Errorf("recorded %d samples", len(s.Recording()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		rec := s.Recording()[callrtc.SampleRate/10 : 3*callrtc.SampleRate/2]
		r.Recorded = len(rec)
		r.Dominant = callrtc.DominantFrequency(rec, 200, 2000, 10)
		if err := s.Hangup(ctx); err != nil {
			return helperResult{}, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, sig := range sent {
		for _, cand := range sig.Candidates {
			r.Candidates = append(r.Candidates, cand.Candidate)
		}
		for _, line := range strings.Split(sig.SDP, "\r\n") {
			if strings.HasPrefix(line, "a=candidate:") {
				r.Candidates = append(r.Candidates, line[2:])
			}
		}
	}
	return helperResult{Call: r}, nil
}

// prepareTURN makes the TURN host's key and config (its STUN/TURN,
// TLS and credential endpoint on turnAddr, following the network file
// at netPath, relaying to the lab's private addresses) and returns its
// network file entry and config path.
func prepareTURN(t *testing.T, dir, netPath string) (*netfile.Service, string) {
	t.Helper()
	id, err := node.LoadOrCreateIdentityFile(dir, turn.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTURN()
	cfg.Data, cfg.Network = dir, netPath
	cfg.Listen, cfg.TLSListen, cfg.Endpoint = turnAddr+":3478", turnAddr+":5349", turnAddr+":22050"
	cfg.AllowPrivatePeers = true
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "turn.toml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ed, x := id.Ed25519Public(), snapshot.X25519Key(id.X25519Public())
	return &netfile.Service{Address: cfg.Listen, TLSAddress: cfg.TLSListen, Endpoint: cfg.Endpoint, Ed25519: &ed, X25519: &x}, path
}

// TestLabCall: issue 20's relay-only call in the lab, every party at
// an address of its own. hushd turn runs in its own namespace; alice
// and bob, each in theirs, call each other through it (callrtc, the
// code under `hush call`, credentials through onion paths): bob
// records alice's 440 Hz tone and its dominant frequency is 440 Hz;
// both selected pairs are relay/relay; every candidate either signalled
// is a relay candidate at the TURN host, and none carries alice's or
// bob's address.
func TestLabCall(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 10*time.Minute)
	turnHost, err := l.AddHost("turn", turnAddr)
	if err != nil {
		t.Fatal(err)
	}
	tdir := filepath.Join(l.Dir, "turn")
	o := baseOptions([]string{"10.77.30.1", "10.77.30.2", "10.77.31.1", "10.77.32.1", "10.77.33.1"})
	svc, cfgPath := prepareTURN(t, tdir, filepath.Join(l.Dir, "network.json"))
	o.TURN = svc
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Start(turnHost, filepath.Join(tdir, "turn.log"), nil, hushdBin, "turn", "--config", cfgPath); err != nil {
		t.Fatal(err)
	}
	alice, err := n.AddClient(ctx, "alice", aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := n.AddClient(ctx, "bob", bobAddr)
	if err != nil {
		t.Fatal(err)
	}
	// Contacts with each other's keys: each accepts the other, then a
	// message each way arrives.
	for _, p := range [][2]*Client{{alice, bob}, {bob, alice}} {
		if _, err := p[0].Run(ctx, "accept", p[1].ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range [][2]*Client{{alice, bob}, {bob, alice}} {
		if _, err := p[0].Send(ctx, p[1].ID, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*Client{alice, bob} {
		for got := false; !got; {
			ms, err := c.Receive(ctx)
			if err != nil {
				t.Logf("receive: %v", err)
			}
			got = len(ms) > 0
			if ctx.Err() != nil {
				t.Fatal("the clients did not exchange messages")
			}
		}
	}
	t.Log("contacts made; calling")

	var wg sync.WaitGroup
	var ans helperResult
	var aerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		ans, aerr = runHelperErr(ctx, l, bob.Host, helperJob{Mode: "callanswer", Home: bob.Home, Network: n.NetPath})
	}()
	dial, derr := runHelperErr(ctx, l, alice.Host, helperJob{Mode: "calldial", Home: alice.Home, Peer: bob.ID, Network: n.NetPath})
	wg.Wait()
	if derr != nil || aerr != nil {
		t.Fatalf("dial: %v; answer: %v", derr, aerr)
	}
	a, b := dial.Call, ans.Call
	t.Logf("call setup in the lab (dial → media flowing at alice): %v; (answer → media flowing at bob): %v", a.Setup, b.Setup)
	if b.Dominant != 440 {
		t.Errorf("dominant frequency of bob's recording (%d samples) %v Hz, want 440", b.Recorded, b.Dominant)
	}
	for name, r := range map[string]*callResult{"alice": a, "bob": b} {
		if r.Local != "relay" || r.Remote != "relay" {
			t.Errorf("%s's selected pair %s/%s, want relay/relay", name, r.Local, r.Remote)
		}
		if len(r.Candidates) == 0 {
			t.Errorf("%s signalled no candidate", name)
		}
		for _, c := range r.Candidates {
			f := strings.Fields(strings.TrimPrefix(c, "candidate:"))
			if len(f) < 8 || f[7] != "relay" || f[4] != turnAddr {
				t.Errorf("%s signalled %q, want a relay candidate at %s", name, c, turnAddr)
			}
			if strings.Contains(c, aliceAddr) || strings.Contains(c, bobAddr) {
				t.Errorf("%s signalled a client's own address: %q", name, c)
			}
		}
	}
}

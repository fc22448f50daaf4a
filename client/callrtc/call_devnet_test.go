package callrtc_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
)

const pass = "correct horse"

func startDevnet(t testing.TB) *devnet.Devnet {
	t.Helper()
	// A bound for a hang, not a speed: under -race at load 60 starting the
	// eight in-process nodes alone took 86 s (schema migrations, TLS and
	// registration each), and the two minutes this had ran out while the
	// nodes caught up with the registry ("6 nodes still catching up"),
	// three runs in three; the cli's devnets have six minutes too.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{
		Dir: t.TempDir(), Nodes: 8, Timeout: 6 * time.Minute,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		UnreachableAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// sentLog records every call signal a client sends.
type sentLog struct {
	mu   sync.Mutex
	sigs []client.CallSignal
}

func (l *sentLog) add(_ identity.AccountID, s client.CallSignal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sigs = append(l.sigs, s)
}

func (l *sentLog) all() []client.CallSignal {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sigs)
}

func newClient(t testing.TB, d *devnet.Devnet, log *sentLog) *client.Client {
	t.Helper()
	h, err := client.NewHome(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Create([]byte(pass), client.InsecureTestKDF()); err != nil {
		t.Fatal(err)
	}
	c, err := client.Open(context.Background(), client.Options{
		Home: h.Dir(), Passphrase: []byte(pass), Network: d.Network(), CallSignalSent: log.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// befriend makes a and b accepted contacts who have each other's keys.
func befriend(t testing.TB, a, b *client.Client) {
	t.Helper()
	ctx := context.Background()
	for _, p := range [][2]*client.Client{{a, b}, {b, a}} {
		if err := p[0].Accept(p[1].Account()); err != nil {
			t.Fatal(err)
		}
		p[0].Send(ctx, p[1].Account(), "hi") // queued if the keys are not out yet
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, p := range [][2]*client.Client{{a, b}, {b, a}} {
		for {
			p[1].Sync(ctx)
			p[0].Sync(ctx)
			if h, _ := p[0].History(p[1].Account()); len(h) >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the two clients did not exchange messages")
			}
		}
	}
}

// run runs c's background duties (fast mode: signals arrive by long-poll)
// for the test's life.
func run(t testing.TB, c *client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// callOnce makes one call from a to b, a sending audio; it returns both
// sessions once media flows both ways, and the setup time (from the call
// started to media flowing at both ends).
func callOnce(t testing.TB, a, b *client.Client, ice []client.ICEServer, audio []int16) (*callrtc.Session, *callrtc.Session, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bev, stop := b.Subscribe(64)
	defer stop()
	start := time.Now()
	as, err := callrtc.Dial(ctx, a, b.Account(), callrtc.Options{Audio: audio, ICEServers: ice, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	var id string
	for id == "" {
		select {
		case e := <-bev:
			if e.Kind == client.EventCall && e.Call.State == client.CallIncoming {
				id = e.Call.ID
			}
		case <-ctx.Done():
			t.Fatal("the call did not ring")
		}
	}
	bs, err := callrtc.Answer(ctx, b, id, callrtc.Options{ICEServers: ice, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	for _, s := range []*callrtc.Session{as, bs} {
		select {
		case <-s.Flowing():
		case <-s.Done():
			t.Fatalf("the call ended: %v", s.Err())
		case <-ctx.Done():
			t.Fatal("no media flowed")
		}
	}
	end := as.FlowingAt()
	if bs.FlowingAt().After(end) {
		end = bs.FlowingAt()
	}
	return as, bs, end.Sub(start)
}

func pairOf(t testing.TB, s *callrtc.Session) callrtc.CandidatePair {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if p, ok := s.SelectedPair(); ok {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no selected candidate pair")
	return callrtc.CandidatePair{}
}

// TestRelayCallDevnet: two clients on a devnet call each other relay-only
// through the devnet's hushd turn (credentials from Client.ICEServers): a 440 Hz tone from a WAV file arrives and its
// recording's dominant frequency is 440 Hz; both selected candidate pairs
// are relay/relay; no signal either sent carries a host or srflx
// candidate, or a relay candidate's related address.
func TestRelayCallDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	var ice []client.ICEServer // the devnet's hushd turn, through Client.ICEServers
	var alog, blog sentLog
	alice, bob := newClient(t, d, &alog), newClient(t, d, &blog)
	befriend(t, alice, bob)
	for _, c := range []*client.Client{alice, bob} {
		if err := c.SetCallMode(client.CallsRelay); err != nil {
			t.Fatal(err)
		}
		run(t, c)
	}
	wav := filepath.Join(t.TempDir(), "tone.wav")
	var buf bytes.Buffer
	if err := callrtc.WriteWAV(&buf, callrtc.Tone(440, 4, 0.5)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wav, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(wav)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := callrtc.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	as, bs, setup := callOnce(t, alice, bob, ice, audio)
	t.Logf("call setup (call started → media flowing both ways) through TURN: %v", setup)
	// 1.5 s of the tone recorded at bob's.
	deadline := time.Now().Add(time.Minute)
	for len(bs.Recording()) < 3*callrtc.SampleRate/2 {
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d samples", len(bs.Recording()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec := bs.Recording()[callrtc.SampleRate/10 : 3*callrtc.SampleRate/2]
	if f := callrtc.DominantFrequency(rec, 200, 2000, 10); f != 440 {
		t.Errorf("dominant frequency of the recording %v Hz, want 440", f)
	}
	var out bytes.Buffer
	if err := callrtc.WriteWAV(&out, rec); err != nil {
		t.Fatal(err)
	}
	if back, err := callrtc.ReadWAV(&out); err != nil || len(back) != len(rec) {
		t.Fatalf("recording round trip: %d samples, %v", len(back), err)
	}
	for name, s := range map[string]*callrtc.Session{"alice": as, "bob": bs} {
		if p := pairOf(t, s); p.Local != "relay" || p.Remote != "relay" {
			t.Errorf("%s's selected pair %+v, want relay/relay", name, p)
		}
	}
	if err := as.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bs.Done():
	case <-time.After(time.Minute):
		t.Fatal("bob's side did not end")
	}
	cands := 0
	for name, l := range map[string]*sentLog{"alice": &alog, "bob": &blog} {
		for _, s := range l.all() {
			for _, c := range s.Candidates {
				cands++
				checkCandidate(t, name, c.Candidate)
			}
			for _, line := range strings.Split(s.SDP, "\r\n") {
				if strings.HasPrefix(line, "a=candidate:") {
					checkCandidate(t, name, line[2:])
				}
			}
		}
	}
	if cands == 0 {
		t.Error("no candidate was signalled")
	}
}

func checkCandidate(t *testing.T, who, c string) {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(c, "candidate:"))
	if len(f) < 8 || f[7] != "relay" {
		t.Errorf("%s signalled a non-relay candidate: %q", who, c)
	}
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "raddr" && f[i+1] != "0.0.0.0" {
			t.Errorf("%s signalled a related address: %q", who, c)
		}
	}
}

// Package daemon is `hush daemon`: the long-running client that owns a
// home and serves a local JSON API and an event stream for scripts and the
// web UI (DESIGN.md §11, docs/api.md).
//
// # Lifecycle
//
// A daemon starts with no account or with a locked home. Until an API
// call creates, restores or unlocks the account, only those calls and the
// status are served; everything else is refused with 423 and the code
// "locked". Once unlocked, the daemon opens the client library and runs
// its background duties ([client.Client.Run]) until it is locked again or
// stopped. While it runs it holds the home ([client.Home.ClaimDaemon]), so
// `hush` commands on the same home refuse with one clear line instead of
// writing beside it.
//
// # Security
//
// The server listens on a loopback address or a unix socket. Every request
// carries the API key (kept 0600 in the home as daemon.key) or the web UI's
// session cookie, obtained once through a one-time login URL the daemon
// prints. The Host header must name the loopback address (against DNS
// rebinding), the Origin, when present, must be the daemon's own,
// state-changing requests made with the cookie carry a CSRF token, and no
// response ever has CORS headers. Media is served as a download in a
// sandbox, inline only for raster images.
//
// The daemon uses only the public client library: it is a program that
// acts for a user, like the CLI (STYLE.md rule 14).
package daemon

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/client"
)

// KeyFile is the name of the API key's file in the home.
const KeyFile = "daemon.key"

// DefaultShutdownGrace is how long a stopping daemon lets requests in
// flight (a send reaching the network) finish before it closes the client;
// what has not finished then stays in the outbox.
const DefaultShutdownGrace = 10 * time.Second

// Config configures [New]. Home is required, and one of Listen or Socket.
type Config struct {
	// Home is the home directory.
	Home string
	// Listen is a loopback TCP address ("127.0.0.1:7777", port 0 for any);
	// Socket a unix socket path. Exactly one is set.
	Listen string
	Socket string
	// Options are the client options for the network (Home and
	// Passphrase are filled in by the daemon).
	Options client.Options
	// HomeOptions are passed to the home's Create and Restore (tests:
	// client.InsecureTestKDF).
	HomeOptions []client.HomeOption
	// ShutdownGrace bounds the wait for requests in flight at shutdown
	// (DefaultShutdownGrace if zero).
	ShutdownGrace time.Duration
	// Heartbeat is the event stream's keep-alive interval (15 s if zero).
	Heartbeat time.Duration
	// Out receives the lines meant for the user who started the daemon
	// (where it listens, the one-time UI login URL); nil discards them.
	Out    io.Writer
	Logger *slog.Logger
	// run replaces the client's background duties (tests).
	run func(ctx context.Context, c *client.Client) error
}

// Errors of [New] and [Daemon.Run].
var (
	// ErrNotLoopback: Listen is not a loopback address.
	ErrNotLoopback = errors.New("the daemon listens on loopback addresses only")
	// ErrListen: neither or both of Listen and Socket are set.
	ErrListen = errors.New("give exactly one of a listen address and a socket path")
)

// pumpBuffer is how many client events may wait for the pump.
const pumpBuffer = 1024

// errStopping refuses an unlock that comes in while the daemon stops.
var errStopping = &httpError{http.StatusServiceUnavailable, "stopping", "the daemon is stopping"}

// errOpening refuses an unlock while another one runs.
var errOpening = &httpError{http.StatusConflict, "unlocking", "another unlock is running"}

// Daemon is one running `hush daemon`. Create it with [New], then [Run].
type Daemon struct {
	cfg   Config
	log   *slog.Logger
	home  *client.Home // the claim's home once Run has claimed it
	claim *client.DaemonClaim
	key   []byte // the API key, as its hex text
	ln    net.Listener
	// port is the TCP port ("" on a unix socket): the Host header must
	// carry it.
	port   string
	events *broker
	auth   *sessions
	// settingsMu serializes PATCH /settings: it reads, changes and
	// writes the media settings as one value, and two at once would
	// lose one's change.
	settingsMu sync.Mutex

	// mu guards the fields below: the open client and its duties.
	mu       sync.Mutex
	c        *client.Client
	stopRun  context.CancelFunc
	runDone  chan struct{}
	pumpDone chan struct{}
	// stopping is set once Run shuts down: an unlock still in flight
	// then opens nothing that the shutdown would not close.
	stopping bool
	// opening is set while an unlock runs Argon2id outside mu.
	opening bool
	// busy counts requests using c, so lock waits for them before it
	// closes the client.
	busy sync.WaitGroup
}

// New checks cfg, loads (or makes) the API key and opens the listener;
// the home is claimed and served by [Daemon.Run].
func New(cfg Config) (*Daemon, error) {
	if (cfg.Listen == "") == (cfg.Socket == "") {
		return nil, ErrListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.run == nil {
		cfg.run = runDuties
	}
	h, err := client.NewHome(cfg.Home)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h.Dir(), 0o700); err != nil {
		return nil, err
	}
	key, err := LoadKey(h.Dir())
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, home: h, key: key, events: newBroker(), auth: newSessions()}
	if cfg.Socket != "" {
		// A socket file left by a daemon that died is in the way; a live
		// daemon's is not removed, since its claim fails first in Run
		// and it would otherwise lose its socket here.
		if _, _, err := runningDaemon(h); err != nil {
			return nil, err
		}
		os.Remove(cfg.Socket)
		ln, err := net.Listen("unix", cfg.Socket)
		if err != nil {
			return nil, err
		}
		os.Chmod(cfg.Socket, 0o600)
		d.ln = ln
		return d, nil
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--listen %q: %w", cfg.Listen, ErrNotLoopback)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	d.ln = ln
	_, d.port, _ = net.SplitHostPort(ln.Addr().String())
	return d, nil
}

// Addr returns the address the daemon listens on.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// URL returns the daemon's base URL ("http://127.0.0.1:PORT"; on a unix
// socket "http://localhost", to be used with the socket).
func (d *Daemon) URL() string {
	if d.port == "" {
		return "http://localhost"
	}
	return "http://" + d.ln.Addr().String()
}

// Key returns the API key (the text a request carries).
func (d *Daemon) Key() string { return string(d.key) }

// LoginURL mints a one-time URL that gives a browser the UI's session
// cookie; it works once, within a few minutes.
func (d *Daemon) LoginURL() string {
	return d.URL() + "/ui/login?token=" + d.auth.newLogin()
}

// LoadKey returns the API key kept in home, making one (32 random bytes,
// as hex, in a 0600 file) if there is none.
func LoadKey(home string) ([]byte, error) {
	path := filepath.Join(home, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k := []byte(strings.TrimSpace(string(b)))
		if len(k) != 64 {
			return nil, fmt.Errorf("%s: not an API key; remove it to make a new one", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var raw [32]byte
	rand.Read(raw[:])
	k := []byte(hex.EncodeToString(raw[:]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadKey(home) // another process made it first
		}
		return nil, err
	}
	if _, err := f.Write(append(k, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return k, f.Close()
}

// keyMatches compares a presented key with the API key in constant time.
func (d *Daemon) keyMatches(k string) bool {
	return len(k) == len(d.key) && subtle.ConstantTimeCompare([]byte(k), d.key) == 1
}

// Run claims the home, serves the API until ctx ends, then shuts down in
// this order: no new requests; requests in flight get the grace period to
// finish (a send either reaches the network or stays queued); the
// client's duties stop; the client closes (its outbox is in the
// database); the claim is released.
func (d *Daemon) Run(ctx context.Context) error {
	info := client.DaemonInfo{PID: os.Getpid()}
	if d.port != "" {
		info.Listen = d.ln.Addr().String()
	} else {
		info.Socket = d.cfg.Socket
	}
	claim, err := d.home.ClaimDaemon(info)
	if err != nil {
		d.ln.Close()
		return err
	}
	d.claim = claim
	d.home = claim.Home()
	defer claim.Release()

	srv := &http.Server{
		Handler:           d.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	where := d.URL()
	if d.port == "" {
		where = "unix socket " + d.cfg.Socket
	}
	fmt.Fprintf(d.cfg.Out, "hush daemon: API on %s (key in %s)\n", where, filepath.Join(d.home.Dir(), KeyFile))
	if d.port != "" {
		fmt.Fprintf(d.cfg.Out, "hush daemon: web UI login (once, within %v): %s\n", loginTTL, d.LoginURL())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(d.ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	d.events.close() // event streams end at once: they would hold Shutdown
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		d.log.Warn("requests still running at shutdown", "err", serr)
		srv.Close()
	}
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	if lerr := d.lock(); lerr != nil {
		err = errors.Join(err, lerr)
	}
	if d.cfg.Socket != "" {
		os.Remove(d.cfg.Socket)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// client returns the open client and marks a request using it; done must
// be called when the request is over. It returns nil when locked.
func (d *Daemon) client() (c *client.Client, done func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, nil
	}
	d.busy.Add(1)
	return d.c, d.busy.Done
}

// open unlocks the home with passphrase and starts the client's duties.
func (d *Daemon) open(ctx context.Context, passphrase []byte) error {
	d.mu.Lock()
	switch {
	case d.c != nil:
		d.mu.Unlock()
		return nil
	case d.stopping:
		d.mu.Unlock()
		return errStopping
	case d.opening:
		d.mu.Unlock()
		return errOpening
	}
	d.opening = true
	d.mu.Unlock()
	// Argon2id takes a second or more: the other requests (the status
	// a UI polls) are served meanwhile.
	o := d.cfg.Options
	o.Logger = d.log
	c, err := d.home.Open(ctx, passphrase, o)
	// Argon2id has just taken its memory (128 MiB with the default
	// parameters); a daemon idles for days, so give it back to the system
	// now rather than when the heap next shrinks.
	debug.FreeOSMemory()

	d.mu.Lock()
	defer d.mu.Unlock()
	d.opening = false
	if err != nil {
		return err
	}
	if d.stopping {
		c.Close()
		return errStopping
	}
	// The client drops events silently for a subscriber that falls
	// behind (the daemon could not tell its streams): room for a burst
	// (a download's progress, a history sync) while the pump translates.
	events, unsubscribe := c.Subscribe(pumpBuffer)
	runCtx, stop := context.WithCancel(context.Background())
	runDone, pumpDone := make(chan struct{}), make(chan struct{})
	d.c, d.stopRun, d.runDone, d.pumpDone = c, stop, runDone, pumpDone
	go func() {
		defer close(runDone)
		if err := d.cfg.run(runCtx, c); err != nil {
			d.log.Warn("background duties ended", "err", err)
		}
	}()
	go func() {
		defer close(pumpDone)
		d.pump(runCtx, c, events)
		unsubscribe()
	}()
	d.events.publish(sseEvent{name: "account", data: statusJSON{State: stateUnlocked, AccountID: c.Account().String()}})
	return nil
}

// lock stops the duties, waits for requests using the client, and closes
// it. Queued messages stay in the outbox.
func (d *Daemon) lock() error {
	d.mu.Lock()
	c := d.c
	if c == nil {
		d.mu.Unlock()
		return nil
	}
	d.c = nil // no new request gets the client
	stop, runDone, pumpDone := d.stopRun, d.runDone, d.pumpDone
	d.mu.Unlock()
	stop()
	<-runDone
	d.busy.Wait()
	<-pumpDone
	err := c.Close()
	d.events.publish(sseEvent{name: "account", data: statusJSON{State: stateLocked}})
	return err
}

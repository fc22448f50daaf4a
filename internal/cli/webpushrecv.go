package cli

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/crypto/webpush"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/netlookup"
)

// `hush tool webpush-receiver` is a Web Push push service and user agent
// in one, for a devnet: what a UnifiedPush distributor or a browser is to
// a real device. It hands out one subscription (endpoint, p256dh, auth),
// accepts push messages to it as RFC 8030 §5 describes, checks each
// one's VAPID authorization (RFC 8292) against the key the devnet's push
// server signs with, and decrypts the body (RFC 8291) with the
// subscription's keys, so a newcomer sees exactly what a phone's provider
// would hand hush: an opaque payload that only the subscribed device
// opens. Its TLS certificate comes from the devnet's test CA, which the
// devnet's push server trusts (internal/devnet webpush.go).

// receiverStateFile is the receiver's default state file, in the
// devnet's folder (cleared with it, as the subscription dies with the
// devnet's push server).
const receiverStateFile = "webpush-receiver.json"

// maxPushBody is the largest push message body accepted: RFC 8030 §7.2
// has push services accept 4096 octets, and larger ones may get 413.
const maxPushBody = 4096

// openWait is how long --open keeps fetching, by default, for the
// message a push names before it says it has not arrived.
const openWait = 20 * time.Second

func (a *app) toolWebPushReceiverCommand() *cobra.Command {
	var (
		f                      netFlags
		dir, listen, statePath string
		open                   bool
		wait                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "webpush-receiver",
		Short: "Run a local Web Push receiver for a devnet and print each push it gets",
		Long: `Run a Web Push receiver on this machine for a devnet: the part a UnifiedPush
distributor or a browser plays for a real device. It makes one subscription
(a P-256 key pair and a 16-byte auth secret, kept in --state so that a
restart keeps it valid), serves https on --listen with a certificate from
the devnet's test CA (which the devnet's push server trusts), and prints the
"hush notifications push" command that subscribes an account to it.

Every push it receives must carry a VAPID authorization (RFC 8292) signed by
the devnet's push server for this receiver's origin and not expired; its
body is decrypted (RFC 8291) with the subscription's keys and printed, one
line per push, as base64url: the payload "hush tool push-open" opens. With
--open it runs push-open itself for the account in --home, and prints the
messages the push woke it for. Refused requests get a 4xx answer and a line
saying why.

The devnet is --devnet, else the folder of the network file --network or
HUSH_NETWORK names, else the default devnet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			if dir == "" {
				var err error
				if dir, err = receiverDevnetDir(f.network); err != nil {
					return err
				}
			}
			wp, err := devnet.LoadWebPush(dir)
			if err != nil {
				return err
			}
			if statePath == "" {
				statePath = filepath.Join(dir, receiverStateFile)
			}
			st, err := loadReceiverState(statePath)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("listen") && st.Listen != "" {
				listen = st.Listen
			}
			if open {
				if err := a.checkOpen(ctx); err != nil {
					return err
				}
			}
			cert, err := wp.CA.ServerCert(time.Now())
			if err != nil {
				return err
			}
			ln, origin, err := listenLoopback(listen)
			if err != nil {
				if listen == st.Listen {
					return fmt.Errorf("%w (the address this subscription was made for; pass --listen, or another --state for a new subscription)", err)
				}
				return err
			}
			st.Listen = ln.Addr().String()
			if err := st.save(statePath); err != nil {
				ln.Close()
				return err
			}
			rcv, err := st.receiver(origin, wp.VAPIDPublic)
			if err != nil {
				ln.Close()
				return err
			}
			return a.serveReceiver(ctx, ln, cert, rcv, receiverInfo{dir: dir, state: statePath}, open, wait, &f)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&dir, "devnet", "", "the devnet's folder (default: that of --network or $HUSH_NETWORK, else the default devnet's)")
	fl.StringVar(&listen, "listen", "127.0.0.1:0", "loopback address to serve https on (default: the one --state remembers, else a free port)")
	fl.StringVar(&statePath, "state", "", "file keeping the subscription's keys (default: "+receiverStateFile+" in the devnet's folder)")
	fl.BoolVar(&open, "open", false, "open each push as the account in --home does (hush tool push-open) and print its messages")
	fl.DurationVar(&wait, "open-wait", openWait, "with --open, how long to fetch again for the message a push names before saying it has not arrived")
	return cmd
}

// receiverDevnetDir is the devnet the receiver serves when --devnet is
// not given: the folder of the network file the other commands would use,
// else the default devnet's.
func receiverDevnetDir(network string) (string, error) {
	if p, err := netlookup.Resolve(network); err == nil {
		return filepath.Dir(p), nil
	}
	return netlookup.DevnetDir()
}

// checkOpen makes sure --open can open the home later, without a prompt
// in the middle of the pushes: the home holds an account and the
// passphrase opens it. A passphrase typed at the prompt is kept in this
// process's environment (never written anywhere), where each push's
// push-open finds it.
func (a *app) checkOpen(ctx context.Context) error {
	if a.passphraseFile == "" && os.Getenv(envPassphrase) == "" {
		if _, err := a.openHome(); err != nil {
			return err
		}
		p, err := a.passphrase("Passphrase of the account to open pushes for", "", envPassphrase, false)
		if err != nil {
			return fmt.Errorf("--open: %w", err)
		}
		os.Setenv(envPassphrase, string(p))
	}
	c, err := a.openClient(ctx, &netFlags{}, false)
	if err != nil {
		return fmt.Errorf("--open: %w", err)
	}
	return c.Close()
}

// listenLoopback listens on addr, which must be a loopback address (the
// devnet's push server reaches no other), and returns the origin its
// endpoints name: localhost rather than an IP address, as real endpoints
// name hosts, unless addr is another 127/8 address.
func listenLoopback(addr string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--listen %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return nil, "", fmt.Errorf("--listen %q: want a loopback address such as 127.0.0.1:0 (the devnet's push server sends only to loopback)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	a := ln.Addr().(*net.TCPAddr)
	name := "localhost"
	if ip4 := a.IP.To4(); ip4 != nil && !ip4.Equal(net.IPv4(127, 0, 0, 1)) {
		name = ip4.String()
	}
	return ln, "https://" + net.JoinHostPort(name, strconv.Itoa(a.Port)), nil
}

// receiverState is what the receiver keeps between runs.
type receiverState struct {
	// Key is the subscription's P-256 private key (p256dh's private
	// half) and Auth its auth secret, base64url.
	Key  string `json:"p256dh_private"`
	Auth string `json:"auth"`
	// Path is the endpoint's path, random so that the endpoint names
	// this subscription only.
	Path string `json:"path"`
	// Listen is the address it served on: endpoints name the port, so a
	// restart listens there again.
	Listen string `json:"listen,omitempty"`
}

// loadReceiverState reads the state at path, or makes a new subscription
// when there is none.
func loadReceiverState(path string) (*receiverState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		auth := make([]byte, webpush.AuthSize)
		id := make([]byte, 16)
		rand.Read(auth)
		rand.Read(id)
		return &receiverState{Key: b64url.EncodeToString(k.Bytes()), Auth: b64url.EncodeToString(auth), Path: "/push/" + b64url.EncodeToString(id)}, nil
	} else if err != nil {
		return nil, err
	}
	var st receiverState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("receiver state %s: %w", path, err)
	}
	return &st, nil
}

// save writes the state readable by its owner only: it holds the keys
// that decrypt the subscription's pushes.
func (st *receiverState) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes b to path (0600) through a temporary file in
// its folder and a rename, so a reader sees the old content or the new,
// never a file half written.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// receiver builds the handler for this state at origin.
func (st *receiverState) receiver(origin string, vapid []byte) (*webPushReceiver, error) {
	kb, err := b64url.DecodeString(st.Key)
	if err != nil {
		return nil, fmt.Errorf("receiver state: key: %w", err)
	}
	key, err := ecdh.P256().NewPrivateKey(kb)
	if err != nil {
		return nil, fmt.Errorf("receiver state: key: %w", err)
	}
	auth, err := b64url.DecodeString(st.Auth)
	if err != nil || len(auth) != webpush.AuthSize || !strings.HasPrefix(st.Path, "/push/") {
		return nil, errors.New("receiver state: bad auth secret or path")
	}
	return &webPushReceiver{origin: origin, path: st.Path, key: key, auth: auth, vapid: vapid, now: time.Now}, nil
}

// webPushReceiver accepts push messages for one subscription. Its fields
// are set before it serves and not changed.
type webPushReceiver struct {
	origin string // https://host:port, the VAPID aud it wants
	path   string
	key    *ecdh.PrivateKey
	auth   []byte
	vapid  []byte // the push server's VAPID public key
	now    func() time.Time
	// report gets every accepted push and every refusal, from the
	// request's goroutine.
	report func(receiverEvent)
}

// receiverEvent is one request the receiver answered.
type receiverEvent struct {
	Status  int    // 201 for a push
	Reason  string // why it was refused
	Payload []byte // the decrypted push
}

// endpoint is the subscription's endpoint URL.
func (r *webPushReceiver) endpoint() string { return r.origin + r.path }

// p256dh is the subscription's public key, base64url.
func (r *webPushReceiver) p256dh() string { return b64url.EncodeToString(r.key.PublicKey().Bytes()) }

func (r *webPushReceiver) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	http.Error(w, reason, status)
	if r.report != nil {
		r.report(receiverEvent{Status: status, Reason: reason})
	}
}

// ServeHTTP answers one push message request (RFC 8030 §5). Headers are
// checked, the VAPID signature first, before any of the body is read.
func (r *webPushReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != r.path {
		r.refuse(w, http.StatusNotFound, "no such subscription")
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.refuse(w, http.StatusMethodNotAllowed, "method %s; pushes are POST", req.Method)
		return
	}
	// RFC 8292 §4: 401 without authentication, 403 with a bad one.
	h := req.Header.Get("Authorization")
	if h == "" {
		r.refuse(w, http.StatusUnauthorized, "no VAPID authorization")
		return
	}
	key, _, err := webpush.VerifyAuthorization(h, r.origin, r.now())
	if err != nil {
		r.refuse(w, http.StatusForbidden, "%v", err)
		return
	}
	// The key is public; what matters is that it is the push server's.
	if !bytes.Equal(key, r.vapid) {
		r.refuse(w, http.StatusForbidden, "VAPID key is not the devnet push server's")
		return
	}
	// RFC 8030 §5.2: TTL is required.
	if ttl, err := strconv.Atoi(req.Header.Get("TTL")); err != nil || ttl < 0 {
		r.refuse(w, http.StatusBadRequest, "TTL header %q is not a number of seconds", req.Header.Get("TTL"))
		return
	}
	// RFC 8291 §4: the aes128gcm content coding, nothing else.
	if ce := req.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		r.refuse(w, http.StatusUnsupportedMediaType, "Content-Encoding %q, want aes128gcm", ce)
		return
	}
	if req.ContentLength > maxPushBody {
		r.refuse(w, http.StatusRequestEntityTooLarge, "body over %d octets", maxPushBody)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPushBody+1))
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if len(body) > maxPushBody {
		r.refuse(w, http.StatusRequestEntityTooLarge, "body over %d octets", maxPushBody)
		return
	}
	p, err := webpush.Decrypt(r.key, r.auth, body)
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "body does not decrypt with this subscription's keys: %v", err)
		return
	}
	var id [8]byte
	rand.Read(id[:])
	w.Header().Set("Location", r.origin+"/message/"+b64url.EncodeToString(id[:]))
	w.WriteHeader(http.StatusCreated)
	if r.report != nil {
		r.report(receiverEvent{Status: http.StatusCreated, Payload: p})
	}
}

// receiverInfo is what the startup lines name.
type receiverInfo struct {
	dir, state string
}

// subscribeCommand is the command line that subscribes the account to
// rcv: with --home when this command had one, and --network when the
// devnet is not the one hush finds without it.
func (a *app) subscribeCommand(rcv *webPushReceiver, info receiverInfo) string {
	args := []string{"hush"}
	if a.home != "" {
		args = append(args, "--home", shellQuote(a.home))
	}
	args = append(args, "notifications", "push")
	// The account's command finds the network as any command does:
	// without a flag, through HUSH_NETWORK or the default devnet.
	if p, err := netlookup.Resolve(""); err != nil || filepath.Dir(p) != info.dir {
		args = append(args, "--network", shellQuote(filepath.Join(info.dir, netlookup.DevnetFile)))
	}
	args = append(args, "--webpush", rcv.endpoint(), "--p256dh", rcv.p256dh(), "--auth", b64url.EncodeToString(rcv.auth))
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// serveReceiver serves rcv on ln until ctx ends, printing what it
// receives. With open, a single goroutine opens the pushes in the order
// they came, one at a time (each opens the home, as push-open does).
func (a *app) serveReceiver(ctx context.Context, ln net.Listener, cert tls.Certificate, rcv *webPushReceiver, info receiverInfo, open bool, wait time.Duration, f *netFlags) error {
	var (
		mu     sync.Mutex // guards n, closed and the output: a push's lines stay together
		n      int
		closed bool // opens is closed
	)
	line := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(a.stdout, "%s\n", b)
	}
	opens := make(chan openJob, 64)
	rcv.report = func(e receiverEvent) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now().Format(time.TimeOnly)
		if e.Status != http.StatusCreated {
			if a.jsonOut {
				line(map[string]any{"refused": e.Status, "reason": e.Reason})
			} else {
				fmt.Fprintf(a.stdout, "%s refused (%d %s): %s\n", now, e.Status, http.StatusText(e.Status), e.Reason)
			}
			return
		}
		n++
		payload := b64url.EncodeToString(e.Payload)
		if a.jsonOut {
			line(map[string]any{"push": n, "payload": payload})
		} else {
			fmt.Fprintf(a.stdout, "%s push %d: VAPID checked, decrypted; payload %s\n", now, n, payload)
		}
		if open && !closed {
			select {
			case opens <- openJob{n: n, payload: e.Payload}:
			default:
				fmt.Fprintf(a.stderr, "hush: push %d not opened: too many pushes waiting\n", n)
			}
		}
	}

	cmd := a.subscribeCommand(rcv, info)
	if a.jsonOut {
		line(map[string]any{"endpoint": rcv.endpoint(), "p256dh": rcv.p256dh(), "auth": b64url.EncodeToString(rcv.auth),
			"command": cmd, "devnet": info.dir, "state": info.state})
	} else {
		fmt.Fprintf(a.stdout, "Web Push receiver for the devnet in %s, at %s\n", info.dir, rcv.origin)
		fmt.Fprintf(a.stdout, "  TLS certificate from the devnet's test CA (%s)\n", devnet.WebPushCAFile)
		fmt.Fprintf(a.stdout, "  pushes must be signed (VAPID) by the devnet push server's key (%s)\n", devnet.WebPushVAPIDFile)
		fmt.Fprintf(a.stdout, "  subscription keys kept in %s: a restart keeps the subscription\n\n", info.state)
		fmt.Fprintf(a.stdout, "Subscribe an account to it (as that account):\n\n  %s\n\n", cmd)
		if open {
			fmt.Fprintln(a.stdout, "Each push is printed and opened with this home's subscription key, as \"hush tool push-open\" does.")
		} else {
			fmt.Fprintln(a.stdout, "Each push is printed; \"hush tool push-open PAYLOAD\", as the subscribed account, opens it (or run this with --open).")
		}
		fmt.Fprintln(a.stdout, "Waiting for pushes (Ctrl-C to stop).")
	}

	var wg sync.WaitGroup
	if open {
		wg.Go(func() {
			for j := range opens {
				if ctx.Err() != nil {
					continue // stopping: drain
				}
				p, err := a.openPush(ctx, f, j.payload, wait)
				if ctx.Err() != nil {
					continue
				}
				mu.Lock()
				if a.jsonOut {
					v := map[string]any{"opened": j.n, "push": p.Push}
					if !p.Push.Test {
						v["found"], v["messages"] = p.Found, p.Messages
					}
					if err != nil {
						v["error"] = err.Error()
					}
					line(v)
				} else {
					fmt.Fprintf(a.stdout, "push %d opened: ", j.n)
					if err := a.printPushOpened(p, err); err != nil {
						fmt.Fprintf(a.stdout, "push %d: %v\n", j.n, err)
					}
				}
				mu.Unlock()
			}
		})
	}
	srv := &http.Server{
		Handler:           rcv,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Handshake failures (a client that does not trust the CA) would
		// otherwise go to the standard logger; they are not pushes.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	// Stop order: no new requests, wait for those in flight (their
	// reports may queue opens), then let the opener finish.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	mu.Lock()
	closed = true
	close(opens)
	mu.Unlock()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// openJob is one push waiting to be opened.
type openJob struct {
	n       int
	payload []byte
}

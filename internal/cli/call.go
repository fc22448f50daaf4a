package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
)

// Calls in the CLI (DESIGN.md §9): `hush call ID` and `hush call answer`
// run one side of a call with callrtc (pion) until it ends, Ctrl-C or
// `hush call end`; the audio comes from a WAV file and can be recorded to
// one, so a call between two terminals, or a CLI and a browser, works
// headless.

// callFile is where a running `hush call` leaves its process ID, so `hush
// call end` in another terminal can end it.
const callFile = "call.json"

// envTestICE (a test hook, testhooks.go) is JSON ICE servers used instead
// of the network's TURN credentials.
const envTestICE = "HUSH_TEST_ICE_SERVERS"

type callRecord struct {
	PID int    `json:"pid"`
	ID  string `json:"id,omitempty"`
}

func (a *app) callCommand() *cobra.Command {
	var (
		f       callFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "call ID [--audio-in FILE.wav] [--record FILE.wav]",
		Short: "Call a contact (calls are off until hush settings calls on)",
		Long: `Call ID (an Account ID or a contact's nickname) and stay in the call until
it ends, Ctrl-C, or hush call end in another terminal. --audio-in sends a
WAV file (16-bit mono 8 kHz), then silence; --record writes what the other
party sends to a WAV file when the call ends. Audio is G.711 µ-law.

In relay-only mode (hush settings calls on) the call goes through the
network's TURN server and the other party never learns your IP address;
in direct mode (hush settings calls direct) it may not.

A call rings for 60 seconds; one not answered by then ends as
"unavailable", whether the other party let it ring, has calls off or is
offline: you are not told which.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runCall(cmd, &f, timeout, func(ctx context.Context, c *client.Client, o callrtc.Options) (*callrtc.Session, error) {
				peer, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				s, err := callrtc.Dial(ctx, c, peer, o)
				if err == nil {
					a.callNote("Calling %s (call %s)…", peer, s.ID())
				}
				return s, err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&timeout, "max-duration", 0, "hang up after this long connected (0: no limit)")

	var af callFlags
	answer := &cobra.Command{
		Use:   "answer [--audio-in FILE.wav] [--record FILE.wav]",
		Short: "Wait for a call and answer it",
		Long: `Wait for an incoming call (one already ringing, or the next one) and answer
it, then stay in it as hush call does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runCall(cmd, &af, 0, func(ctx context.Context, c *client.Client, o callrtc.Options) (*callrtc.Session, error) {
				id, err := waitRinging(ctx, c)
				if err != nil {
					return nil, err
				}
				call, _ := c.Call(id)
				a.callNote("Answering %s (call %s)…", call.Peer, id)
				return callrtc.Answer(ctx, c, id, o)
			})
		},
	}
	af.register(answer)
	end := &cobra.Command{
		Use:   "end",
		Short: "End the call a hush call or hush call answer runs in another terminal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := a.ownHome()
			if err != nil {
				return err
			}
			path := filepath.Join(h.Dir(), callFile)
			b, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				return errors.New("no call in progress")
			} else if err != nil {
				return err
			}
			var r callRecord
			if json.Unmarshal(b, &r) != nil || r.PID <= 0 {
				os.Remove(path)
				return errors.New("no call in progress")
			}
			p, err := os.FindProcess(r.PID)
			if err == nil {
				err = p.Signal(syscall.SIGTERM)
			}
			if err != nil {
				os.Remove(path) // its process is gone
				return errors.New("no call in progress")
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"id": r.ID, "ended": true})
			}
			fmt.Fprintln(a.stdout, "Ending the call.")
			return nil
		},
	}
	cmd.AddCommand(answer, end)
	return cmd
}

// callFlags are the flags of hush call and hush call answer.
type callFlags struct {
	net            netFlags
	audioIn, recTo string
}

func (f *callFlags) register(cmd *cobra.Command) {
	f.net.register(cmd)
	cmd.Flags().StringVar(&f.audioIn, "audio-in", "", "send this WAV file (16-bit mono 8 kHz)")
	cmd.Flags().StringVar(&f.recTo, "record", "", "record what the other party sends to this WAV file")
}

// callNote prints a line of progress: on stderr with --json, where stdout
// is one JSON object per state change.
func (a *app) callNote(format string, args ...any) {
	w := a.stdout
	if a.jsonOut {
		w = a.stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// runCall opens the client, receives in the background, and runs the
// session start makes until the call ends.
func (a *app) runCall(cmd *cobra.Command, f *callFlags, maxDuration time.Duration, start func(context.Context, *client.Client, callrtc.Options) (*callrtc.Session, error)) error {
	ctx, cancel := signalContext(cmd)
	defer cancel()
	if _, err := a.ownHome(); err != nil {
		return err // before the files are touched
	}
	var o callrtc.Options
	if f.audioIn != "" {
		fh, err := os.Open(f.audioIn)
		if err != nil {
			return err
		}
		o.Audio, err = callrtc.ReadWAV(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.audioIn, err)
		}
	}
	if f.recTo != "" {
		// Fail now, not after the call.
		fh, err := os.OpenFile(f.recTo, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		fh.Close()
	}
	c, err := a.openClient(ctx, &f.net, true, func(co *client.Options) {
		co.Logger = slog.New(warnings{a.stderr})
		o.IncludeLoopback = co.Network != nil && co.Network.Loopback || co.Standalone != nil && loopbackAddr(co.Standalone.Address)
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if mode, err := c.CallMode(); err != nil {
		return err
	} else if mode == client.CallsOff {
		return errors.New("calls are off: turn them on with hush settings calls on (read its warning first)")
	}
	if ice, err := a.testICEServers(); err != nil {
		return err
	} else if ice != nil {
		o.ICEServers = ice
	}
	h, err := a.openHome()
	if err != nil {
		return err
	}
	recPath := filepath.Join(h.Dir(), callFile)
	writeRec := func(id string) {
		// Whole or not at all: hush call end reads it at any moment, and
		// took a file caught between its truncation and its write for
		// one of a process that is gone (and removed it).
		b, _ := json.Marshal(callRecord{PID: os.Getpid(), ID: id})
		writeFileAtomic(recPath, b)
	}
	writeRec("")
	defer os.Remove(recPath)

	events, unsubscribe := c.Subscribe(256)
	defer unsubscribe()
	rctx, stopRun := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(rctx) }()
	defer func() { stopRun(); <-ran }()

	s, err := start(ctx, c, o)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while waiting
		}
		return err
	}
	writeRec(s.ID())
	var limit <-chan time.Time
	connected := s.Flowing()
	var connectedAt time.Time
	enc := json.NewEncoder(a.stdout)
	for {
		select {
		case <-connected:
			connected = nil
			connectedAt = time.Now()
			a.callNote("Connected.")
			if maxDuration > 0 {
				limit = time.After(maxDuration)
			}
			continue
		case e := <-events:
			if e.Kind == client.EventCall && e.Call.ID == s.ID() && e.CallSignal == nil && a.jsonOut {
				enc.Encode(e.Call)
			}
			continue
		case <-ctx.Done():
		case <-limit:
		case <-s.Done():
		}
		break
	}
	hctx, hcancel := context.WithTimeout(context.Background(), time.Minute)
	defer hcancel()
	herr := s.Hangup(hctx)
	call, _ := c.Call(s.ID())
	if a.jsonOut {
		enc.Encode(call)
	}
	took := ""
	if !connectedAt.IsZero() {
		took = fmt.Sprintf(" after %s", time.Since(connectedAt).Round(time.Second))
	}
	a.callNote("Call ended (%s)%s.", call.EndReason, took)
	if f.recTo != "" {
		fh, err := os.Create(f.recTo)
		if err != nil {
			return err
		}
		if err := callrtc.WriteWAV(fh, s.Recording()); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	if herr != nil && !errors.Is(herr, client.ErrUnreachable) {
		return herr
	}
	return nil
}

// waitRinging returns the ID of a call ringing here: one already, or the
// next.
func waitRinging(ctx context.Context, c *client.Client) (string, error) {
	events, stop := c.Subscribe(64)
	defer stop()
	for _, call := range c.ActiveCalls() {
		if call.State == client.CallIncoming {
			return call.ID, nil
		}
	}
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return "", client.ErrNoCall
			}
			if e.Kind == client.EventCall && e.Call.State == client.CallIncoming {
				return e.Call.ID, nil
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// testICEServers returns the ICE servers envTestICE names, with the hooks
// on.
func (a *app) testICEServers() ([]client.ICEServer, error) {
	v := os.Getenv(envTestICE)
	if !a.hooks || v == "" {
		return nil, nil
	}
	var s []client.ICEServer
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("%s: %w", envTestICE, err)
	}
	return s, nil
}

// callsSettingCommand is hush settings calls.
func (a *app) callsSettingCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "calls on|off|direct",
		Short: "Turn calls on (relay-only), off (the default) or direct",
		Long: `Calls are off until you turn them on. Read what they reveal first:

on (relay-only): ` + client.CallsWarning + `

direct: ` + client.CallsDirectWarning,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"on", "off", "direct"},
		RunE: func(cmd *cobra.Command, args []string) error {
			mode := map[string]client.CallMode{"on": client.CallsRelay, "off": client.CallsOff, "direct": client.CallsDirect}[args[0]]
			if mode == "" {
				return fmt.Errorf("want on, off or direct, not %q", args[0])
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SetCallMode(mode); err != nil {
				return err
			}
			warning := ""
			switch mode {
			case client.CallsRelay:
				warning = client.CallsWarning
			case client.CallsDirect:
				warning = client.CallsDirectWarning
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"calls": mode, "warning": warning})
			}
			if warning != "" {
				fmt.Fprintf(a.stdout, "Warning: %s\n\n", warning)
			}
			fmt.Fprintf(a.stdout, "calls: %s\n", mode)
			return nil
		},
	}
}

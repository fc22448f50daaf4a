package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// `hush tool load` drives a network with throwaway clients that send to
// each other through onion paths, as users of the public client library
// do, and prints what got through and how fast: the figures of issue 23
// (throughput, latency percentiles, error counts) come from it. Each
// client runs its background duties (fast mode's long-poll by default) and
// sends to the next client in a ring; a message carries its sender's
// index, sequence number and send time, so delivery is matched exactly
// once and its latency read on one clock (all clients live in this
// process).

// loadConfig is what a load run does.
type loadConfig struct {
	Clients  int
	Duration time.Duration
	// Rate is the messages per second of all clients together; 0 sends
	// as fast as each client's sends return (closed loop).
	Rate  float64
	Size  int // bytes of text per message
	Mode  client.NotificationMode
	Drain time.Duration // how long to wait for the last deliveries
}

// loadStats is a run's outcome (the --json output).
type loadStats struct {
	Clients    int     `json:"clients"`
	Mode       string  `json:"mode"`
	DurationS  float64 `json:"duration_s"`
	Sent       int64   `json:"sent"`
	SendErrors int64   `json:"send_errors"`
	Received   int64   `json:"received"`
	// Lost counts messages sent without error that had not arrived when
	// the drain ended; Duplicates counts deliveries of one message to
	// more than one event (a client bug if ever non-zero).
	Lost       int64   `json:"lost"`
	Duplicates int64   `json:"duplicates"`
	SentPerS   float64 `json:"sent_per_s"`
	RecvPerS   float64 `json:"received_per_s"`
	// SendMs is the time Client.Send took; DeliveryMs from the send's
	// start to the receiver's event.
	SendMs     percentiles `json:"send_ms"`
	DeliveryMs percentiles `json:"delivery_ms"`
	// LateOver1m counts deliveries that took more than a minute (issue
	// 23: a message reported sent should never wait that long).
	LateOver1m int64            `json:"late_over_1m"`
	Errors     map[string]int64 `json:"errors,omitempty"`
}

// percentiles summarises durations in milliseconds.
type percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarise returns the nearest-rank percentiles of ds (sorted in place).
func summarise(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	rank := func(p float64) time.Duration {
		// Nearest rank: the smallest value with at least p of the
		// values at or below it.
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return percentiles{N: len(ds), P50: ms(rank(0.50)), P90: ms(rank(0.90)), P99: ms(rank(0.99)), Max: ms(ds[len(ds)-1])}
}

func (a *app) toolLoadCommand() *cobra.Command {
	var (
		f    netFlags
		cfg  = loadConfig{Mode: client.NotifyFast}
		mode string
	)
	cmd := &cobra.Command{
		Use:   "load [--clients N] [--duration D] [--rate R] [--size B] [--mode fast|slow]",
		Short: "Drive a network with throwaway clients sending to each other; print throughput, latency and errors",
		Long: `Create N throwaway accounts in a temporary folder (deleted at the end), open
them on the network, and let each send to the next one in a ring through
onion paths for the given duration, while every client receives in the
given notification mode as a long-running client does. Then wait for the
last deliveries and print messages sent, received, lost and failed,
throughput, and send and delivery latency percentiles.

The accounts use a cheap passphrase hash (they are disposable and never
leave this process), so creating many is quick. A first round of one
message per client warms paths and record caches and is not counted.

Use it against a devnet (hush devnet up) or a test network: it creates
real accounts and real traffic on whatever network it is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Mode = client.NotificationMode(mode)
			if cfg.Mode != client.NotifyFast && cfg.Mode != client.NotifySlow {
				return fmt.Errorf("--mode %q: want fast or slow", mode)
			}
			if cfg.Clients < 2 || cfg.Clients > 500 {
				return fmt.Errorf("--clients %d: want 2 to 500", cfg.Clients)
			}
			if cfg.Size < 0 || cfg.Size > 60_000 {
				return fmt.Errorf("--size %d: want 0 to 60000 bytes", cfg.Size)
			}
			if cfg.Duration <= 0 || cfg.Rate < 0 {
				return errors.New("--duration must be positive and --rate not negative")
			}
			o, err := f.options(true)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			st, err := runLoad(ctx, o, cfg, a.stderr)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(st)
			}
			printLoad(a.stdout, st)
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&cfg.Clients, "clients", 10, "throwaway clients to run")
	fl.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send")
	fl.Float64Var(&cfg.Rate, "rate", 0, "messages per second of all clients together (0: each client sends again as soon as a send returns)")
	fl.IntVar(&cfg.Size, "size", 100, "bytes of text per message")
	fl.StringVar(&mode, "mode", string(client.NotifyFast), "how the clients receive: fast (long-poll) or slow (polling)")
	fl.DurationVar(&cfg.Drain, "drain", time.Minute, "how long to wait for the last deliveries after sending stops")
	return cmd
}

func printLoad(w io.Writer, st loadStats) {
	fmt.Fprintf(w, "clients %d (%s mode), %.1f s of sending\n", st.Clients, st.Mode, st.DurationS)
	fmt.Fprintf(w, "sent %d (%.1f/s), received %d (%.1f/s), lost %d, send errors %d, duplicates %d\n",
		st.Sent, st.SentPerS, st.Received, st.RecvPerS, st.Lost, st.SendErrors, st.Duplicates)
	fmt.Fprintf(w, "send     ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)\n", st.SendMs.P50, st.SendMs.P90, st.SendMs.P99, st.SendMs.Max, st.SendMs.N)
	fmt.Fprintf(w, "delivery ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)\n", st.DeliveryMs.P50, st.DeliveryMs.P90, st.DeliveryMs.P99, st.DeliveryMs.Max, st.DeliveryMs.N)
	fmt.Fprintf(w, "deliveries later than 1 min: %d\n", st.LateOver1m)
	keys := make([]string, 0, len(st.Errors))
	for k := range st.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "error ×%d: %s\n", st.Errors[k], k)
	}
}

// loadKey names one load message: its sender's index and sequence number.
type loadKey struct{ from, seq int }

// loadRun is the state of one run, shared by its senders and receivers.
type loadRun struct {
	cfg     loadConfig
	clients []*client.Client
	ids     []identity.AccountID

	mu         sync.Mutex
	pending    map[loadKey]time.Time // sent, not yet received: send start
	seen       map[loadKey]bool
	counting   bool // the warm-up round is over
	sendDur    []time.Duration
	delivery   []time.Duration
	received   int64
	duplicates int64
	sent       int64
	sendErrs   int64
	errs       map[string]int64
	arrived    chan struct{} // a message arrived (capacity 1)
}

const loadPassphrase = "hush load tool"

func runLoad(ctx context.Context, o client.Options, cfg loadConfig, progress io.Writer) (loadStats, error) {
	dir, err := os.MkdirTemp("", "hush-load-")
	if err != nil {
		return loadStats{}, err
	}
	defer os.RemoveAll(dir)
	r := &loadRun{cfg: cfg, pending: map[loadKey]time.Time{}, seen: map[loadKey]bool{}, errs: map[string]int64{}, arrived: make(chan struct{}, 1)}
	r.clients = make([]*client.Client, cfg.Clients)
	r.ids = make([]identity.AccountID, cfg.Clients)
	defer func() {
		for _, c := range r.clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	fmt.Fprintf(progress, "hush load: opening %d clients…\n", cfg.Clients)
	// Four at a time: opening publishes device records through onion
	// paths, and a machine running the network too has few cores.
	var (
		opening sync.WaitGroup
		slots   = make(chan struct{}, 4)
		errs    = make([]error, len(r.clients))
	)
	for i := range r.clients {
		opening.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			r.clients[i], errs[i] = openLoadClient(ctx, filepath.Join(dir, strconv.Itoa(i)), o, cfg.Mode)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("client %d: %w", i, errs[i])
			} else {
				r.ids[i] = r.clients[i].Account()
			}
		})
	}
	opening.Wait()
	if err := errors.Join(errs...); err != nil {
		return loadStats{}, err
	}
	// Each knows its ring neighbours, so nothing lands as a request.
	n := len(r.clients)
	for i, c := range r.clients {
		for _, j := range []int{(i + 1) % n, (i + n - 1) % n} {
			if err := c.AddContact(r.ids[j], "load"+strconv.Itoa(j)); err != nil {
				return loadStats{}, err
			}
		}
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() {
		stopRun()
		running.Wait()
	}()
	for i, c := range r.clients {
		events, unsubscribe := c.Subscribe(4096)
		running.Go(func() {
			defer unsubscribe()
			r.receive(runCtx, i, events)
		})
		running.Go(func() { c.Run(runCtx) })
	}

	// Warm-up: one message per client, not counted, until all arrived.
	fmt.Fprintln(progress, "hush load: warming up…")
	var warm sync.WaitGroup
	for i := range r.clients {
		warm.Go(func() { r.send(ctx, i, 0) })
	}
	warm.Wait()
	r.waitDelivered(ctx, cfg.Drain)
	r.mu.Lock()
	r.counting = true
	clear(r.pending)
	r.mu.Unlock()

	fmt.Fprintf(progress, "hush load: sending for %s…\n", cfg.Duration)
	start := time.Now()
	sendCtx, stopSending := context.WithTimeout(ctx, cfg.Duration)
	defer stopSending()
	var senders sync.WaitGroup
	for i := range r.clients {
		senders.Go(func() { r.sender(sendCtx, ctx, i) })
	}
	senders.Wait()
	elapsed := time.Since(start)
	fmt.Fprintln(progress, "hush load: waiting for the last deliveries…")
	r.waitDelivered(ctx, cfg.Drain)
	if err := ctx.Err(); err != nil {
		return loadStats{}, err
	}
	return r.stats(elapsed), nil
}

// openLoadClient creates a throwaway account in home and opens it on the
// network, receiving in mode.
func openLoadClient(ctx context.Context, home string, o client.Options, mode client.NotificationMode) (*client.Client, error) {
	h, err := client.NewHome(home)
	if err != nil {
		return nil, err
	}
	if _, _, err := h.Create([]byte(loadPassphrase), client.InsecureTestKDF()); err != nil {
		return nil, err
	}
	c, err := h.Open(ctx, []byte(loadPassphrase), o)
	if err != nil {
		return nil, err
	}
	if err := c.SetNotifications(mode); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// sender sends from client i until sendCtx ends, paced by the rate; each
// send itself runs under ctx, so one begun is not cut short.
func (r *loadRun) sender(sendCtx, ctx context.Context, i int) {
	var every time.Duration
	if r.cfg.Rate > 0 {
		every = time.Duration(float64(time.Second) * float64(len(r.clients)) / r.cfg.Rate)
	}
	next := time.Now()
	for seq := 1; sendCtx.Err() == nil; seq++ {
		if every > 0 {
			select {
			case <-sendCtx.Done():
				return
			case <-time.After(time.Until(next)):
			}
			next = next.Add(every)
		}
		r.send(ctx, i, seq)
	}
}

// send sends message seq from client i to the next client in the ring.
func (r *loadRun) send(ctx context.Context, i, seq int) {
	t0 := time.Now()
	text := fmt.Sprintf("load %d %d ", i, seq)
	if pad := r.cfg.Size - len(text); pad > 0 {
		text += strings.Repeat("x", pad)
	}
	k := loadKey{i, seq}
	r.mu.Lock()
	r.pending[k] = t0
	r.mu.Unlock()
	m, err := r.clients[i].Send(ctx, r.ids[(i+1)%len(r.clients)], text)
	d := time.Since(t0)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && m.Status != "sent" {
		err = fmt.Errorf("message %s after the send", m.Status)
	}
	if err != nil {
		delete(r.pending, k)
		if r.counting {
			r.sendErrs++
			r.errs[firstLine(err.Error())]++
		}
		return
	}
	if r.counting {
		r.sent++
		r.sendDur = append(r.sendDur, d)
	}
}

// receive records client i's arrivals.
func (r *loadRun) receive(ctx context.Context, i int, events <-chan client.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if e.Kind != client.EventReceived || e.Message.Outgoing {
				continue
			}
			var from, seq int
			if _, err := fmt.Sscanf(e.Message.Text, "load %d %d ", &from, &seq); err != nil {
				continue
			}
			now := time.Now()
			k := loadKey{from, seq}
			r.mu.Lock()
			switch {
			case r.seen[k]:
				r.duplicates++
			default:
				r.seen[k] = true
				if t0, ok := r.pending[k]; ok {
					delete(r.pending, k)
					if r.counting && seq > 0 {
						r.received++
						r.delivery = append(r.delivery, now.Sub(t0))
					}
				}
			}
			r.mu.Unlock()
			select {
			case r.arrived <- struct{}{}:
			default:
			}
		}
	}
}

// waitDelivered waits until nothing sent is pending, at most drain.
func (r *loadRun) waitDelivered(ctx context.Context, drain time.Duration) {
	deadline := time.NewTimer(drain)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		left := len(r.pending)
		r.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-r.arrived:
		}
	}
}

func (r *loadRun) stats(elapsed time.Duration) loadStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := elapsed.Seconds()
	var late int64
	for _, d := range r.delivery {
		if d > time.Minute {
			late++
		}
	}
	return loadStats{
		LateOver1m: late,
		Clients:    len(r.clients), Mode: string(r.cfg.Mode), DurationS: secs,
		Sent: r.sent, SendErrors: r.sendErrs, Received: r.received,
		Lost: int64(len(r.pending)), Duplicates: r.duplicates,
		SentPerS: float64(r.sent) / secs, RecvPerS: float64(r.received) / secs,
		SendMs: summarise(r.sendDur), DeliveryMs: summarise(r.delivery),
		Errors: r.errs,
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 160
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

//go:build lab && linux

package lab

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The test binary doubles as the lab's load tool: run inside a host's
// namespace with $HUSH_LAB_HELPER set, it does one job against the
// nodes (the test process itself cannot reach the lab's addresses) and
// prints the result as JSON.
const envHelper = "HUSH_LAB_HELPER"

// helperJob is what the helper does.
type helperJob struct {
	// Mode is "store" or "list".
	Mode string `json:"mode"`
	// Seed is the account's 16-byte seed, hex.
	Seed  string       `json:"seed"`
	Nodes []helperNode `json:"nodes"`
	// Store: Count messages, Parallel at a time, texts Prefix-i.
	// Flood: Count info calls to Nodes[0], Parallel at a time.
	// RTT: Count timed info calls, direct and through onion paths.
	Count    int    `json:"count"`
	Parallel int    `json:"parallel"`
	Prefix   string `json:"prefix"`
	// Network is the network file (RTT).
	Network string `json:"network,omitempty"`
	// NodeDir, for relayflood, is the data folder of the node whose
	// identity the helper presents (its TLS client certificate), as a
	// relay forwarding for its clients does; empty: none, a client.
	NodeDir string `json:"node_dir,omitempty"`
	// Pace, for relayflood, is each worker's pause between frames.
	Pace time.Duration `json:"pace,omitempty"`
	// Upload and Download, for transfer and serve, are the bytes the
	// client sends (then half-closes) and the server sends back once
	// it has read them all; Nodes[0].Address is the server's.
	Upload   int64 `json:"upload,omitempty"`
	Download int64 `json:"download,omitempty"`
	// Call (calldial, callanswer; call_test.go): the account's home
	// and, to dial, the callee's Account ID.
	Home string `json:"home,omitempty"`
	Peer string `json:"peer,omitempty"`
}

type helperNode struct {
	Address string `json:"address"`
	Key     string `json:"key"`
}

// helperResult: store fills Acked (hashes confirmed by at least two
// members) and Failed; list fills Hashes per node key (nil: no answer).
type helperResult struct {
	Acked   []string            `json:"acked,omitempty"`
	Failed  int                 `json:"failed,omitempty"`
	Errors  []string            `json:"errors,omitempty"`
	Hashes  map[string][]string `json:"hashes,omitempty"`
	Elapsed time.Duration       `json:"elapsed"`
	// Flood: answers by HTTP status (0: transport error).
	Statuses map[int]int `json:"statuses,omitempty"`
	// RTT: each timed call, direct to Nodes[0] and through a path to it.
	Direct []time.Duration `json:"direct,omitempty"`
	Onion  []time.Duration `json:"onion,omitempty"`
	// Transfer: the bytes sent and received, and the time from the
	// connection's opening to the server's close.
	Sent     int64         `json:"sent,omitempty"`
	Received int64         `json:"received,omitempty"`
	Took     time.Duration `json:"took,omitempty"`
	// Call: see callResult.
	Call *callResult `json:"call,omitempty"`
}

// helperMain runs the job in $HUSH_LAB_HELPER and exits.
func helperMain() int {
	var job helperJob
	if err := json.Unmarshal([]byte(os.Getenv(envHelper)), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var acct *identity.Account
	if job.Seed != "" {
		seed, err := hex.DecodeString(job.Seed)
		if err != nil || len(seed) != len(identity.Seed{}) {
			fmt.Fprintln(os.Stderr, "bad seed")
			return 2
		}
		acct = identity.FromSeed(identity.Seed(seed))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	var res helperResult
	var err error
	switch job.Mode {
	case "store":
		res, err = helperStore(ctx, acct, job)
	case "list":
		res, err = helperList(ctx, acct, job)
	case "flood":
		res, err = helperFlood(ctx, job)
	case "rtt":
		res, err = helperRTT(ctx, job)
	case "relayflood":
		res, err = helperRelayFlood(ctx, job)
	case "serve":
		res, err = helperServe(ctx, job)
	case "transfer":
		res, err = helperTransfer(ctx, job)
	case "calldial", "callanswer":
		res, err = helperCall(ctx, job)
	default:
		err = fmt.Errorf("no mode %q", job.Mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res.Elapsed = time.Since(start)
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

func newNodeClient(n helperNode) (*nodeclient.Client, error) {
	key, err := identity.ParseEd25519PublicKey(n.Key)
	if err != nil {
		return nil, err
	}
	return nodeclient.New("https://"+n.Address, key)
}

// helperStore stores job.Count messages through job.Nodes[0], retrying
// refusals (429) a few times.
func helperStore(ctx context.Context, acct *identity.Account, job helperJob) (helperResult, error) {
	var (
		mu  sync.Mutex
		res helperResult
		wg  sync.WaitGroup
	)
	next := make(chan int)
	for range max(job.Parallel, 1) {
		// A client per worker: nodeclient's clock moves 20 ms ahead per
		// signed call (room for a batch's sub-requests), so one client
		// storing 1,000 messages within seconds would run more than the
		// allowed 10 s ahead of the node.
		c, err := newNodeClient(job.Nodes[0])
		if err != nil {
			return helperResult{}, err
		}
		wg.Go(func() {
			for i := range next {
				data := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%d", job.Prefix, i))
				params, _ := json.Marshal(map[string]any{"namespace": 0, "ttl": int64(time.Hour / time.Millisecond), "data": data})
				var out json.RawMessage
				var err error
				for attempt := range 10 {
					out, err = c.Signed(ctx, acct, rpc.MethodStore, params)
					var e *nodeclient.Error
					if err == nil || !errors.As(err, &e) || e.Status != 429 {
						break
					}
					time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
				}
				var r rpc.StoreResult
				if err == nil {
					err = json.Unmarshal(out, &r)
				}
				mu.Lock()
				if err == nil && len(r.Swarm) >= 2 {
					res.Acked = append(res.Acked, r.Hash)
				} else {
					res.Failed++
					if err != nil && len(res.Errors) < 5 {
						res.Errors = append(res.Errors, err.Error())
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range job.Count {
		next <- i
	}
	close(next)
	wg.Wait()
	return res, nil
}

// helperList lists the account's namespace-0 hashes on every node.
func helperList(ctx context.Context, acct *identity.Account, job helperJob) (helperResult, error) {
	res := helperResult{Hashes: map[string][]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range job.Nodes {
		wg.Go(func() {
			hashes, err := listHashes(ctx, acct, n)
			if err != nil {
				return
			}
			mu.Lock()
			res.Hashes[n.Key] = hashes
			mu.Unlock()
		})
	}
	wg.Wait()
	return res, nil
}

func listHashes(ctx context.Context, acct *identity.Account, n helperNode) ([]string, error) {
	c, err := newNodeClient(n)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hashes := []string{}
	p := map[string]any{"namespace": 0}
	for range 1000 {
		params, _ := json.Marshal(p)
		out, err := c.Signed(ctx, acct, rpc.MethodRetrieve, params)
		if err != nil {
			return nil, err
		}
		var r rpc.RetrieveResult
		if err := json.Unmarshal(out, &r); err != nil {
			return nil, err
		}
		for _, m := range r.Messages {
			hashes = append(hashes, m.Hash)
		}
		if !r.More || len(r.Messages) == 0 {
			return hashes, nil
		}
		last := r.Messages[len(r.Messages)-1]
		p["after_timestamp"], p["after_hash"] = last.Timestamp, last.Hash
	}
	return nil, errors.New("too many pages")
}

// runHelper runs job in h's namespace through the test binary.
func runHelper(ctx context.Context, t *testing.T, l *Lab, h *Host, job helperJob) helperResult {
	t.Helper()
	res, err := runHelperErr(ctx, l, h, job)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runHelperErr is runHelper for a goroutine other than the test's. A
// nil h runs the helper in the root namespace, for loopback runs.
func runHelperErr(ctx context.Context, l *Lab, h *Host, job helperJob) (helperResult, error) {
	self, err := os.Executable()
	if err != nil {
		return helperResult{}, err
	}
	b, _ := json.Marshal(job)
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	argv := []string{self, "-test.run=^$"}
	name := "loopback"
	if h != nil {
		argv = append([]string{"ip", "netns", "exec", h.NS}, argv...)
		name = h.Name
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), envHelper+"="+string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return helperResult{}, fmt.Errorf("helper %s in %s: %w: %s", job.Mode, name, err, stderr.String())
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		return helperResult{}, fmt.Errorf("helper output %q: %w", out, err)
	}
	return res, nil
}

// helperFlood sends job.Count info calls to job.Nodes[0] and counts the
// answers by status.
func helperFlood(ctx context.Context, job helperJob) (helperResult, error) {
	c, err := newNodeClient(job.Nodes[0])
	if err != nil {
		return helperResult{}, err
	}
	res := helperResult{Statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(job.Parallel, 1) {
		wg.Go(func() {
			for range next {
				_, err := c.Call(ctx, rpc.MethodInfo, nil)
				status := 200
				var e *nodeclient.Error
				if errors.As(err, &e) {
					status = e.Status
				} else if err != nil {
					status = 0
				}
				mu.Lock()
				res.Statuses[status]++
				mu.Unlock()
			}
		})
	}
	for i := range job.Count {
		next <- i
	}
	close(next)
	wg.Wait()
	return res, nil
}

// helperRTT times job.Count info calls to job.Nodes[0], each on warm
// connections: directly, then through an onion path (guard and two
// relays) built from a snapshot fetched from a seed.
func helperRTT(ctx context.Context, job helperJob) (helperResult, error) {
	nf, err := node.LoadNetwork(job.Network)
	if err != nil {
		return helperResult{}, err
	}
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	defer pool.Close()
	seed := nf.Seeds[0]
	fromSeed := func(ctx context.Context, body []byte) (int, []byte, error) {
		return pool.Post(ctx, seed.Ed25519, seed.Address, onionclient.RPCPath, body, snapshot.MaxEncodedSize)
	}
	_, snap, err := paths.FetchSnapshot(ctx, fromSeed, nf.SnapshotVerifier(), time.Now(), 0)
	if err != nil {
		return helperResult{}, err
	}
	var key identity.Ed25519PublicKey
	if err := key.UnmarshalText([]byte(job.Nodes[0].Key)); err != nil {
		return helperResult{}, err
	}
	dest, ok := snap.Node(key)
	if !ok {
		return helperResult{}, errors.New("destination not in the snapshot")
	}
	m, err := paths.New(paths.Options{Snapshot: func() *snapshot.Snapshot { return snap }, Loopback: nf.Loopback, Transport: pool,
		Verifier: nf.SnapshotVerifier()})
	if err != nil {
		return helperResult{}, err
	}
	body, _ := json.Marshal(rpc.Request{Method: rpc.MethodInfo, Params: json.RawMessage("{}")})
	var res helperResult
	// Two untimed calls each way warm the connections and the path.
	for i := range job.Count + 2 {
		start := time.Now()
		if _, _, err := pool.Post(ctx, dest.Ed25519, dest.Address, onionclient.RPCPath, body, 1<<20); err != nil {
			return res, fmt.Errorf("direct: %w", err)
		}
		if i >= 2 {
			res.Direct = append(res.Direct, time.Since(start))
		}
	}
	for i := range job.Count + 2 {
		start := time.Now()
		if _, _, err := m.Do(ctx, dest, body); err != nil {
			return res, fmt.Errorf("onion: %w", err)
		}
		if i >= 2 {
			res.Onion = append(res.Onion, time.Since(start))
		}
	}
	return res, nil
}

// helperRelayFlood posts job.Count onion frames to job.Nodes[0],
// job.Parallel at a time, presenting the identity of the node in
// job.NodeDir (none when empty), and counts the answers by status. The
// frames are junk: a relay's rate is charged before it reads the body
// (internal/relay, "Checks"), so an admitted frame is answered 400 and a
// refused one 429, and the flood costs the target little else.
func helperRelayFlood(ctx context.Context, job helperJob) (helperResult, error) {
	var cfg onionclient.PoolConfig
	if job.NodeDir != "" {
		id, err := node.LoadOrCreateIdentity(job.NodeDir)
		if err != nil {
			return helperResult{}, err
		}
		cert, err := keytls.Certificate(id.Ed25519)
		if err != nil {
			return helperResult{}, err
		}
		cfg.Cert = &cert
	}
	pool := onionclient.NewPool(cfg)
	defer pool.Close()
	var key identity.Ed25519PublicKey
	if err := key.UnmarshalText([]byte(job.Nodes[0].Key)); err != nil {
		return helperResult{}, err
	}
	frame := make([]byte, 256)
	res := helperResult{Statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(job.Parallel, 1) {
		wg.Go(func() {
			for range next {
				status, _, err := pool.Post(ctx, key, job.Nodes[0].Address, onionclient.OnionPath, frame, 1<<20)
				mu.Lock()
				if err != nil {
					status = 0
					if len(res.Errors) < 5 {
						res.Errors = append(res.Errors, err.Error())
					}
				}
				res.Statuses[status]++
				mu.Unlock()
				time.Sleep(job.Pace)
			}
		})
	}
	for i := range job.Count {
		next <- i
	}
	close(next)
	wg.Wait()
	return res, nil
}

// helperServe accepts one TCP connection on job.Nodes[0].Address, reads
// until the client half-closes, then sends job.Download bytes and
// closes.
func helperServe(ctx context.Context, job helperJob) (helperResult, error) {
	ln, err := net.Listen("tcp", job.Nodes[0].Address)
	if err != nil {
		return helperResult{}, err
	}
	defer ln.Close()
	context.AfterFunc(ctx, func() { ln.Close() })
	c, err := ln.Accept()
	if err != nil {
		return helperResult{}, err
	}
	defer c.Close()
	var res helperResult
	if res.Received, err = io.Copy(io.Discard, c); err != nil {
		return res, err
	}
	res.Sent, err = io.CopyN(c, zeros{}, job.Download)
	return res, err
}

// helperTransfer connects to job.Nodes[0].Address (until the server
// listens), sends job.Upload bytes, half-closes, and reads until the
// server closes.
func helperTransfer(ctx context.Context, job helperJob) (helperResult, error) {
	var d net.Dialer
	var c net.Conn
	var err error
	for {
		if c, err = d.DialContext(ctx, "tcp", job.Nodes[0].Address); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return helperResult{}, err
	}
	defer c.Close()
	start := time.Now()
	var res helperResult
	if res.Sent, err = io.CopyN(c, zeros{}, job.Upload); err != nil {
		return res, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return res, err
	}
	if res.Received, err = io.Copy(io.Discard, c); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

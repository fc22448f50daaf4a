//go:build linux

package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/paths"
)

// cliTimeout bounds one `hush` command; a lossy link and a cold path
// build stay far below it.
const cliTimeout = 3 * time.Minute

// Client is a `hush` account in its own namespace.
type Client struct {
	Host *Host
	Home string
	// ID is the Account ID.
	ID  string
	net *Network
	env []string
}

// AddClient creates a host for a client and an account in it.
func (n *Network) AddClient(ctx context.Context, name, addr string) (*Client, error) {
	h, err := n.Lab.AddHost(name, addr)
	if err != nil {
		return nil, err
	}
	return n.NewClient(ctx, h)
}

// NewClient creates an account in host h, named after it.
func (n *Network) NewClient(ctx context.Context, h *Host) (*Client, error) {
	home := filepath.Join(n.Lab.Dir, h.Name)
	c := &Client{Host: h, Home: home, net: n, env: []string{
		"HUSH_HOME=" + home, "HUSH_NETWORK=" + n.NetPath, "HUSH_PASSPHRASE=lab", "HUSH_INSECURE_TEST_KDF=1",
	}}
	if _, err := c.Run(ctx, "init"); err != nil {
		return nil, err
	}
	ch, err := client.NewHome(home)
	if err != nil {
		return nil, err
	}
	id, err := ch.AccountID()
	if err != nil {
		return nil, err
	}
	c.ID = id.String()
	return c, nil
}

// Run runs `hush args...` as this client, in its namespace.
func (c *Client) Run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	return c.net.Lab.Run(ctx, c.Host, c.env, c.net.Opts.Hush, args...)
}

// Send sends text to the Account ID to and returns the message's
// status: "sent" (or later) once two swarm members confirmed it,
// "queued" when it waits in the outbox.
func (c *Client) Send(ctx context.Context, to, text string) (string, error) {
	out, err := c.Run(ctx, "--json", "send", to, text)
	if err != nil {
		return "", err
	}
	var m client.Message
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("lab: send output: %w", err)
	}
	return m.Status, nil
}

// Receive polls once and returns the messages not shown before.
func (c *Client) Receive(ctx context.Context) ([]client.Message, error) {
	out, err := c.Run(ctx, "--json", "receive")
	ms, perr := parseMessages(out)
	if err != nil {
		return ms, err
	}
	return ms, perr
}

func parseMessages(out []byte) ([]client.Message, error) {
	var ms []client.Message
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	for dec.More() {
		var m client.Message
		if err := dec.Decode(&m); err != nil {
			return ms, fmt.Errorf("lab: receive output: %w", err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Paths returns the client's onion paths (`hush path --json`).
func (c *Client) Paths(ctx context.Context) ([]paths.PathInfo, error) {
	out, err := c.Run(ctx, "path", "--json")
	if err != nil {
		return nil, err
	}
	var r paths.Report
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("lab: path output: %w", err)
	}
	return r.Paths, nil
}

// Relays returns the Ed25519 keys (hex) of every relay on the client's
// paths.
func (c *Client) Relays(ctx context.Context) (map[string]bool, error) {
	ps, err := c.Paths(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, p := range ps {
		for _, h := range p.Hops {
			keys[h.Ed25519.String()] = true
		}
	}
	return keys, nil
}

// Env is the environment `hush` runs with as this client: its home, the
// lab's network file and the account's passphrase.
func (c *Client) Env() []string { return append([]string(nil), c.env...) }

// Command is the command line that runs `hush args...` (hush being the
// binary at bin) as this client in its namespace, for a person to type:
// `ip netns exec NS env VAR=… hush args…`.
func (c *Client) Command(bin string, args ...string) []string {
	cmd := append([]string{"ip", "netns", "exec", c.Host.NS, "env"}, c.env...)
	return append(append(cmd, bin), args...)
}

package devnet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// pollEvery is how often Wait looks again. It only paces the checks;
// the devnet's own timers decide how soon the condition holds.
const pollEvery = 100 * time.Millisecond

// waitRegistry returns once a registry host has issued a signed
// snapshot: the genesis is in, a leader ticks epochs, and a majority of
// hosts sign, so nodes can register.
func (d *Devnet) waitRegistry(ctx context.Context) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		for _, r := range d.regs {
			c := registryclient.New(r.APIAddress, r.Key)
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := c.Status(cctx)
			cancel()
			c.Close()
			if err == nil && st.SignedEpoch > 0 {
				fmt.Fprintf(d.opts.Progress, "registry ready (epoch %d)\n", st.SignedEpoch)
				return nil
			}
		}
		if err := d.hostExited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devnet: waiting for the registry: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (d *Devnet) hostExited() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, h := range d.hosts {
		select {
		case <-h.done():
			return fmt.Errorf("devnet: registry host %d exited; see %s", i+1, d.logHint(d.regs[i].Dir))
		default:
		}
	}
	for i, m := range d.members {
		if m == nil {
			continue
		}
		select {
		case <-m.done():
			return fmt.Errorf("devnet: node %d exited; see %s", i+1, d.logHint(d.nodes[i].Dir))
		default:
		}
	}
	return nil
}

func (d *Devnet) logHint(dir string) string {
	if d.opts.Processes {
		return dir + "/" + childLog
	}
	if d.logFile != nil {
		return d.logFile.Name()
	}
	return "the log"
}

// Wait returns once the devnet has formed: every running node is in the
// registry's newest snapshot and in a swarm, and every running node
// serves a snapshot at least that new. Nodes stopped with Kill or
// StopNode are not waited for (the registry may still list them). It
// fails at once if a host or running node exits.
func (d *Devnet) Wait(ctx context.Context) error {
	pool := registryclient.NewPoolForNetwork(d.net)
	defer pool.Close()
	v := d.net.SnapshotVerifier()
	clients := map[int]*nodeclient.Client{}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	lastLine := ""
	for {
		if err := d.hostExited(); err != nil {
			return err
		}
		done, line, err := d.formed(ctx, pool, v, clients)
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if line != lastLine {
			fmt.Fprintln(d.opts.Progress, line)
			lastLine = line
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devnet: waiting for the network to form (%s): %w", lastLine, ctx.Err())
		case <-t.C:
		}
	}
}

// formed checks the condition Wait waits for and describes progress.
func (d *Devnet) formed(ctx context.Context, pool *registryclient.Pool, v snapshot.Verifier, clients map[int]*nodeclient.Client) (bool, string, error) {
	raw, err := pool.Snapshot(ctx, 0, 0)
	if err != nil || raw == nil {
		return false, "waiting for a snapshot", nil
	}
	s, err := v.Verify(raw, time.Now(), 0)
	if err != nil {
		return false, "", fmt.Errorf("devnet: the registry's snapshot does not verify: %w", err)
	}
	running, listed, placed := 0, 0, 0
	for i, n := range d.nodes {
		if !d.Running(i) {
			continue
		}
		running++
		if sn, ok := s.Node(n.Ed25519); ok {
			listed++
			if sn.Swarm != snapshot.Unassigned {
				placed++
			}
		}
	}
	line := fmt.Sprintf("epoch %d: %d/%d nodes registered, %d in swarms, %d swarms", s.Epoch, listed, running, placed, len(s.SwarmIDs()))
	if placed < running {
		return false, line, nil
	}
	behind := 0
	for i, n := range d.nodes {
		if !d.Running(i) {
			continue
		}
		c := clients[i]
		if c == nil {
			if c, err = nodeclient.New("https://"+n.Address, n.Ed25519); err != nil {
				return false, line, err
			}
			clients[i] = c
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, got, err := FetchSnapshotFrom(cctx, c, d.net, s.Epoch)
		cancel()
		if err != nil || got == nil {
			behind++
		}
	}
	if behind > 0 {
		return false, fmt.Sprintf("%s; %d nodes still catching up", line, behind), nil
	}
	return true, line + "; every node serves it", nil
}

package registry

import (
	"context"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
)

// maxParallelProbes bounds the probes one host runs at once.
const maxParallelProbes = 16

// minProbeTimeout is the shortest time a probe waits for its answer,
// however short ProbeInterval is: a devnet probes every 100 ms, and a
// node that answers a loaded machine's probe in 150 ms is alive, not
// failing. It also keeps aborted requests rare: the standard library's
// HTTP/2 client has an open data race on aborting a request with a body
// (golang/go#73522) that a devnet under -race hit once in CI.
const minProbeTimeout = 2 * time.Second

// liveness is this host's record of one node's probes.
type liveness struct {
	registration int64     // the registration being probed
	failingSince time.Time // zero while the node answers
	voted        bool      // this host's vote against it is in the log
	lastVote     int64     // timestamp of this host's last vote on it
}

// proberLoop tests every registered node each ProbeInterval. A node that
// has failed every probe for UnreachableAfter gets this host's
// unreachable vote; one that answers again gets the vote withdrawn. The
// log deregisters a node only once a majority of hosts vote so.
func (h *Host) proberLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(h.cfg.ProbeInterval))
	defer t.Stop()
	seen := map[identity.Ed25519PublicKey]*liveness{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, ok := h.fsm.host(h.pub); !ok {
			continue // only hosts vote
		}
		h.probeAll(ctx, seen)
	}
}

func (h *Host) probeAll(ctx context.Context, seen map[identity.Ed25519PublicKey]*liveness) {
	targets := h.fsm.probeTargets()
	results := make([]error, len(targets))
	sem := make(chan struct{}, maxParallelProbes)
	var wg sync.WaitGroup
	for i, tg := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, max(time.Duration(h.cfg.ProbeInterval), minProbeTimeout))
			defer cancel()
			results[i] = h.prober.Probe(pctx, tg.address, tg.key)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	current := make(map[identity.Ed25519PublicKey]bool, len(targets))
	for i, tg := range targets {
		current[tg.key] = true
		l := seen[tg.key]
		if l == nil || l.registration != tg.registration {
			l = &liveness{registration: tg.registration, lastVote: l.lastVoteOr0()}
			seen[tg.key] = l
		}
		switch {
		case results[i] == nil:
			l.failingSince = time.Time{}
			if l.voted && h.vote(ctx, tg, l, false, now) == nil {
				l.voted = false
			}
		case l.failingSince.IsZero():
			l.failingSince = now
		}
		if !l.failingSince.IsZero() && !l.voted && now.Sub(l.failingSince) >= time.Duration(h.cfg.UnreachableAfter) {
			if h.vote(ctx, tg, l, true, now) == nil {
				l.voted = true
			}
		}
	}
	for k := range seen {
		if !current[k] {
			delete(seen, k)
		}
	}
}

func (l *liveness) lastVoteOr0() int64 {
	if l == nil {
		return 0
	}
	return l.lastVote
}

func (h *Host) vote(ctx context.Context, tg probeTarget, l *liveness, unreachable bool, now time.Time) error {
	ts := max(now.UnixMilli(), l.lastVote+1)
	v := entry.SignVote(h.cfg.NetworkID, entry.Vote{Node: tg.key, Registration: tg.registration, Unreachable: unreachable, TimestampMs: ts}, h.key)
	l.lastVote = ts
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	err := h.propose(ctx, &entry.Command{Type: entry.TypeVote, Vote: &v})
	if err != nil && ctx.Err() == nil {
		h.log.Debug("registry liveness vote", "code", entry.Code(err), "err", err)
	}
	return err
}

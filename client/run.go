package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
)

// Run is the whole life of a long-running client (the daemon): the
// receive loop of the notification mode, restarted when the mode changes,
// and the disappearing timers on time. Everything else rides on the
// receive loop's duties (Sync): the outbox with its backoff, key duties,
// config and devices, receipts, automatic downloads, push renewal.

const (
	// expiryCheck bounds how long a deadline set meanwhile (a message
	// read, a timer's message arriving) waits for the expiry loop to
	// notice it: a query of one indexed column, cheap enough to run this
	// often while idle.
	expiryCheck = 2 * time.Second
	// runRetryMin and runRetryMax pace the restarts of a receive loop
	// that failed (a database error; network errors are retried inside
	// the loop).
	runRetryMin = time.Second
	runRetryMax = time.Minute
)

// errRunning is Run's answer to a second call while one runs.
var errRunning = errors.New("client: Run is already running on this Client")

// Run runs every background duty of a long-running client until ctx
// ends: receiving (fast mode's long-poll, slow mode's polling or push
// mode's safety net, per the notification setting, restarted when
// [Client.SetNotifications] changes it), the outbox flush with its
// backoff, the prekey duties ([Client.KeyDuties]), config and device
// sync, disappearing timers (messages go at their deadline, with an
// [EventUnsent]) and receipts ([Client.Flush]), automatic downloads and
// the push subscription's renewal. What it receives is reported as
// [Event]s ([Client.Subscribe]). Errors of the network ([ErrUnreachable]
// and its kind) are retried with backoff and never end Run; it returns
// nil when ctx ends. End it before [Client.Close] (Run on a closed Client
// returns the database's error). Call it once per Client: a second call
// while one runs fails at once.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer c.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// The expiry loop ends before Run returns.
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { c.expiryLoop(ctx) })

	retry := runRetryMin
	for {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Receive(rctx, nil) }()
		var err error
		restart := false
		select {
		case err = <-done:
		case <-c.modeChanged:
			stop()
			<-done
			restart = true
		}
		stop()
		switch {
		case ctx.Err() != nil:
			return nil
		case restart:
			c.log.Debug("notification mode changed: receiving anew")
			retry = runRetryMin
			continue
		case errors.Is(err, clientdb.ErrClosed):
			return err
		}
		c.log.Warn("receiving stopped; starting again", "err", err, "in", retry)
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		retry = min(2*retry, runRetryMax)
	}
}

// expiryLoop deletes disappearing messages at their deadlines until ctx
// ends.
func (c *Client) expiryLoop(ctx context.Context) {
	for {
		wait := expiryCheck
		if next, err := c.db.NextExpiry(); err != nil {
			if errors.Is(err, clientdb.ErrClosed) {
				return
			}
		} else if !next.IsZero() {
			wait = max(min(next.Sub(c.clock()), expiryCheck), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := c.expireLocal(); err != nil && !errors.Is(err, clientdb.ErrClosed) {
			c.log.Debug("disappearing messages", "err", err)
		}
	}
}

// noteModeChange tells a running Run that the notification mode changed.
func (c *Client) noteModeChange() {
	select {
	case c.modeChanged <- struct{}{}:
	default: // one pending restart is enough
	}
}

package nodeapi

import (
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestRetriedStoreIsNoDeposit: a client that retries a store whose answer
// it lost sends the same bytes later (client/send.go outboxReseal). The
// node answers it as stored, and it is no new deposit: no push notifier
// hears of it, no long-poll wakes for it, and the account holds one
// message. A push subscriber is woken once per message, however often its
// sender retried.
func TestRetriedStoreIsNoDeposit(t *testing.T) {
	deposits := &depositLog{}
	hub := arrivals.New()
	f := newFixture(t, func(c *Config) {
		c.Deposits = deposits
		c.Store = hub.Store(c.Store)
	})
	acct := identity.NewAccount()
	var first, retry rpc.StoreResult
	f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "sealed once", time.Hour, 0), &first)
	if first.Already || deposits.count() != 1 {
		t.Fatalf("first store: %+v, %d deposits; want a new one", first, deposits.count())
	}
	woken, stop := hub.Watch(acct.ID(), 0)
	defer stop()
	f.advance(30 * time.Second) // the outbox's retry, after a time-out
	f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "sealed once", time.Hour, 0), &retry)
	if retry.Hash != first.Hash || !retry.Already {
		t.Fatalf("retried store: %+v, want the first's hash, already stored", retry)
	}
	if got := deposits.count(); got != 1 {
		t.Errorf("%d deposits reported, want 1: the retry would wake push subscribers again", got)
	}
	// Put signals before it returns, so a signal would be here by now.
	select {
	case <-woken:
		t.Error("the retried store woke the account's long-polls")
	default:
	}
	if msgs := f.retrieveAll(t, acct, 0); len(msgs) != 1 {
		t.Errorf("the account holds %d messages, want 1", len(msgs))
	}
}

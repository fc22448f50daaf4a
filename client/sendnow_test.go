package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// syncCopyFailer is a Transport whose next fail stores into the sync
// namespace fail on the way, as a store through one overloaded path does.
type syncCopyFailer struct {
	Transport
	fail atomic.Int64
}

func (s *syncCopyFailer) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	var req struct {
		Method string
		Params struct{ Namespace int32 }
	}
	if json.Unmarshal(body, &req) == nil && req.Method == rpc.MethodStore && req.Params.Namespace == NamespaceSync && s.fail.Add(-1) >= 0 {
		return 0, nil, errors.New("path timed out")
	}
	return s.Transport.Do(ctx, n, body)
}

// TestSendNotDeferredByBacklog (issue 23): with a backlog in the outbox, a
// store that fails on the way (fewer times in a row than says the
// network is out of reach) neither leaves a new message queued untried
// nor the backlog behind it. Under load, one such failure stopped the
// whole flush a send ran, backlog first: 17,191 of an hour's sends came
// back queued.
func TestSendNotDeferredByBacklog(t *testing.T) {
	nd := startStandalone(t)
	tr := &syncCopyFailer{Transport: NewDirectTransport()}
	alice := openV2(t, newHome(t), Options{Standalone: nd, Transport: tr})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if err := bob.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.Account(), "first"); err != nil {
		t.Fatal(err)
	}
	// A backlog of more items than a flush sends at once.
	const backlog = 3 * outboxWorkers
	for i := range backlog {
		if _, err := alice.Queue(bob.Account(), fmt.Sprint("backlog ", i)); err != nil {
			t.Fatal(err)
		}
	}
	tr.fail.Store(outboxUnreachable - 1)
	m, err := alice.Send(ctx, bob.Account(), "now")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "sent" {
		t.Errorf("the new message is %s, want sent", m.Status)
	}
	h, err := alice.History(bob.Account())
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for _, m := range h {
		if m.Status != "sent" {
			queued++
		}
	}
	if queued > 0 {
		t.Errorf("%d of %d messages still %s after the send, want every one sent", queued, len(h), "queued")
	}
	// The sync copies that failed go with the next flush.
	if _, err := alice.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := alice.db.DueOutbox(alice.clock().Add(24*InboxTTL), 0); err != nil || len(left) != 0 {
		t.Errorf("outbox after the flush: %d items (%v), want none", len(left), err)
	}
}

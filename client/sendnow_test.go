package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
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

// gatedStores is a Transport whose stores, once armed, wait for open to
// be closed.
type gatedStores struct {
	Transport
	armed   atomic.Bool
	open    chan struct{}
	waiting atomic.Int64
}

func (g *gatedStores) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	var req struct{ Method string }
	if json.Unmarshal(body, &req) == nil && req.Method == rpc.MethodStore && g.armed.Load() {
		g.waiting.Add(1)
		<-g.open
	}
	return g.Transport.Do(ctx, n, body)
}

// TestSendWaitsForRunsFlush (issue 23): a send whose items Run's flush
// took first (it found them due at once) answers with that attempt's
// outcome, not "queued" while its stores are on their way — the other
// half of the load run's queued sends.
func TestSendWaitsForRunsFlush(t *testing.T) {
	nd := startStandalone(t)
	tr := &gatedStores{Transport: NewDirectTransport(), open: make(chan struct{})}
	alice := openV2(t, newHome(t), Options{Standalone: nd, Transport: tr})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if err := bob.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.Account(), "first"); err != nil { // records cached
		t.Fatal(err)
	}
	tr.armed.Store(true)
	alice.running.Store(true) // as under Run, whose loop flushes the outbox
	id, items, err := alice.queueItems(bob.Account(), &envelope.DataMessage{Body: "now"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Run's flush takes the items and waits in the store.
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		alice.FlushOutbox(ctx)
	}()
	// One store: the sync copy has no other device of alice's to go to.
	waitFor(t, "the flush's store", func() bool { return tr.waiting.Load() >= 1 })
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		alice.sendNow(ctx, items)
	}()
	select {
	case <-sent:
		close(tr.open)
		t.Fatal("the send returned while its stores were still on their way")
	case <-time.After(200 * time.Millisecond):
	}
	close(tr.open)
	<-sent
	m, err := alice.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "sent" {
		t.Errorf("after the send: %s, want sent", m.Status)
	}
	<-flushed
}

// afterInboxStore is a Transport that runs fn, once, right after the
// next store into the inbox namespace returned.
type afterInboxStore struct {
	Transport
	fn atomic.Pointer[func()]
}

func (s *afterInboxStore) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	code, out, err := s.Transport.Do(ctx, n, body)
	var req struct {
		Method string
		Params struct{ Namespace int32 }
	}
	if json.Unmarshal(body, &req) == nil && req.Method == rpc.MethodStore && req.Params.Namespace == NamespaceInbox {
		if fn := s.fn.Swap(nil); fn != nil {
			(*fn)()
		}
	}
	return code, out, err
}

// TestSentEventBeforeReceipt: a message's EventSent is raised even when
// the recipient's delivery receipt is applied between the store and the
// outbox recording it (the daemon receives beside its flush: the status
// then moved to delivered first, the sent update changed nothing, and no
// EventSent came; TestRun waits for one).
func TestSentEventBeforeReceipt(t *testing.T) {
	nd := startStandalone(t)
	tr := &afterInboxStore{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd, Transport: tr})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	id, err := alice.Queue(bob.Account(), "receipted at once")
	if err != nil {
		t.Fatal(err)
	}
	m, err := alice.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	fn := func() { // the receive loop applies bob's delivery receipt
		if _, err := alice.db.SetMessageStatus(clientdb.LocalID(id), clientdb.StatusDelivered, time.Now()); err != nil {
			t.Error(err)
		}
	}
	tr.fn.Store(&fn)
	events, stop := alice.Subscribe(64)
	defer stop()
	if _, err := alice.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	var kinds []EventKind
	for e := range events {
		if e.Kind == EventSent && e.Message.MessageID == m.MessageID {
			return
		}
		kinds = append(kinds, e.Kind)
	}
	t.Fatalf("no EventSent for the message (events: %v; hook ran: %v)", kinds, tr.fn.Load() == nil)
}

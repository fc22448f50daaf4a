// Package arrivals tells a service node's held retrieves (fast mode,
// DESIGN.md §7) that a message landed in an (account, namespace): [Hub]
// wraps the node's stores ([Hub.Store], [Hub.Replica]) so that every
// insert — a client's store, a replication forward, an anti-entropy
// repair, a hand-off — signals the waiters of that pair once it is
// committed, whichever path it took.
//
// # Waking without a race
//
// A waiter registers with [Hub.Watch] BEFORE it looks in the store, and
// waits on the channel only if it found nothing: a message committed after
// the look signals the channel, one committed before it is in what the
// look found. Signals may be spurious (a duplicate whose commit failed
// half-way, a message already expired); the waiter looks again and waits
// for the rest of its time.
//
// # Cost
//
// A waiter is one channel shared by every waiter of its pair, and a
// signal closes it: no goroutine, no timer, no polling. An insert with
// nobody waiting costs one map look-up under a mutex.
package arrivals

import (
	"context"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

type key struct {
	account   identity.AccountID
	namespace int32
}

// waiters is the channel of one (account, namespace) pair and how many
// watchers hold it. A signal closes ch and forgets the entry; watchers
// that come later get a new one.
type waiters struct {
	ch chan struct{}
	n  int
}

// Hub is the register of waiters. The zero Hub is not usable; call [New].
// It is safe for concurrent use.
type Hub struct {
	mu    sync.Mutex // guards pairs
	pairs map[key]*waiters
}

// New returns an empty hub.
func New() *Hub { return &Hub{pairs: make(map[key]*waiters)} }

// Watch registers interest in (account, namespace). The channel is closed
// at the first signal after Watch; stop forgets the registration and must
// be called once, signalled or not.
func (h *Hub) Watch(account identity.AccountID, namespace int32) (ch <-chan struct{}, stop func()) {
	k := key{account, namespace}
	h.mu.Lock()
	w := h.pairs[k]
	if w == nil {
		w = &waiters{ch: make(chan struct{})}
		h.pairs[k] = w
	}
	w.n++
	h.mu.Unlock()
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			w.n--
			// A signalled entry was already forgotten (and may have been
			// replaced by a newer one, which is not ours to drop).
			if w.n == 0 && h.pairs[k] == w {
				delete(h.pairs, k)
			}
			h.mu.Unlock()
		})
	}
}

// Signal wakes every waiter of (account, namespace).
func (h *Hub) Signal(account identity.AccountID, namespace int32) {
	k := key{account, namespace}
	h.mu.Lock()
	if w := h.pairs[k]; w != nil {
		close(w.ch)
		delete(h.pairs, k)
	}
	h.mu.Unlock()
}

// Waiting reports how many (account, namespace) pairs have waiters, for
// tests and metrics.
func (h *Hub) Waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pairs)
}

// signal wakes the waiters of msgs[i] for each message added, or of all
// of them when the write failed: a failed write may still have committed
// (sqlite.GroupCommit under a cancelled context), and a spurious wake only
// costs the waiter a second look.
func (h *Hub) signal(msgs []store.Message, res []store.PutResult, err error) {
	for i, m := range msgs {
		if err != nil || (i < len(res) && res[i].Added) {
			h.Signal(m.Account, m.Namespace)
		}
	}
}

// put stores m in s and signals it as signal does.
func (h *Hub) put(ctx context.Context, s store.Store, m store.Message) (bool, error) {
	added, err := s.Put(ctx, m)
	if added || err != nil {
		h.Signal(m.Account, m.Namespace)
	}
	return added, err
}

// Store returns s with every insert signalled to the hub. It is a
// [store.ArrivalLister] when s is one.
func (h *Hub) Store(s store.Store) store.Store {
	if al, ok := s.(store.ArrivalLister); ok {
		return &signalArrivalStore{signalStore{s, h}, al}
	}
	return &signalStore{s, h}
}

// signalArrivalStore is a signalStore that keeps its store's arrival
// order readable.
type signalArrivalStore struct {
	signalStore
	store.ArrivalLister
}

// Replica returns r with every insert signalled to the hub.
func (h *Hub) Replica(r store.Replica) store.Replica { return &signalReplica{r, h} }

type signalStore struct {
	store.Store
	hub *Hub
}

func (s *signalStore) Put(ctx context.Context, m store.Message) (bool, error) {
	return s.hub.put(ctx, s.Store, m)
}

type signalReplica struct {
	store.Replica
	hub *Hub
}

func (s *signalReplica) Put(ctx context.Context, m store.Message) (bool, error) {
	return s.hub.put(ctx, s.Replica, m)
}

func (s *signalReplica) PutBatch(ctx context.Context, msgs []store.Message) ([]store.PutResult, error) {
	res, err := s.Replica.PutBatch(ctx, msgs)
	s.hub.signal(msgs, res, err)
	return res, err
}

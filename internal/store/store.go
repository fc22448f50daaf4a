// Package store defines what a service node needs from its message storage:
// a small interface over encrypted messages keyed by account, namespace and
// hash, with expiry. internal/store/sqlite implements it; the node's RPC
// handlers and the sweeper use only [Store], replication the wider
// [Replica] (batches, hash lists and tombstones for anti-entropy, whole
// accounts for hand-off).
//
// # Order
//
// Messages of one account and namespace are listed in the swarm-wide order
// (Timestamp, Hash): the deposit timestamp the client chose (bounded by the
// node to at most a few seconds in the future), then the message hash. Every
// member of a swarm that holds the same messages lists them in the same order,
// so a client's [Cursor] is valid on any member (Session's last_hash is a
// per-node insertion order instead). A message repaired late by anti-entropy
// can land behind a cursor; clients re-read a lookback window and dedupe.
//
// # Arrival order
//
// A store that also implements [ArrivalLister] numbers messages in the
// order they arrived at this node, whatever their timestamps. That order
// is this node's alone: a client keeps one arrival mark per node and asks
// each node for what arrived after its mark yet lies behind its cursor,
// so a message that reaches a member late (a forward held back, an
// anti-entropy repair) is found however old its timestamp (issue 23).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
)

// Message is one stored message. Data is opaque ciphertext to the node.
type Message struct {
	Account   identity.AccountID
	Namespace int32
	// Hash is the message hash as Session computes it: unpadded base64 of
	// BLAKE2b-256 over prefix ‖ pubkey ‖ decimal namespace (omitted for 0) ‖ data.
	Hash      string
	Data      []byte
	Timestamp time.Time // deposit timestamp chosen by the client, ms precision
	Expiry    time.Time // when the message must stop being returned
}

// Cursor is a position in the (Timestamp, Hash) order. The zero Cursor is
// before every message.
type Cursor struct {
	Timestamp time.Time
	Hash      string
}

// Query selects messages to list.
type Query struct {
	Account   identity.AccountID
	Namespace int32
	After     Cursor // exclusive
	Limit     int    // maximum number of messages; 0 means the store's default
	MaxBytes  int    // maximum total Data bytes; 0 means the store's default; at least one message is returned if any matches
	Now       time.Time
}

// ArrivedQuery selects messages by arrival at this node: those of
// Account's Namespace that arrived after mark After and lie at or before
// UpTo in (Timestamp, Hash) order, unexpired at Now.
type ArrivedQuery struct {
	Account   identity.AccountID
	Namespace int32
	After     int64
	UpTo      Cursor
	Limit     int // maximum number of messages; 0 means the store's default
	MaxBytes  int // maximum total Data bytes; 0 means the store's default; at least one message is returned if any matches
	Now       time.Time
}

// ArrivalLister is a [Store] that numbers messages in their order of
// arrival at this node.
type ArrivalLister interface {
	// Arrived returns the messages q selects in arrival order and the
	// mark up to which the answer is complete: the last arrival it read
	// when a bound cut it short, else the newest arrival of the account's
	// namespace when Arrived began. A later call with that mark as q.After
	// misses nothing that arrived since. Marks only grow, except where
	// the store reuses the number of its newest message after deleting
	// it (documented by the implementation).
	Arrived(ctx context.Context, q ArrivedQuery) (msgs []Message, mark int64, err error)
}

// ExpiryMode says how SetExpiry may move an expiry.
type ExpiryMode int

const (
	ExpiryAny     ExpiryMode = iota // set to the given time
	ExpiryShorten                   // only move earlier ("shorten" in Session's expire)
	ExpiryExtend                    // only move later ("extend")
)

// Errors returned by Store implementations. Callers test them with errors.Is
// and map them to stable RPC error codes.
var (
	// ErrAccountQuota: the account already holds its maximum bytes or messages
	// and the store's policy is to refuse rather than evict.
	ErrAccountQuota = errors.New("account storage quota exceeded")
	// ErrWriterQuota: the writer of a group message (a member's key)
	// already holds its share of the group swarm's quota. It wraps
	// ErrAccountQuota.
	ErrWriterQuota = fmt.Errorf("%w: the writer's share of the group is full", ErrAccountQuota)
	// ErrStoreFull: the whole database reached its configured cap, or the disk
	// is full. Nothing was written.
	ErrStoreFull = errors.New("node storage is full")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store is closed")
)

// Store holds messages durably. All methods are safe for concurrent use.
// Every method that changes state returns only after the change is committed
// to disk, so a caller may acknowledge it to a client.
type Store interface {
	// Put stores m. It reports false when a message with the same account
	// and hash is already stored or was deleted (duplicates are idempotent;
	// [Store.Deleted] tells the two apart); a duplicate with a later
	// expiry only extends the stored one's. It may evict other messages of
	// the same account to stay within quota, depending on the
	// implementation's documented policy.
	Put(ctx context.Context, m Message) (added bool, err error)
	// Deleted reports whether the account's message with this hash was
	// deleted and the deletion is still remembered (its tombstone lives
	// until the message would have expired), so that Put refuses it.
	Deleted(ctx context.Context, account identity.AccountID, hash string) (bool, error)
	// List returns messages matching q in (Timestamp, Hash) order, never one
	// whose Expiry is at or before q.Now, and reports whether more remain.
	List(ctx context.Context, q Query) (msgs []Message, more bool, err error)
	// Delete removes the account's messages with the given hashes (in any
	// namespace) and returns the hashes that existed and were removed.
	Delete(ctx context.Context, account identity.AccountID, hashes []string) ([]string, error)
	// DeleteBefore removes the account's messages whose Timestamp is at or
	// before before (Session's delete_before removes timestamp <= before),
	// in one namespace or, when ns is nil, in all of them, and returns
	// their hashes. delete_all uses before = the request's signed
	// timestamp, so a replayed request cannot remove newer mail.
	DeleteBefore(ctx context.Context, account identity.AccountID, ns *int32, before time.Time) ([]string, error)
	// SetExpiry changes the expiry of the account's given messages (in any
	// namespace) as mode allows and returns the resulting expiry of each
	// message that exists and is not expired at now.
	SetExpiry(ctx context.Context, account identity.AccountID, hashes []string, expiry time.Time, mode ExpiryMode, now time.Time) (map[string]time.Time, error)
	// SetExpiryAll changes the expiry of every unexpired message of the
	// account in ns (nil: all namespaces) as mode allows, returning the same
	// map as SetExpiry.
	SetExpiryAll(ctx context.Context, account identity.AccountID, ns *int32, expiry time.Time, mode ExpiryMode, now time.Time) (map[string]time.Time, error)
	// Expiries returns the expiry of each given message that exists and is
	// not expired at now.
	Expiries(ctx context.Context, account identity.AccountID, hashes []string, now time.Time) (map[string]time.Time, error)
	// Sweep deletes every message whose Expiry is at or before now and
	// returns how many it deleted.
	Sweep(ctx context.Context, now time.Time) (int, error)
	// Stats reports totals for metrics and operators (no per-account data).
	Stats(ctx context.Context) (Stats, error)
	// Close releases the store. Methods called after Close return ErrClosed.
	Close() error
}

// Stats are store-wide totals.
type Stats struct {
	Messages int64
	Bytes    int64 // total Data bytes
	Accounts int64
}

// PutResult is the outcome of one message of [Replica.PutBatch].
type PutResult struct {
	Added bool
	// Err is nil or wraps ErrAccountQuota; errors that concern the whole
	// batch are returned by PutBatch itself.
	Err error
}

// HashInfo is what anti-entropy compares of one stored message or tombstone.
type HashInfo struct {
	Hash      string
	Namespace int32 // zero for a tombstone
	Expiry    time.Time
}

// Replica is a [Store] that replication (internal/replication) can keep in
// step with the other members of a swarm: it stores many messages in one
// commit, lists what an account holds and has deleted for anti-entropy,
// and hands whole accounts to another swarm. All methods are safe for
// concurrent use, and those that change state return only after the change
// is committed, as for Store.
type Replica interface {
	Store
	// PutBatch stores msgs in one commit, each as Put would, in order, later
	// ones seeing earlier ones, and returns one result per message. When it
	// returns an error (ErrStoreFull, a cancelled ctx, an invalid
	// message...) nothing of the batch is stored.
	PutBatch(ctx context.Context, msgs []Message) ([]PutResult, error)
	// Hashes returns the hash, namespace and expiry of every message of
	// account in ns (nil: all namespaces) unexpired at now, sorted by hash.
	Hashes(ctx context.Context, account identity.AccountID, ns *int32, now time.Time) ([]HashInfo, error)
	// Tombstones returns the account's tombstones still live at now (expiry
	// after now), sorted by hash, for anti-entropy to pass deletions on.
	Tombstones(ctx context.Context, account identity.AccountID, now time.Time) ([]HashInfo, error)
	// ApplyTombstones records tombstones learnt from a swarm peer and
	// deletes the messages they name, returning the hashes it deleted.
	ApplyTombstones(ctx context.Context, account identity.AccountID, ts []HashInfo) ([]string, error)
	// Accounts returns every account holding messages or tombstones, in
	// ascending byte order.
	Accounts(ctx context.Context) ([]identity.AccountID, error)
	// Messages returns the account's messages with the given hashes that
	// are unexpired at now, data included, in the order of hashes; missing
	// ones are left out.
	Messages(ctx context.Context, account identity.AccountID, hashes []string, now time.Time) ([]Message, error)
	// DropHandedOff removes the account's messages named in msgs and its
	// tombstones named in tombs without leaving tombstones, with every
	// message of the account expired at now, and the account itself once
	// it holds nothing more. It returns how many messages it removed: what
	// a hand-off gave to the swarm that now stores the account. A message
	// or deletion that arrived while the hand-off ran is not among them
	// and stays for the next hand-off.
	DropHandedOff(ctx context.Context, account identity.AccountID, msgs, tombs []string, now time.Time) (int, error)
}

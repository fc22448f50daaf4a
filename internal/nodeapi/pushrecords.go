package nodeapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
)

// Push subscription records (namespace push.Namespace, DESIGN.md §7
// push). Nodes act on these messages — they notify the push server a
// record names (internal/pushnotify) — so a client's store of one is
// parsed first, and refused with a 4xx unless it is a valid, unexpired
// record signed by the account, and while the account already holds
// push.MaxRecordsPerAccount live ones. Records that reach the node by
// replication are taken as they come (the member that took them from the
// client checked them); the notifier ignores any it cannot parse. In a
// group swarm a member may delete its own key's records, and nothing else
// (memberDeletable).

// recordLocks serialises the record stores of one account (by a stripe
// of accounts), so that the count and the insert happen as one. Only an
// account's owner can store records, so a stripe shared by chance costs
// some waiting, never a refusal.
type recordLocks struct {
	stripes [64]sync.Mutex
}

func (l *recordLocks) lock(acct identity.AccountID) (unlock func()) {
	m := &l.stripes[int(acct[len(acct)-1])%len(l.stripes)]
	m.Lock()
	return m.Unlock
}

// checkRecord checks a client's store of data (whose message hash is
// hash) into acct's record namespace at now. On success it returns with
// the account's record lock held; the caller unlocks once its store is
// committed.
func (h *Handler) checkRecord(ctx context.Context, a *rpc.Auth, acct identity.AccountID, data []byte, hash string, now time.Time) (unlock func(), err error) {
	rec, err := push.ParseRecord(data, acct, now)
	if err != nil {
		if errors.Is(err, push.ErrExpired) {
			return nil, rpc.Errorf(rpc.CodeBadField, "data: the push subscription record has expired")
		}
		return nil, rpc.Errorf(rpc.CodeBadField, "data: not a valid push subscription record (namespace %d takes only those): %v", push.Namespace, err)
	}
	if group.IsGroup(acct) {
		return h.checkGroupRecord(ctx, a, acct, rec, hash, now)
	}
	unlock = h.records.lock(acct)
	live, err := liveRecords(ctx, h.cfg.Store, acct, hash, now)
	if err != nil {
		unlock()
		return nil, err
	}
	if live >= push.MaxRecordsPerAccount {
		unlock()
		return nil, rpc.Errorf(rpc.CodeQuota, "the account already holds %d live push subscription records, the most a node keeps; delete one or let it expire first", live)
	}
	return unlock, nil
}

// liveRecords counts acct's stored records that parse and have not
// expired at now, leaving out the one with hash except (a client storing
// the same record again).
func liveRecords(ctx context.Context, s store.Store, acct identity.AccountID, except string, now time.Time) (int, error) {
	q := store.Query{Account: acct, Namespace: push.Namespace, Limit: 256, Now: now}
	n := 0
	for {
		msgs, more, err := s.List(ctx, q)
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.Hash == except {
				continue
			}
			if _, err := push.ParseRecord(m.Data, acct, now); err == nil {
				n++
			}
		}
		if !more || len(msgs) == 0 {
			return n, nil
		}
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
}

// checkGroupRecord is checkRecord for a group swarm's record
// (docs/groups.md §12): signed by the key that signs the store (a member
// key, or the group key), naming only the messages namespace, and within
// push.MaxRecordsPerGroupKey live records of that key and
// push.MaxRecordsPerGroup of the group.
func (h *Handler) checkGroupRecord(ctx context.Context, a *rpc.Auth, acct identity.AccountID, rec *push.Record, hash string, now time.Time) (unlock func(), err error) {
	signer := group.ID(acct).Key()
	if a != nil && a.Credential != nil {
		signer = a.Credential.Token.Member
	}
	if !rec.Ed25519.Equal(signer) {
		return nil, rpc.Errorf(rpc.CodeBadField, "data: the push subscription record is not signed by the request's key")
	}
	if len(rec.Namespaces) != 1 || rec.Namespaces[0] != group.NamespaceMessages {
		return nil, rpc.Errorf(rpc.CodeBadField, "data: a group's push subscription record names only namespace %d", group.NamespaceMessages)
	}
	unlock = h.records.lock(acct)
	q := store.Query{Account: acct, Namespace: push.Namespace, Limit: 256, Now: now}
	all, mine := 0, 0
	for {
		msgs, more, err := h.cfg.Store.List(ctx, q)
		if err != nil {
			unlock()
			return nil, err
		}
		for _, m := range msgs {
			if m.Hash == hash {
				continue
			}
			if r, err := push.ParseRecord(m.Data, acct, now); err == nil {
				all++
				if r.Ed25519.Equal(signer) {
					mine++
				}
			}
		}
		if !more || len(msgs) == 0 {
			break
		}
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	if mine >= push.MaxRecordsPerGroupKey || all >= push.MaxRecordsPerGroup {
		unlock()
		return nil, rpc.Errorf(rpc.CodeQuota, "this key holds %d and the group %d live push subscription records, the most a node keeps (%d, %d)", mine, all, push.MaxRecordsPerGroupKey, push.MaxRecordsPerGroup)
	}
	return unlock, nil
}

// memberDeletable checks a group member's delete of hashes (docs/groups.md
// §12): a member may delete exactly the push subscription records signed
// by its own member key, a.Credential.Token.Member, which the request's
// signature proved it holds. It returns the hashes to delete (those the
// node holds) and refuses the whole request, deleting nothing, when one
// names any other message the node holds: another key's record, one that
// does not parse, or a message of another namespace. Hashes the node does
// not hold are left out: deleting them would only leave tombstones, and a
// member may not tombstone a message it cannot show is its own.
//
// Called after authorize, so the store is read only for a credential
// that verified and is not revoked; the read is bounded by the group's
// record quota.
func (h *Handler) memberDeletable(ctx context.Context, a *rpc.Auth, hashes []string, now time.Time) ([]string, error) {
	acct, member := a.Account, a.Credential.Token.Member
	want := make(map[string]bool, len(hashes)) // hash -> found in the record namespace
	for _, hs := range hashes {
		want[hs] = false
	}
	q := store.Query{Account: acct, Namespace: push.Namespace, Limit: 256, Now: now}
	for {
		msgs, more, err := h.cfg.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if _, ok := want[m.Hash]; !ok {
				continue
			}
			r, err := push.ParseRecord(m.Data, acct, now)
			if err != nil || !r.Ed25519.Equal(member) {
				return nil, rpc.Errorf(rpc.CodeForbidden, "message %s is not a push subscription record signed by this member key; a member deletes only its own", m.Hash)
			}
			want[m.Hash] = true
		}
		if !more || len(msgs) == 0 {
			break
		}
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	var ok, rest []string
	for _, hs := range hashes {
		if want[hs] {
			ok = append(ok, hs)
		} else {
			rest = append(rest, hs)
		}
	}
	if len(rest) > 0 {
		held, err := h.cfg.Store.Expiries(ctx, acct, rest, now)
		if err != nil {
			return nil, err
		}
		for _, hs := range rest {
			if _, found := held[hs]; found {
				return nil, rpc.Errorf(rpc.CodeForbidden, "message %s is not in namespace %d; a member deletes only its own push subscription records", hs, push.Namespace)
			}
		}
	}
	return ok, nil
}

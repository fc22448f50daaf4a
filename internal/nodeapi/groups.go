package nodeapi

import (
	"context"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// Group swarms (docs/groups.md §2–§4). A request for a group ID (03…) is
// the admin's (signed by the group key: everything is allowed) or a
// member's (signed by a member key, presenting a credential the group key
// signed). A member's request is checked, in this order: the permission
// its method and namespace need against the credential's bits (pure, so a
// member asking for an admin's right costs the node nothing), the
// credential and request signatures (rpc.Auth.Verify), and the group's
// revocation list (a cache; storage is read only to refill it, after both
// signatures verified). Nodes learn member keys, never accounts.

// access is what a request does, for the group rules.
type access struct {
	method string
	ns     int32 // store, retrieve: the namespace
}

// memberNeeds returns the permission a member's credential needs for acc,
// or ok false when only the admin may make the request. Retrieving the
// revoked-retrievable namespace needs read like any other, but is allowed
// with a revoked credential (see revokedExempt).
func memberNeeds(acc access) (need group.Perm, ok bool) {
	switch acc.method {
	case rpc.MethodRetrieve, rpc.MethodGetExpiries:
		return group.PermRead, true
	case rpc.MethodStore:
		// A push subscription record (docs/groups.md §12) needs read
		// only: a reader may want to be woken for what it reads.
		if acc.ns == group.NamespacePush {
			return group.PermRead, true
		}
		// Anti-spam: members store only group messages; the configs, keys
		// and revocations are the admins'.
		return group.PermWrite, group.MemberStores(acc.ns)
	case rpc.MethodDelete:
		// A member deletes only its own push subscription records
		// (docs/groups.md §12), which it needed read to store; the
		// handler checks each named message after the signatures
		// (memberDeletable). Moderation (PermDelete) stays the admins':
		// delete_all, delete_before, expire and expire_all are refused.
		return group.PermRead, true
	}
	return 0, false
}

// revokedExempt reports whether a revoked credential may still make acc:
// reading the notices addressed to removed members (Session's
// revoked-retrievable namespace).
func revokedExempt(acc access) bool {
	return acc.method == rpc.MethodRetrieve && acc.ns == group.NamespaceRevokedRetrievable
}

// groupPermission is the pure check of a group member's request, made
// before any signature is verified.
func groupPermission(a *rpc.Auth, acc access) error {
	if !a.IsGroup() || a.Credential == nil {
		return nil
	}
	need, ok := memberNeeds(acc)
	if !ok {
		return rpc.Errorf(rpc.CodeForbidden, "%s in namespace %d is for the group's admin only", acc.method, acc.ns)
	}
	if !a.Credential.Token.Perms.Has(need) {
		return rpc.Errorf(rpc.CodeForbidden, "the credential does not allow %s", acc.method)
	}
	return nil
}

// groupRevoked refuses a member's verified request whose member key the
// group revoked.
func (h *Handler) groupRevoked(ctx context.Context, a *rpc.Auth, acc access, now time.Time) error {
	if !a.IsGroup() || a.Credential == nil || revokedExempt(acc) {
		return nil
	}
	revoked, err := h.revs.revoked(ctx, h.cfg.Store, group.ID(a.Account), a.Credential.Token.Member, now)
	if err != nil {
		return err
	}
	if revoked {
		return rpc.Errorf(rpc.CodeRevoked, "the group revoked this credential")
	}
	return nil
}

// checkRevocationList refuses a store into a group's revocation namespace
// that is not a revocation list the group key signed: nodes read that
// namespace, so it holds nothing else.
func checkRevocationList(acct identity.AccountID, ns int32, data []byte) error {
	if !group.IsGroup(acct) || ns != group.NamespaceRevocations {
		return nil
	}
	if _, err := group.ParseRevocations(data, group.ID(acct)); err != nil {
		return rpc.Errorf(rpc.CodeBadField, "data: not a revocation list signed by the group key (namespace %d takes only those): %v", ns, err)
	}
	return nil
}

// Revocation cache bounds.
const (
	// revCacheSize bounds the groups whose revocations are cached; the
	// whole cache is dropped when full (as keyCache is).
	revCacheSize = 4096
	// revCacheTTL is how long a cached union is trusted without a signal:
	// a list that arrives by a path that does not signal (none today)
	// or a list that expired is noticed at the latest after it.
	revCacheTTL = 10 * time.Minute
)

// revocationCache holds, per group, the union of the revocation lists the
// node stores. An entry is dropped when a message lands in the group's
// revocation namespace by any path (arrivals signals client stores,
// replication forwards, anti-entropy repairs and hand-offs alike), so a
// list stored on one swarm member is enforced on the others as soon as it
// is replicated there.
type revocationCache struct {
	hub *arrivals.Hub // nil: entries live revCacheTTL

	mu sync.Mutex // guards m
	m  map[identity.AccountID]*revEntry
}

type revEntry struct {
	keys    map[identity.Ed25519PublicKey]struct{}
	changed <-chan struct{} // closed when the namespace got a message; nil without a hub
	stop    func()
	loaded  time.Time
}

func newRevocationCache(hub *arrivals.Hub) *revocationCache {
	return &revocationCache{hub: hub, m: make(map[identity.AccountID]*revEntry)}
}

func (e *revEntry) fresh(now time.Time) bool {
	if now.Sub(e.loaded) >= revCacheTTL || now.Before(e.loaded) {
		return false
	}
	if e.changed == nil {
		return true
	}
	select {
	case <-e.changed:
		return false
	default:
		return true
	}
}

// revoked reports whether g revoked member key k, loading g's lists when
// the cached union is stale.
func (c *revocationCache) revoked(ctx context.Context, st store.Store, g group.ID, k identity.Ed25519PublicKey, now time.Time) (bool, error) {
	acct := g.Account()
	c.mu.Lock()
	e := c.m[acct]
	c.mu.Unlock()
	if e == nil || !e.fresh(now) {
		var err error
		if e, err = c.load(ctx, st, g, now); err != nil {
			return false, err
		}
	}
	_, ok := e.keys[k]
	return ok, nil
}

// load reads every revocation list of g and caches their union. It
// watches the namespace before it reads, so a list committed during the
// read marks the new entry stale at once instead of being missed.
func (c *revocationCache) load(ctx context.Context, st store.Store, g group.ID, now time.Time) (*revEntry, error) {
	e := &revEntry{keys: make(map[identity.Ed25519PublicKey]struct{}), loaded: now, stop: func() {}}
	if c.hub != nil {
		e.changed, e.stop = c.hub.Watch(g.Account(), group.NamespaceRevocations)
	}
	q := store.Query{Account: g.Account(), Namespace: group.NamespaceRevocations, Limit: 64, Now: now}
	for {
		msgs, more, err := st.List(ctx, q)
		if err != nil {
			e.stop()
			return nil, err
		}
		for _, m := range msgs {
			// A list replicated here was checked by the member that took
			// it from the admin; one that does not verify revokes nothing.
			if r, err := group.ParseRevocations(m.Data, g); err == nil {
				for _, k := range r.Revoked {
					e.keys[k] = struct{}{}
				}
			}
		}
		if !more || len(msgs) == 0 {
			break
		}
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	c.mu.Lock()
	if old := c.m[g.Account()]; old != nil {
		old.stop()
	}
	if len(c.m) >= revCacheSize {
		for _, o := range c.m {
			o.stop()
		}
		clear(c.m)
	}
	c.m[g.Account()] = e
	c.mu.Unlock()
	return e, nil
}

// checkWriter refuses a store into a group's messages namespace whose
// writer prefix (docs/groups.md §7) is not the key that signed it: the
// member's key, or the group key for an admin. The store counts each
// message against its writer's share of the group's quota
// (internal/store/sqlite), so a member cannot charge another's share.
func checkWriter(a *rpc.Auth, acct identity.AccountID, ns int32, data []byte) error {
	if !group.IsGroup(acct) || ns != group.NamespaceMessages {
		return nil
	}
	w, _, err := group.SplitWriter(data)
	if err != nil {
		return rpc.Errorf(rpc.CodeBadField, "data: %v", err)
	}
	want := group.ID(acct).Key()
	if a != nil && a.Credential != nil {
		want = a.Credential.Token.Member
	}
	if !w.Equal(want) {
		return rpc.Errorf(rpc.CodeBadField, "data: the writer prefix is not the key that signed the request")
	}
	return nil
}

package replication

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// Domain labels keep these digests apart from every other SHA-256 in hush
// and name their format, so a format change is not mistaken for divergence.
const (
	accountDigestDomain = "hush/replication/account/v1\x00"
	bucketDigestDomain  = "hush/replication/bucket/v1\x00"
)

// accountState is what a member holds of one account.
type accountState struct {
	msgs  []store.HashInfo // sorted by hash
	tombs []store.HashInfo // sorted by hash
}

func (r *Replicator) loadAccount(ctx context.Context, acct identity.AccountID, now time.Time) (accountState, error) {
	var s accountState
	var err error
	if s.msgs, err = r.cfg.Store.Hashes(ctx, acct, nil, now); err != nil {
		return s, err
	}
	s.tombs, err = r.cfg.Store.Tombstones(ctx, acct, now)
	return s, err
}

// digest is the account digest the package doc defines.
func (s accountState) digest() [32]byte {
	h := sha256.New()
	h.Write([]byte(accountDigestDomain))
	var buf []byte
	for _, m := range s.msgs {
		buf = append(buf[:0], m.Hash...)
		buf = append(buf, 0)
		buf = strconv.AppendInt(buf, m.Expiry.UnixMilli(), 10)
		buf = append(buf, 0)
		h.Write(buf)
	}
	h.Write([]byte{1}) // never part of a hash or a decimal: ends the messages
	for _, t := range s.tombs {
		h.Write([]byte(t.Hash))
		h.Write([]byte{0})
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func (s accountState) empty() bool { return len(s.msgs) == 0 && len(s.tombs) == 0 }

// digestCache remembers account digests between rounds, so a round over
// unchanged accounts reads no hashes. An entry is dropped when this node
// changes the account (Forward after a client's write, apply, repair,
// hand-off) and is valid only until the earliest expiry it covers (when a
// message or tombstone drops out of the digest) and at most
// digestMaxAge, which bounds the harm of a change made some other way.
type digestCache struct {
	mu sync.Mutex // guards m
	m  map[identity.AccountID]cachedDigest
}

type cachedDigest struct {
	digest [32]byte
	empty  bool
	until  time.Time
}

const digestMaxAge = 5 * time.Minute

// ForgetDigests empties the digest cache, so the next round reads every
// account again (benchmarks; an operator suspecting the cache).
func (r *Replicator) ForgetDigests() {
	r.digests.mu.Lock()
	clear(r.digests.m)
	r.digests.mu.Unlock()
}

func (c *digestCache) forget(acct identity.AccountID) {
	c.mu.Lock()
	delete(c.m, acct)
	c.mu.Unlock()
}

// accountDigest returns acct's digest from the cache or the store.
func (r *Replicator) accountDigest(ctx context.Context, acct identity.AccountID, now time.Time) ([32]byte, bool, error) {
	c := &r.digests
	c.mu.Lock()
	e, ok := c.m[acct]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.digest, e.empty, nil
	}
	st, err := r.loadAccount(ctx, acct, now)
	if err != nil {
		return [32]byte{}, false, err
	}
	e = cachedDigest{digest: st.digest(), empty: st.empty(), until: now.Add(digestMaxAge)}
	for _, hs := range [][]store.HashInfo{st.msgs, st.tombs} {
		for _, h := range hs {
			if h.Expiry.Before(e.until) {
				e.until = h.Expiry
			}
		}
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[identity.AccountID]cachedDigest)
	}
	c.m[acct] = e
	c.mu.Unlock()
	return e.digest, e.empty, nil
}

// bucket is an account's bucket: its first key byte after the prefix.
func bucket(acct identity.AccountID) int { return int(acct[1]) }

// localSummary holds the digests of the accounts this node shares with
// peer (those whose swarm has both as members), by bucket.
type localSummary struct {
	accounts map[identity.AccountID][32]byte
	buckets  map[int][32]byte
}

// summarize digests every account this node holds that both it and peer
// store (peer nil: every account this node stores).
func (r *Replicator) summarize(ctx context.Context, peer identity.Ed25519PublicKey, now time.Time) (*localSummary, error) {
	accts, err := r.cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	ls := &localSummary{accounts: make(map[identity.AccountID][32]byte), buckets: make(map[int][32]byte)}
	perBucket := make(map[int][]identity.AccountID)
	for _, a := range accts { // ascending, so each bucket's list is too
		if !r.cfg.Membership.Owns(a) || (!peer.IsZero() && !r.cfg.Membership.IsMember(peer, a)) {
			continue
		}
		d, empty, err := r.accountDigest(ctx, a, now)
		if err != nil {
			return nil, err
		}
		if empty {
			continue
		}
		ls.accounts[a] = d
		perBucket[bucket(a)] = append(perBucket[bucket(a)], a)
	}
	for b, as := range perBucket {
		h := sha256.New()
		h.Write([]byte(bucketDigestDomain))
		for _, a := range as {
			d := ls.accounts[a]
			h.Write(a[:])
			h.Write(d[:])
		}
		var d [32]byte
		h.Sum(d[:0])
		ls.buckets[b] = d
	}
	return ls, nil
}

func hexDigest(d [32]byte) string { return hex.EncodeToString(d[:]) }

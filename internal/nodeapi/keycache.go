package nodeapi

import (
	"sync"

	"github.com/hushnet/hush/identity"
)

// keyCacheSize bounds the Ed25519 → Account ID cache (about 100 bytes an
// entry).
const keyCacheSize = 65_536

// keyCache remembers Ed25519 keys already converted to Account IDs. The
// conversion checks the key is in the prime-order subgroup, a full scalar
// multiplication that costs more than verifying the signature; a client
// signs many requests with one key. Only successful conversions are kept,
// and the whole map is dropped when full, which bounds memory without
// bookkeeping (a flood of fresh keys only costs the conversions it causes).
type keyCache struct {
	max int

	mu sync.Mutex // guards m
	m  map[identity.Ed25519PublicKey]identity.AccountID
}

func newKeyCache(max int) *keyCache {
	return &keyCache{max: max, m: make(map[identity.Ed25519PublicKey]identity.AccountID)}
}

// derive is an rpc.DeriveFunc.
func (c *keyCache) derive(k identity.Ed25519PublicKey) (identity.AccountID, error) {
	c.mu.Lock()
	id, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := k.AccountID()
	if err != nil {
		return id, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = id
	c.mu.Unlock()
	return id, nil
}

package pushnotify

import (
	"errors"
	"time"

	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/push"
)

// recordCacheSize bounds the parsed records kept: some 300 bytes each.
const recordCacheSize = 4096

// recordCache keeps records parsed by message hash, so that a busy
// account's deposits do not verify its records' signatures each time.
// The hash covers the account and the data (rpc.MessageHash), so one
// entry can only ever stand for one record of one account. It is used by
// the Run goroutine only.
type recordCache struct {
	max     int
	entries map[string]cached
}

// cached is a parse: the record, or the error for data that is no record.
type cached struct {
	rec *push.Record
	err error
}

func newRecordCache(max int) recordCache {
	return recordCache{max: max, entries: make(map[string]cached)}
}

// parse returns m's record as push.ParseRecord would at now.
func (c *recordCache) parse(m store.Message, now time.Time) (*push.Record, error) {
	if e, ok := c.entries[m.Hash]; ok {
		if e.err == nil && !now.Before(e.rec.Expiry) {
			return nil, push.ErrExpired
		}
		return e.rec, e.err
	}
	r, err := push.ParseRecord(m.Data, m.Account, now)
	if errors.Is(err, push.ErrExpired) {
		// Not cached: whether it parses at another time is not known.
		return nil, err
	}
	if len(c.entries) >= c.max {
		// Wholesale: simpler than an LRU, and a refill costs one parse
		// per record in use.
		clear(c.entries)
	}
	c.entries[m.Hash] = cached{r, err}
	return r, err
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/group"
)

// errInvalidMessage is returned for a Message no RPC handler should pass on.
var errInvalidMessage = errors.New("invalid message")

// isPublic reports whether anyone may deposit into ns without the owner's
// signature (DESIGN.md §4: namespaces divisible by 10).
func isPublic(ns int32) bool { return ns%10 == 0 }

// ownerBucket is the quota bucket of every owner-only namespace; each
// public namespace is its own bucket, numbered as the namespace (see
// sql/0003-usage.sql, which computes the same).
const ownerBucket = 1 << 16

func quotaBucket(ns int32) int64 {
	if isPublic(ns) {
		return int64(ns)
	}
	return ownerBucket
}

// writerBucketBase is the first writer bucket (sql/0005-writer-buckets.sql):
// above every namespace and ownerBucket.
const writerBucketBase = 1 << 17

// writerShare is the writer bucket's quota as a share of the owner-only
// one: a quarter, so that at least four members fill a group swarm's
// quota, and one flooding member leaves room for the others.
const writerShare = 4

// writerBucket returns the writer bucket of m, if it has one: a message in
// a group swarm's messages namespace counts against its writer's key
// (the data's first 32 bytes, which the node that took the store checked
// against the request's signer; nodeapi's checkWriter). The bucket is 47
// bits of the key: member keys are drawn by the admin, not the member, so
// a member cannot pick one that collides with another's.
func writerBucket(m store.Message) (int64, bool) {
	if !group.IsGroup(m.Account) || m.Namespace != group.NamespaceMessages || len(m.Data) < group.WriterSize {
		return 0, false
	}
	return writerBucketBase + int64(binary.BigEndian.Uint64(m.Data[:8])>>17), true
}

// quota returns the most messages and bytes ns's bucket may hold.
func (c *config) quota(ns int32) (messages, bytes int64) {
	if isPublic(ns) {
		return c.maxPublicMessages, c.maxPublicBytes
	}
	return c.maxAccountMessages, c.maxAccountBytes
}

// ttlCap returns SQL for the latest expiry a message row may have: its
// deposit timestamp plus the longest TTL of its namespace, the public one
// bound to parameter number pub and the owner-only one to priv (both in
// ms, from [config.ttlMS]).
func ttlCap(pub, priv int) string {
	return fmt.Sprintf(`(timestamp + CASE WHEN namespace %% 10 = 0 THEN ?%d ELSE ?%d END)`, pub, priv)
}

// ttlMS returns the TTL caps in ms, public first.
func (c *config) ttlMS() (int64, int64) {
	return c.maxTTLPublic.Milliseconds(), c.maxTTLPrivate.Milliseconds()
}

// Put implements [store.Store]. A message whose hash has a live tombstone
// (see [DB.Delete]) is not stored and Put reports false, as does one whose
// hash the account holds in another namespace: the hash commits to the
// namespace, so only a caller's bug can produce that. A duplicate with a
// later expiry extends the stored copy's expiry, as Session's store does
// ("extended"): a sender that re-sends with a longer TTL, or a member
// forwarding such a re-send, gets what it asked for and swarm members
// converge on the latest expiry (never past the namespace's TTL after the
// deposit; see [WithMaxTTL]). A duplicate of a deleted message extends its
// tombstone the same way, so the tombstone outlives every copy. Over its
// bucket's quota, a message for a public namespace evicts or is refused
// as the [FloodPolicy] says; one for an owner-only namespace is always
// refused with store.ErrAccountQuota: that is the owner's own data and
// only the owner may decide what of it to drop.
func (db *DB) Put(ctx context.Context, m store.Message) (bool, error) {
	if err := db.enter(); err != nil {
		return false, err
	}
	defer db.leave()
	if err := validate(m); err != nil {
		return false, fmt.Errorf("put: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("put: %w", db.wrap(err))
	}
	defer tx.Rollback()
	out, err := db.put(ctx, tx, m)
	if err != nil || !out.changed() {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("put: %w", db.wrap(err))
	}
	db.evicted.Add(int64(out.evicted))
	return out.added, nil
}

// PutBatch implements [store.Replica]. It stores msgs in one transaction, so one commit (one fsync) covers
// them all: group commit for replication and hand-off, where messages arrive
// many at a time. Each message is treated as Put would, in order, later ones
// seeing earlier ones. When PutBatch returns an error (store.ErrStoreFull,
// a cancelled ctx, an invalid message...) nothing of the batch is stored.
//
// In BenchmarkPutBatch a message in a batch of 10 cost 0.3 to 0.4 of a bare
// one-row INSERT and commit, in a batch of 100 0.1 to 0.27, where Put costs
// 0.9 to 1.2 of it: the fsync, not the store's checks, dominates a Put.
func (db *DB) PutBatch(ctx context.Context, msgs []store.Message) ([]store.PutResult, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	for i, m := range msgs {
		if err := validate(m); err != nil {
			return nil, fmt.Errorf("put batch: message %d: %w", i, err)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("put batch: %w", db.wrap(err))
	}
	defer tx.Rollback()
	res := make([]store.PutResult, len(msgs))
	evicted := 0
	for i, m := range msgs {
		out, err := db.put(ctx, tx, m)
		switch {
		case errors.Is(err, store.ErrAccountQuota):
			// Refused before anything of it was written.
			res[i].Err = err
		case err != nil:
			return nil, fmt.Errorf("put batch: message %d: %w", i, err)
		}
		res[i].Added = out.added
		evicted += out.evicted
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("put batch: %w", db.wrap(err))
	}
	db.evicted.Add(int64(evicted))
	return res, nil
}

func validate(m store.Message) error {
	switch {
	case m.Account.IsZero():
		return fmt.Errorf("%w: zero account", errInvalidMessage)
	case m.Hash == "":
		return fmt.Errorf("%w: empty hash", errInvalidMessage)
	case m.Timestamp.IsZero() || m.Expiry.IsZero():
		return fmt.Errorf("%w: zero timestamp or expiry", errInvalidMessage)
	}
	return nil
}

// putOutcome is what put did inside its transaction.
type putOutcome struct {
	added    bool // the message was inserted
	extended bool // a duplicate's (or a tombstone's) expiry moved later
	evicted  int  // messages evicted to make room
}

// changed reports whether the transaction has anything to commit.
func (o putOutcome) changed() bool { return o.added || o.extended }

// put does Put's work inside tx. Errors are already wrapped.
func (db *DB) put(ctx context.Context, tx *sql.Tx, m store.Message) (putOutcome, error) {
	fail := func(err error) (putOutcome, error) { return putOutcome{}, fmt.Errorf("put: %w", db.wrap(err)) }

	var acct, count, bytes int64
	err := tx.StmtContext(ctx, db.puts.account).QueryRowContext(ctx, m.Account[:], quotaBucket(m.Namespace)).Scan(&acct, &count, &bytes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.StmtContext(ctx, db.puts.newAccount).QueryRowContext(ctx, m.Account[:]).Scan(&acct); err != nil {
			return fail(err)
		}
	case err != nil:
		return fail(err)
	default:
		// The common case in one statement: a new message for an
		// account with room in the bucket (a writer bucket has its own
		// check, below). The INSERT skips a hash that is stored or has
		// a tombstone; only when it inserted nothing does put look at
		// which, as it does for every message over the quota, so that a
		// duplicate never counts against it. In BenchmarkPutBatch this
		// took a message from three statements to two.
		if maxN, maxB := db.cfg.quota(m.Namespace); count+1 <= maxN && bytes+int64(len(m.Data)) <= maxB && !hasWriterBucket(m) {
			res, err := tx.StmtContext(ctx, db.puts.insertNew).ExecContext(ctx,
				acct, m.Namespace, m.Hash, ms(m.Timestamp), ms(m.Expiry), int64(len(m.Data)), nonNil(m.Data))
			if err != nil {
				return fail(err)
			}
			// Rows the statement itself inserted: SQLite does not
			// count the counter triggers' writes.
			n, err := res.RowsAffected()
			if err != nil {
				return fail(err)
			}
			if n == 1 {
				return putOutcome{added: true}, nil
			}
		}
		var deleted bool
		var expiry int64
		err := tx.StmtContext(ctx, db.puts.exists).QueryRowContext(ctx, acct, m.Hash).Scan(&deleted, &expiry)
		if err == nil {
			// Stored already, or deleted: only the expiry may move, later.
			if ms(m.Expiry) <= expiry {
				return putOutcome{}, nil
			}
			if deleted {
				_, err = tx.StmtContext(ctx, db.puts.extendTombstone).ExecContext(ctx, acct, m.Hash, ms(m.Expiry))
			} else {
				pub, priv := db.cfg.ttlMS()
				_, err = tx.StmtContext(ctx, db.puts.extendMessage).ExecContext(ctx, acct, m.Hash, ms(m.Expiry), pub, priv)
			}
			if err != nil {
				return fail(err)
			}
			return putOutcome{extended: true}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fail(err)
		}
	}

	size := int64(len(m.Data))
	m.Data = nonNil(m.Data)
	var out putOutcome
	if maxN, maxB := db.cfg.quota(m.Namespace); count+1 > maxN || bytes+size > maxB {
		if out.evicted, err = db.makeRoom(ctx, tx, acct, m, count, bytes); err != nil {
			return putOutcome{}, err
		}
	}
	var wb any // NULL: no writer bucket
	if b, ok := writerBucket(m); ok {
		if err := db.writerRoom(ctx, tx, acct, b, size); err != nil {
			return putOutcome{}, err
		}
		wb = b
	}
	if _, err := tx.StmtContext(ctx, db.puts.insert).ExecContext(ctx,
		acct, m.Namespace, m.Hash, ms(m.Timestamp), ms(m.Expiry), size, m.Data, wb); err != nil {
		return fail(err)
	}
	out.added = true
	return out, nil
}

// nonNil returns data, or an empty slice for nil: the driver binds nil
// as NULL, which the data column refuses.
func nonNil(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}

// hasWriterBucket reports whether m counts in a writer bucket too.
func hasWriterBucket(m store.Message) bool {
	_, ok := writerBucket(m)
	return ok
}

// writerRoom returns store.ErrWriterQuota when writer bucket b of account
// acct cannot take size more bytes and one more message, after dropping
// the account's expired messages. A writer's messages are the group's,
// never evicted for it: like the owner-only bucket, it refuses.
func (db *DB) writerRoom(ctx context.Context, tx *sql.Tx, acct, b, size int64) error {
	maxN, maxB := db.cfg.maxAccountMessages/writerShare, db.cfg.maxAccountBytes/writerShare
	use := func() (n, bytes int64, err error) {
		err = tx.QueryRowContext(ctx, `SELECT messages, bytes FROM usage WHERE account_id = ? AND bucket = ?`, acct, b).Scan(&n, &bytes)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return n, bytes, err
	}
	n, bytes, err := use()
	if err == nil && (n+1 > maxN || bytes+size > maxB) {
		if _, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE account_id = ? AND expiry <= ?`, acct, ms(db.cfg.clock())); err == nil {
			n, bytes, err = use()
		}
	}
	if err != nil {
		return fmt.Errorf("put: %w", db.wrap(err))
	}
	if n+1 > maxN || bytes+size > maxB {
		return fmt.Errorf("put: %w (holds %d messages, %d bytes; limits %d, %d)", store.ErrWriterQuota, n, bytes, maxN, maxB)
	}
	return nil
}

// makeRoom frees space in m's quota bucket of account acct (count and
// bytes are the bucket's use) or returns an error wrapping
// store.ErrAccountQuota. It drops the account's expired messages first
// (List no longer returns them anyway), then, for a public namespace under
// EvictOldest, the namespace's oldest messages in (Timestamp, Hash) order.
// A public namespace is a bucket of its own, so eviction never reaches
// another namespace, and a deposit never counts against the owner-only
// bucket.
//
// Only messages ordered before m are evicted: a message older than all that
// the full namespace holds is refused instead. So the namespace keeps the
// newest messages whatever order they arrived in, and swarm members that
// received the same messages in different orders end up holding the same
// ones, which keeps anti-entropy from shipping evicted mail back and forth.
func (db *DB) makeRoom(ctx context.Context, tx *sql.Tx, acct int64, m store.Message, count, bytes int64) (int, error) {
	maxN, maxB := db.cfg.quota(m.Namespace)
	size := int64(len(m.Data))
	quota := func(what string) error {
		return fmt.Errorf("put: %w: %s (holds %d messages, %d bytes; limits %d, %d)",
			store.ErrAccountQuota, what, count, bytes, maxN, maxB)
	}
	if size > maxB {
		return 0, quota("message larger than the account quota")
	}

	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE account_id = ? AND expiry <= ?`,
		acct, ms(db.cfg.clock())); err != nil {
		return 0, fmt.Errorf("put: %w", db.wrap(err))
	}
	err := tx.QueryRowContext(ctx, `SELECT messages, bytes FROM usage WHERE account_id = ? AND bucket = ?`,
		acct, quotaBucket(m.Namespace)).Scan(&count, &bytes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		count, bytes = 0, 0
	case err != nil:
		return 0, fmt.Errorf("put: %w", db.wrap(err))
	}
	needN, needB := count+1-maxN, bytes+size-maxB
	if needN <= 0 && needB <= 0 {
		return 0, nil
	}
	if !isPublic(m.Namespace) {
		return 0, quota("owner-only namespace")
	}
	if db.cfg.flood == Refuse {
		return 0, quota("public namespace, policy refuse")
	}

	rows, err := tx.QueryContext(ctx, `
		SELECT id, size FROM messages
		WHERE account_id = ? AND namespace = ? AND (timestamp, hash) < (?, ?)
		ORDER BY timestamp, hash`,
		acct, m.Namespace, ms(m.Timestamp), m.Hash)
	if err != nil {
		return 0, fmt.Errorf("put: %w", db.wrap(err))
	}
	var victims []int64
	for (needN > 0 || needB > 0) && rows.Next() {
		var id, sz int64
		if err := rows.Scan(&id, &sz); err != nil {
			rows.Close()
			return 0, fmt.Errorf("put: %w", db.wrap(err))
		}
		victims = append(victims, id)
		needN--
		needB -= sz
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("put: %w", db.wrap(err))
	}
	if needN > 0 || needB > 0 {
		return 0, quota("public namespace holds too little older mail to evict")
	}
	for _, id := range victims {
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id); err != nil {
			return 0, fmt.Errorf("put: %w", db.wrap(err))
		}
	}
	return len(victims), nil
}

// putStatements are Put's statements, prepared once on the writer
// connection: preparing them on every call cost about a third of Put.
type putStatements struct {
	account, newAccount, exists, insert, insertNew, extendMessage, extendTombstone *sql.Stmt
}

func (p *putStatements) prepare(w *sql.DB) error {
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		// The account's row id and the use of the new message's bucket.
		{&p.account, `
			SELECT a.id, coalesce(u.messages, 0), coalesce(u.bytes, 0)
			FROM accounts a LEFT JOIN usage u ON u.account_id = a.id AND u.bucket = ?2
			WHERE a.account = ?1`},
		{&p.newAccount, `INSERT INTO accounts (account) VALUES (?) RETURNING id`},
		{&p.exists, `
			SELECT 0, expiry FROM messages WHERE account_id = ?1 AND hash = ?2
			UNION ALL
			SELECT 1, expiry FROM tombstones WHERE account_id = ?1 AND hash = ?2
			LIMIT 1`},
		{&p.extendMessage, `UPDATE messages SET expiry = max(expiry, min(?3, ` + ttlCap(4, 5) + `)) WHERE account_id = ?1 AND hash = ?2`},
		// A tombstone has no namespace; its expiry only has to outlive
		// every copy, and those are capped.
		{&p.extendTombstone, `UPDATE tombstones SET expiry = max(expiry, ?3) WHERE account_id = ?1 AND hash = ?2`},
		{&p.insert, `
			INSERT INTO messages (account_id, namespace, hash, timestamp, expiry, size, data, writer_bucket)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		// The same without a writer bucket, unless the account holds
		// the hash already or has a tombstone for it. (The WHERE also
		// keeps SQLite from reading ON CONFLICT as a join's ON.)
		{&p.insertNew, `
			INSERT INTO messages (account_id, namespace, hash, timestamp, expiry, size, data)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
			WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE account_id = ?1 AND hash = ?3)
			ON CONFLICT (account_id, hash) DO NOTHING`},
	} {
		st, err := w.Prepare(s.query)
		if err != nil {
			return err
		}
		*s.dst = st
	}
	return nil
}

func (p *putStatements) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{p.account, p.newAccount, p.exists, p.insert, p.insertNew, p.extendMessage, p.extendTombstone} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

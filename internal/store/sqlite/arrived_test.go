package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/hushnet/hush/internal/store"
)

// TestArrived: messages come back in their order of arrival at this node,
// only those after the mark and at or before the cursor, from one account
// and namespace; a bound cuts the answer and its mark resumes it.
func TestArrived(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, b := acct(1), acct(2)
	mustPut(t, db, msg(a, 0, "m1", 1000, 10), msg(a, 0, "m2", 2000, 10), msg(b, 0, "x1", 1500, 10))
	_, mark, err := db.Arrived(ctx, store.ArrivedQuery{Account: a, After: -1, UpTo: store.Cursor{Timestamp: at(5000), Hash: "z"}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	// Late: dated before the cursor, arriving after the mark; one dated
	// after the cursor is no late one, and another namespace or account's
	// are not asked for.
	mustPut(t, db, msg(a, 0, "late2", 1200, 10), msg(a, 0, "late1", 100, 10), msg(a, 0, "new", 9000, 10),
		msg(a, 1, "other-ns", 100, 10), msg(b, 0, "other-acct", 100, 10))
	cursor := store.Cursor{Timestamp: at(2000), Hash: "m2"}
	names := func(ms []store.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Hash)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		limit int
		want  [][]string
	}{
		{"whole", 0, [][]string{{"late2", "late1"}}},
		{"paged", 1, [][]string{{"late2"}, {"late1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := mark
			for i, want := range append(tc.want, nil) {
				got, next, err := db.Arrived(ctx, store.ArrivedQuery{Account: a, After: after, UpTo: cursor, Limit: tc.limit, Now: t0})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(names(got), want) {
					t.Fatalf("call %d: %v, want %v", i, names(got), want)
				}
				if next < after {
					t.Fatalf("call %d: mark went back from %d to %d", i, after, next)
				}
				after = next
			}
		})
	}
	// Without a cursor, everything is in the list: nothing is late.
	if got, _, err := db.Arrived(ctx, store.ArrivedQuery{Account: a, After: mark, Now: t0}); err != nil || len(got) != 0 {
		t.Errorf("from the start: %v, %v; want nothing", names(got), err)
	}
}

// TestArrivedUsesIndex: the query reads messages_arrival, a range on the
// row ID within one account and namespace, not the account's messages.
func TestArrivedUsesIndex(t *testing.T) {
	db := openTest(t)
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN
		SELECT id, hash, timestamp, expiry, data FROM messages
		WHERE account_id = 1 AND namespace = 0 AND id > 5 AND id <= 9
		  AND (timestamp, hash) <= (1, 'a') AND expiry > 0
		ORDER BY id LIMIT 10`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) != 1 || plan[0] != "SEARCH messages USING INDEX messages_arrival (account_id=? AND namespace=? AND rowid>? AND rowid<?)" {
		t.Errorf("plan %q", plan)
	}
}

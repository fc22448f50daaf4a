package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hushnet/hush/internal/store"
)

// TestGroupCommit puts from many goroutines at once through one
// GroupCommit: each call gets the results of its own messages, whichever
// batch they shared, and every message is stored.
func TestGroupCommit(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t, WithAccountQuota(0, 1))
	g := NewGroupCommit(db)
	mustPut(t, db, msg(a, 0, "old", 0, 1))

	tests := []struct {
		name  string
		msgs  []store.Message
		added []bool
		quota []bool // result wraps store.ErrAccountQuota
	}{
		{"duplicate", []store.Message{msg(a, 0, "old", 0, 1)}, []bool{false}, []bool{false}},
		{"over quota", []store.Message{msg(a, 1, "own1", 1, 1), msg(a, 1, "own2", 2, 1)}, []bool{true, false}, []bool{false, true}},
	}
	for i := range 20 {
		h := fmt.Sprintf("new%d", i)
		tests = append(tests, struct {
			name  string
			msgs  []store.Message
			added []bool
			quota []bool
		}{h, []store.Message{msg(a, 0, h, 3+i, 1)}, []bool{true}, []bool{false}})
	}
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Go(func() {
			var res []store.PutResult
			if len(tt.msgs) == 1 {
				added, err := g.Put(ctx, tt.msgs[0])
				res = []store.PutResult{{Added: added, Err: err}}
			} else {
				var err error
				if res, err = g.PutBatch(ctx, tt.msgs); err != nil {
					t.Errorf("%s: %v", tt.name, err)
					return
				}
			}
			for i, r := range res {
				if r.Added != tt.added[i] || errors.Is(r.Err, store.ErrAccountQuota) != tt.quota[i] || (r.Err != nil && !tt.quota[i]) {
					t.Errorf("%s: result %d = %+v, want added %v, quota error %v", tt.name, i, r, tt.added[i], tt.quota[i])
				}
			}
		})
	}
	wg.Wait()
	if st, _ := db.Stats(ctx); st.Messages != 22 {
		t.Fatalf("Stats.Messages = %d, want 22", st.Messages)
	}

	// A batch failing as a whole fails the call and stores nothing of it.
	db.Close()
	if _, err := g.Put(ctx, msg(a, 0, "late", 30, 1)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Put after Close = %v, want store.ErrClosed", err)
	}
}

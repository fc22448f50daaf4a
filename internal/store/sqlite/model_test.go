package sqlite

import (
	"cmp"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// model is the store's contract in memory, for the state-machine test. Times
// are milliseconds after t0.
type model struct {
	msgs  map[identity.AccountID]map[string]modelMsg
	tombs map[identity.AccountID]map[string]int
}

type modelMsg struct {
	ns         int32
	ts, expiry int
	hash       string
}

func (m *model) account(a identity.AccountID) (map[string]modelMsg, map[string]int) {
	if m.msgs[a] == nil {
		m.msgs[a], m.tombs[a] = map[string]modelMsg{}, map[string]int{}
	}
	return m.msgs[a], m.tombs[a]
}

func (m *model) remove(a identity.AccountID, h string) {
	msgs, tombs := m.account(a)
	tombs[h] = max(tombs[h], msgs[h].expiry)
	delete(msgs, h)
}

// TestModel runs random sequences of calls against the store and the model
// and compares every answer. Quotas are out of its scope (TestQuota).
func TestModel(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	accounts := []identity.AccountID{acct(1), acct(2)}
	hashes := []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"}
	base := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(base, "")
		if err != nil {
			rt.Fatal(err)
		}
		db, err := Open(filepath.Join(dir, "store.db"), withSynchronous("OFF"), WithAccountQuota(1<<30, 1<<30))
		if err != nil {
			rt.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		m := &model{msgs: map[identity.AccountID]map[string]modelMsg{}, tombs: map[identity.AccountID]map[string]int{}}
		genAcct := rapid.SampledFrom(accounts)
		genNS := rapid.SampledFrom([]int32{0, 1})
		genHashes := rapid.SliceOfDistinct(rapid.SampledFrom(hashes), func(h string) string { return h })
		genTime := rapid.IntRange(0, 60)
		optNS := func(rt *rapid.T) *int32 {
			if rapid.Bool().Draw(rt, "allNS") {
				return nil
			}
			return ns(genNS.Draw(rt, "ns"))
		}

		actions := map[string]func(*rapid.T){
			"put": func(rt *rapid.T) {
				a, n, h := genAcct.Draw(rt, "acct"), genNS.Draw(rt, "ns"), rapid.SampledFrom(hashes).Draw(rt, "hash")
				ts := genTime.Draw(rt, "ts")
				exp := ts + rapid.IntRange(1, 40).Draw(rt, "ttl")
				msgs, tombs := m.account(a)
				_, stored := msgs[h]
				_, dead := tombs[h]
				want := !stored && !dead
				got, err := db.Put(ctx, store.Message{Account: a, Namespace: n, Hash: h, Data: []byte(h), Timestamp: at(ts), Expiry: at(exp)})
				if err != nil || got != want {
					rt.Fatalf("Put = %v, %v; want %v", got, err, want)
				}
				switch {
				case want:
					msgs[h] = modelMsg{ns: n, ts: ts, expiry: exp, hash: h}
				case stored && exp > msgs[h].expiry:
					// A duplicate with a later expiry extends the copy
					// (far below the TTL caps at these times).
					x := msgs[h]
					x.expiry = exp
					msgs[h] = x
				case dead && !stored && exp > tombs[h]:
					tombs[h] = exp // and the tombstone of a deleted one
				}
			},
			"delete": func(rt *rapid.T) {
				a, hs := genAcct.Draw(rt, "acct"), genHashes.Draw(rt, "hashes")
				msgs, _ := m.account(a)
				var want []string
				for _, h := range hs {
					if _, ok := msgs[h]; ok {
						want = append(want, h)
						m.remove(a, h)
					}
				}
				got, err := db.Delete(ctx, a, hs)
				if err != nil || !sameSet(got, want) {
					rt.Fatalf("Delete = %v, %v; want %v", got, err, want)
				}
			},
			"deleteBefore": func(rt *rapid.T) {
				a, n, before := genAcct.Draw(rt, "acct"), optNS(rt), genTime.Draw(rt, "before")
				msgs, _ := m.account(a)
				var want []string
				for h, x := range msgs {
					if (n == nil || *n == x.ns) && x.ts <= before {
						want = append(want, h)
						m.remove(a, h)
					}
				}
				got, err := db.DeleteBefore(ctx, a, n, at(before))
				if err != nil || !sameSet(got, want) {
					rt.Fatalf("DeleteBefore = %v, %v; want %v", got, err, want)
				}
			},
			"setExpiry": func(rt *rapid.T) {
				a, now := genAcct.Draw(rt, "acct"), genTime.Draw(rt, "now")
				exp := genTime.Draw(rt, "expiry")
				mode := store.ExpiryMode(rapid.IntRange(0, 2).Draw(rt, "mode"))
				all := rapid.Bool().Draw(rt, "all")
				var (
					n  *int32
					hs []string
				)
				if all {
					n = optNS(rt)
				} else {
					hs = genHashes.Draw(rt, "hashes")
				}
				msgs, _ := m.account(a)
				want := map[string]time.Time{}
				for h, x := range msgs {
					if x.expiry <= now || (all && n != nil && *n != x.ns) || (!all && !slices.Contains(hs, h)) {
						continue
					}
					switch mode {
					case store.ExpiryAny:
						x.expiry = exp
					case store.ExpiryShorten:
						x.expiry = min(x.expiry, exp)
					case store.ExpiryExtend:
						x.expiry = max(x.expiry, exp)
					}
					msgs[h] = x
					want[h] = at(x.expiry)
				}
				var got map[string]time.Time
				if all {
					got, err = db.SetExpiryAll(ctx, a, n, at(exp), mode, at(now))
				} else {
					got, err = db.SetExpiry(ctx, a, hs, at(exp), mode, at(now))
				}
				if err != nil || !maps.EqualFunc(got, want, time.Time.Equal) {
					rt.Fatalf("SetExpiry(all=%v) = %v, %v; want %v", all, got, err, want)
				}
			},
			"sweep": func(rt *rapid.T) {
				now := genTime.Draw(rt, "now")
				want := 0
				for a, msgs := range m.msgs {
					for h, x := range msgs {
						if x.expiry <= now {
							delete(msgs, h)
							want++
						}
					}
					for h, exp := range m.tombs[a] {
						if exp <= now {
							delete(m.tombs[a], h)
						}
					}
				}
				got, err := db.Sweep(ctx, at(now))
				if err != nil || got != want {
					rt.Fatalf("Sweep = %d, %v; want %d", got, err, want)
				}
			},
		}
		// An explicit loop rather than rt.Repeat, to bound the run time:
		// short sequences over eight hashes already reach every interplay.
		check := func(rt *rapid.T) {
			a, n, now := genAcct.Draw(rt, "acct"), genNS.Draw(rt, "ns"), genTime.Draw(rt, "now")
			limit := rapid.IntRange(1, 4).Draw(rt, "limit")
			msgs, _ := m.account(a)
			var want []modelMsg
			for _, x := range msgs {
				if x.ns == n && x.expiry > now {
					want = append(want, x)
				}
			}
			slices.SortFunc(want, func(x, y modelMsg) int {
				return cmp.Or(cmp.Compare(x.ts, y.ts), cmp.Compare(x.hash, y.hash))
			})
			var wantHashes []string
			for _, x := range want {
				wantHashes = append(wantHashes, x.hash)
			}
			if got := listAll(rt, db, a, n, limit, at(now)); !slices.Equal(got, wantHashes) {
				rt.Fatalf("List(ns %d, now %d) = %v, want %v", n, now, got, wantHashes)
			}
			st, err := db.Stats(ctx)
			total := 0
			for _, msgs := range m.msgs {
				total += len(msgs)
			}
			if err != nil || st.Messages != int64(total) {
				rt.Fatalf("Stats = %+v, %v; want %d messages", st, err, total)
			}
		}
		names := slices.Sorted(maps.Keys(actions))
		for range rapid.IntRange(1, 25).Draw(rt, "steps") {
			actions[rapid.SampledFrom(names).Draw(rt, "action")](rt)
			check(rt)
		}
	})
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

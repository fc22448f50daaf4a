package nodeapi

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
)

// depositLog records the deposits the handler reports.
type depositLog struct {
	mu   sync.Mutex
	msgs []store.Message
}

func (d *depositLog) Deposited(m store.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, m)
}

func (d *depositLog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.msgs)
}

// newRecord returns a signed record of acct, expiring after life at now.
func newRecord(t testing.TB, acct *identity.Account, now time.Time, life time.Duration) *push.Record {
	t.Helper()
	srv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := &push.Record{Namespaces: []int32{0}, Expiry: now.Add(life)}
	copy(r.Server[:], srv.PublicKey().Bytes())
	rand.Read(r.SubID[:])
	rand.Read(r.NotifySecret[:])
	rand.Read(r.EncKey[:])
	if err := push.SignRecord(r, acct); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPushRecords: a client's store into namespace 4 must be a valid
// record of the account, at most push.MaxRecordsPerAccount live ones;
// anything else is a 4xx and stores nothing.
func TestPushRecords(t *testing.T) {
	deposits := &depositLog{}
	f := newFixture(t, func(c *Config) { c.Deposits = deposits })
	acct, other := identity.NewAccount(), identity.NewAccount()
	ns := int(push.Namespace)
	const ttl = 20 * 24 * time.Hour

	refused := func(t *testing.T, data string, want rpc.Code) {
		t.Helper()
		var raw json.RawMessage
		status := f.call(t, acct, rpc.MethodStore, storeParams(ns, data, ttl, 0), &raw)
		f.advance(time.Millisecond)
		if status != want.Status() || errCode(t, raw) != want {
			t.Fatalf("store: %d %s, want %s", status, raw, want)
		}
	}
	bad := []struct {
		name string
		data func() string
	}{
		{"not a record", func() string { return "hello" }},
		{"another account's record", func() string { return string(newRecord(t, other, f.clock(), time.Hour).Marshal()) }},
		{"expired", func() string { return string(newRecord(t, acct, f.clock(), time.Millisecond).Marshal()) }},
		{"tampered", func() string {
			r := newRecord(t, acct, f.clock(), time.Hour)
			r.Namespaces = []int32{0, 1}
			return string(r.Marshal())
		}},
		{"lifetime too long", func() string {
			r := newRecord(t, acct, f.clock(), time.Hour)
			r.Expiry = f.clock().Add(push.MaxLifetime + time.Hour)
			if err := push.SignRecord(r, acct); err != nil {
				t.Fatal(err)
			}
			return string(r.Marshal())
		}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data()
			f.advance(2 * time.Millisecond) // the expired one is now
			refused(t, data, rpc.CodeBadField)
		})
	}
	if got := len(f.retrieveAll(t, acct, ns)); got != 0 {
		t.Fatalf("refused records left %d messages", got)
	}

	var short *push.Record
	for i := range push.MaxRecordsPerAccount {
		life := 24 * time.Hour
		if i == 0 {
			life = time.Hour
		}
		r := newRecord(t, acct, f.clock(), life)
		if i == 0 {
			short = r
		}
		f.storeMsg(t, acct, ns, string(r.Marshal()), ttl)
	}
	if got := deposits.count(); got != push.MaxRecordsPerAccount {
		t.Fatalf("%d deposits reported, want %d", got, push.MaxRecordsPerAccount)
	}
	ninth := newRecord(t, acct, f.clock(), 24*time.Hour)
	refused(t, string(ninth.Marshal()), rpc.CodeQuota)
	// Storing a held record again is a repeat, not a ninth, and no deposit.
	var res rpc.StoreResult
	f.mustCall(t, acct, rpc.MethodStore, storeParams(ns, string(short.Marshal()), ttl, 0), &res)
	if !res.Already || deposits.count() != push.MaxRecordsPerAccount {
		t.Fatalf("a repeated record: already=%v, %d deposits", res.Already, deposits.count())
	}
	// Once one has expired (its message still stored), there is room.
	f.advance(time.Hour)
	f.storeMsg(t, acct, ns, string(newRecord(t, acct, f.clock(), 24*time.Hour).Marshal()), ttl)
	refused(t, string(newRecord(t, acct, f.clock(), 24*time.Hour).Marshal()), rpc.CodeQuota)

	// Ordinary deposits are reported too.
	f.storeMsg(t, acct, 0, "a DM", time.Hour)
	if got := deposits.count(); got != push.MaxRecordsPerAccount+2 {
		t.Fatalf("%d deposits reported, want %d", got, push.MaxRecordsPerAccount+2)
	}
	if s, _ := f.post(reqBody(rpc.MethodInfo, []byte(`{}`))); s != http.StatusOK {
		t.Fatalf("the node stopped serving: info %d", s)
	}
}

// TestPushRecordCapUnderConcurrency: stores of records racing for the
// last places never leave more than the cap.
func TestPushRecordCapUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	ns := int(push.Namespace)
	bodies := make([][]byte, 3*push.MaxRecordsPerAccount)
	for i := range bodies {
		r := newRecord(t, acct, f.clock(), time.Hour)
		bodies[i] = reqBody(rpc.MethodStore, f.sign(t, acct, rpc.MethodStore, storeParams(ns, string(r.Marshal()), time.Hour, 0), time.Duration(i)*time.Millisecond))
	}
	var wg sync.WaitGroup
	for _, b := range bodies {
		wg.Go(func() { f.post(b) })
	}
	wg.Wait()
	if got := len(f.retrieveAll(t, acct, ns)); got != push.MaxRecordsPerAccount {
		t.Fatalf("%d records stored, want %d", got, push.MaxRecordsPerAccount)
	}
}

package nodeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
)

// postFrom sends a raw body from a client address.
func (f *fixture) postFrom(remote string, body []byte) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, RPCPath, bytes.NewReader(body))
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, b
}

// batchOf wraps sub-requests (raw JSON objects) in a batch body.
func batchOf(subs []string) []byte {
	return []byte(`{"method":"batch","params":{"requests":[` + strings.Join(subs, ",") + `]}}`)
}

// TestRateLimitBatch: each sub-request of a batch or sequence costs a
// token, so a batch of 20 stores is not 20 times cheaper than 20 stores.
func TestRateLimitBatch(t *testing.T) {
	for _, method := range []string{rpc.MethodBatch, rpc.MethodSequence} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Limiter = ratelimit.New(45, 1, 0) })
			subs := make([]string, rpc.MaxBatch)
			for i := range subs {
				subs[i] = `{"method":"info"}`
			}
			body := []byte(`{"method":"` + method + `","params":{"requests":[` + strings.Join(subs, ",") + `]}}`)
			for i, want := range []int{200, 200, 429} { // 45 tokens: two batches of 20, not a third
				if status, b := f.postFrom("198.51.100.7:1", body); status != want {
					t.Fatalf("batch %d: %d, want %d: %s", i, status, want, b)
				}
			}
		})
	}
}

// floodQuota is the public-namespace quota the flood test runs with. The
// default rate limits are used as they are; the quota is scaled down from
// the default 10,000 messages so that the flood takes seconds, not minutes
// of fsyncs (TestFloodEveryPublicNamespace with -tags slow uses the default).
var floodQuota int64 = 150

// TestFloodEveryPublicNamespace plays issue 12's attack: a stranger at the
// default rate limits deposits into every namespace divisible by 10, as
// batches of 20, far past the DM inbox's quota. Afterwards the owner can
// still write to every owner-only namespace, and a contact's new DM is
// stored and is the newest in the inbox.
func TestFloodEveryPublicNamespace(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "flood.db"), sqlite.WithPublicQuota(0, floodQuota))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := newFixture(t, func(c *Config) {
		c.Store = db
		c.Limiter = ratelimit.New(ratelimit.DefaultBurst, ratelimit.DefaultRate, 0)
	})
	victim := identity.NewAccount()
	// Each deposit is stamped later than the one before (an hour back
	// plus a count), so that eviction, which keeps the newest, always
	// has older spam to drop.
	deposit := func(ns int32, i int) string {
		ts := f.clock().Add(-time.Hour).UnixMilli() + int64(i)
		return fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"namespace":%d,"data":%q,"ttl":%d,"timestamp":%d}}`,
			victim.ID(), ns, b64(fmt.Sprint("spam ", ns, " ", i)), rpc.MaxTTLPublic.Milliseconds(), ts)
	}
	// Every public namespace once, then the DM inbox to twice its quota.
	var targets []int32
	for ns := int32(math.MinInt16 / 10 * 10); ns <= math.MaxInt16; ns += 10 {
		targets = append(targets, ns)
	}
	for range 2 * floodQuota {
		targets = append(targets, 0)
	}
	const attacker = "203.0.113.66:4444"
	stored, refusedNS, limited, sent := 0, 0, 0, 0
	for start := 0; start < len(targets); {
		end := min(start+rpc.MaxBatch, len(targets))
		subs := make([]string, 0, end-start)
		for i, ns := range targets[start:end] {
			subs = append(subs, deposit(ns, start+i))
		}
		status, body := f.postFrom(attacker, batchOf(subs))
		if status == http.StatusTooManyRequests {
			limited++
			f.advance(time.Second) // the bucket refills; the attacker goes on
			continue
		}
		if status != 200 {
			t.Fatalf("batch at %d: %d %s", start, status, body)
		}
		var res rpc.BatchResult
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		for i, r := range res.Results {
			switch {
			case r.Code == 200:
				stored++
			case targets[start+i] != 0 && errCode(t, r.Body) == rpc.CodeBadNamespace:
				refusedNS++
			default:
				t.Fatalf("deposit into %d: %d %s", targets[start+i], r.Code, r.Body)
			}
		}
		sent += len(subs)
		start = end
	}
	// At most burst + rate × seconds waited sub-requests got through.
	if budget := ratelimit.DefaultBurst + int(ratelimit.DefaultRate)*limited; sent > budget {
		t.Fatalf("%d sub-requests served with a budget of %d tokens", sent, budget)
	}
	if want := len(targets) - 2*int(floodQuota); refusedNS != want-1 || stored != 2*int(floodQuota)+1 {
		t.Fatalf("stored %d, refused %d for their namespace; want %d, %d", stored, refusedNS, 2*floodQuota+1, want-1)
	}
	t.Logf("%d deposits in %d batches, rate-limited %d times", len(targets), (len(targets)+rpc.MaxBatch-1)/rpc.MaxBatch, limited)

	// The owner's own namespaces all still take writes.
	for _, ns := range []int{1, 2, 3, 7, 8} {
		f.storeMsg(t, victim, ns, fmt.Sprint("own ", ns), time.Hour)
	}
	// A contact's new DM is stored and is the newest in the inbox.
	p := fmt.Sprintf(`{"pubkey":%q,"data":%q,"ttl":60000,"timestamp":%d}`, victim.ID(), b64("hello from a contact"), f.clock().UnixMilli()+1)
	if status, b := f.postFrom("198.51.100.20:1", reqBody(rpc.MethodStore, json.RawMessage(p))); status != 200 {
		t.Fatalf("contact's DM after the flood: %d %s", status, b)
	}
	// Paged: a full inbox at the default quota is two pages.
	var inbox []rpc.Message
	for cursor := ""; ; {
		var page rpc.RetrieveResult
		f.mustCall(t, victim, rpc.MethodRetrieve, `{"namespace":0`+cursor+`}`, &page)
		inbox = append(inbox, page.Messages...)
		if !page.More {
			break
		}
		last := page.Messages[len(page.Messages)-1]
		cursor = fmt.Sprintf(`,"after_timestamp":%d,"after_hash":%q`, last.Timestamp, last.Hash)
	}
	if int64(len(inbox)) != floodQuota || inbox[len(inbox)-1].Data != b64("hello from a contact") {
		t.Fatalf("inbox holds %d messages ending %+v; want %d ending with the contact's", len(inbox), inbox[len(inbox)-1], floodQuota)
	}
}

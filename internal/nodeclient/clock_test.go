package nodeclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/netclock"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestSignedCallsKeepTheClock: fast signed calls do not push the client's
// clock ahead of the network's. Each signature needs its own millisecond,
// so n calls within one millisecond of local time end n ms ahead, but no
// more: reserving a whole batch's milliseconds for every call put 500
// stores 10 s ahead, and a node refuses a store dated that far ahead.
func TestSignedCallsKeepTheClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, identity.Ed25519PublicKey{})
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.UnixMilli(1_800_000_000_000)
	c.clock = netclock.New(func() time.Time { return frozen }, 0)
	c.info = &rpc.InfoResult{NetworkID: "testnet"}
	acct := identity.NewAccount()
	const calls = 500
	for range calls {
		if _, err := c.Signed(context.Background(), acct, rpc.MethodStore, []byte(`{"namespace":1,"ttl":600000,"data":"bm90ZQ=="}`)); err != nil {
			t.Fatal(err)
		}
	}
	if ahead := c.Now().Sub(frozen); ahead > 2*calls*time.Millisecond {
		t.Fatalf("after %d signed calls the client's clock is %v ahead of the network's", calls, ahead)
	}
}

package relaytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// HeldAnswer is what a [Holder] answers a held request with.
const HeldAnswer = `{"messages":[],"more":false,"t":1}`

// Holder stands in for a destination that holds a retrieve with a wait
// (fast mode): a request whose body has a "wait" stays in the storage
// handler until [Holder.Release] (then it answers HeldAnswer) or until its
// context ends (then it answers HeldAnswer too, as a node answers at the
// end of a wait). Other requests go to the real storage RPC. Use its Wrap
// as [Options.Wrap].
type Holder struct {
	// Entered counts the held requests that arrived; Current those still
	// in the handler.
	Entered, Current atomic.Int64

	at      int // node index, or -1 for every node
	release chan struct{}
	once    sync.Once
}

// NewHolder returns a Holder for node at, or for every node when at is -1.
func NewHolder(at int) *Holder { return &Holder{at: at, release: make(chan struct{})} }

// Release lets every held request, present and future, be answered.
func (hd *Holder) Release() { hd.once.Do(func() { close(hd.release) }) }

// Wrap is an [Options.Wrap].
func (hd *Holder) Wrap(i int, h http.Handler) http.Handler {
	if hd.at >= 0 && i != hd.at {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"wait"`)) {
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
			return
		}
		hd.Current.Add(1)
		defer hd.Current.Add(-1)
		hd.Entered.Add(1)
		select {
		case <-hd.release:
		case <-r.Context().Done():
		}
		w.Write([]byte(HeldAnswer))
	})
}

// WaitRetrieve is a storage RPC body: a retrieve of acct's direct
// messages, signed, that asks to wait.
func WaitRetrieve(t testing.TB, acct *identity.Account, wait time.Duration) []byte {
	t.Helper()
	r := &rpc.Retrieve{Namespace: 0, Wait: wait}
	r.Stamp(time.Now())
	r.Sign(NetworkID, acct)
	b, err := json.Marshal(rpc.Request{Method: r.Method(), Params: r.Params()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

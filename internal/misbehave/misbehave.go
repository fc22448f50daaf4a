// Package misbehave makes a real service node lie, for tests: a [Node] is an
// http.Handler middleware that a test installs around a node's storage RPC
// (node.WithRPCWrapper, devnet.Options.WrapRPC) and switches between
// [Mode]s while the node runs. It sits after the onion layers are peeled,
// so it changes what the destination answers, directly or through paths.
//
// It is test-only: no binary imports it (TestNotInBinaries), and hushd
// offers no option that installs it. Each mode is one way a swarm member
// can hurt a client (DESIGN.md §4, issue 13): the client must still get
// every message, delete nothing and name the node.
package misbehave

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// Mode is one way of misbehaving.
type Mode int32

// The modes.
const (
	// Honest passes everything through.
	Honest Mode = iota
	// LieTime moves the node time "t" in every answer by Node.TimeLie.
	LieTime
	// Garbage keeps the hashes of retrieved messages but replaces their
	// data with random bytes.
	Garbage
	// Future adds a message dated in the year 2999 (data random, hash
	// correct for it) to every retrieve answer.
	Future
	// PageForever says more:true on every retrieve page and, once the real
	// messages run out, fills pages with junk (correct hashes, random
	// data) that never ends.
	PageForever
	// Withhold answers every retrieve with no messages.
	Withhold
	// Slow answers every request after Node.Delay (or when the request
	// is abandoned), honestly.
	Slow
	// LieArrival answers a retrieve's arrival-mark exchange
	// (rpc.Retrieve.ArrivedAfter) with a mark far ahead of its true one
	// (ArrivalLie) and none of the messages that arrived late, so that a
	// client that believed it would never again ask this node for what
	// reaches it late.
	LieArrival
	// WithholdLate answers the exchange with the node's true mark but
	// none of the late messages: the client's mark moves past what it
	// was not sent.
	WithholdLate
)

// ArrivalLie is what LieArrival adds to the node's true arrival mark.
const ArrivalLie = 1 << 40

var names = [...]string{"honest", "lie-time", "garbage", "future", "page-forever", "withhold", "slow", "lie-arrival", "withhold-late"}

func (m Mode) String() string {
	if name, ok := groupNames[m]; ok { // group.go
		return name
	}
	if int(m) < len(names) {
		return names[m]
	}
	return "mode " + strconv.Itoa(int(m))
}

// Modes lists every misbehaving mode (not Honest).
func Modes() []Mode {
	return []Mode{LieTime, Garbage, Future, PageForever, Withhold, Slow, LieArrival, WithholdLate}
}

// Node is the misbehaviour of one node; the zero value is honest with
// defaults. Set may be called at any time.
type Node struct {
	mode atomic.Int32
	// TimeLie is what LieTime adds to "t" [16 days].
	TimeLie time.Duration
	// Delay is how long Slow holds each answer [30 s].
	Delay time.Duration
	// Requests counts the requests the node answered while misbehaving.
	Requests atomic.Int64

	grp groupState // group.go
}

// Set switches the node to mode m.
func (n *Node) Set(m Mode) {
	n.grp.reset() // group.go: a stale node freezes afresh
	n.mode.Store(int32(m))
}

// Mode returns the current mode.
func (n *Node) Mode() Mode { return Mode(n.mode.Load()) }

// FarFuture is the deposit time of the messages Future injects.
var FarFuture = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)

// Wrap returns h with n's misbehaviour around it.
func (n *Node) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := n.Mode()
		if m == Honest || r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		if m.group() {
			n.wrapGroup(m, h, w, r) // group.go
			return
		}
		n.Requests.Add(1)
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if m == Slow {
			d := n.Delay
			if d == 0 {
				d = 30 * time.Second
			}
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r2)
		out := rec.Body.Bytes()
		var req rpc.Request
		if json.Unmarshal(body, &req) == nil {
			out = n.alter(m, req, rec.Code, out)
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(out)
	})
}

// alter rewrites one answer according to mode m.
func (n *Node) alter(m Mode, req rpc.Request, status int, out []byte) []byte {
	if m == LieTime {
		var obj map[string]json.RawMessage
		if json.Unmarshal(out, &obj) != nil {
			return out
		}
		var t int64
		if json.Unmarshal(obj["t"], &t) != nil || t == 0 {
			return out
		}
		lie := n.TimeLie
		if lie == 0 {
			lie = 16 * 24 * time.Hour
		}
		obj["t"], _ = json.Marshal(t + lie.Milliseconds())
		b, _ := json.Marshal(obj)
		return b
	}
	if req.Method != rpc.MethodRetrieve || status != http.StatusOK {
		return out
	}
	var p struct {
		Pubkey         string `json:"pubkey"`
		Namespace      int32  `json:"namespace"`
		AfterTimestamp int64  `json:"after_timestamp"`
	}
	var res rpc.RetrieveResult
	if json.Unmarshal(req.Params, &p) != nil || json.Unmarshal(out, &res) != nil {
		return out
	}
	// A group swarm's (03) answers are altered as an account's.
	acct, err := identity.ParseAccountID(p.Pubkey)
	if gid, gerr := group.ParseID(p.Pubkey); err != nil && gerr == nil {
		acct, err = gid.Account(), nil
	}
	if err != nil {
		return out
	}
	junk := func(ts int64) rpc.Message {
		data := make([]byte, 512)
		rand.Read(data)
		return rpc.Message{
			Hash: rpc.MessageHash(acct, p.Namespace, data), Timestamp: ts,
			Expiration: time.Now().Add(time.Hour).UnixMilli(), Data: base64.StdEncoding.EncodeToString(data),
		}
	}
	switch m {
	case Garbage:
		for i := range res.Messages {
			data := make([]byte, max(len(res.Messages[i].Data)*3/4, 16))
			rand.Read(data)
			res.Messages[i].Data = base64.StdEncoding.EncodeToString(data)
		}
	case Future:
		res.Messages = append(res.Messages, junk(FarFuture.UnixMilli()))
	case PageForever:
		if !res.More {
			from := p.AfterTimestamp
			if len(res.Messages) > 0 {
				from = res.Messages[len(res.Messages)-1].Timestamp
			}
			if from == 0 {
				from = time.Now().Add(-time.Hour).UnixMilli()
			}
			for i := range 4 {
				res.Messages = append(res.Messages, junk(from+int64(i)+1))
			}
		}
		res.More = true
	case Withhold:
		res.Messages, res.More = []rpc.Message{}, false
	case LieArrival:
		if res.Arrived != nil {
			lie := *res.Arrived + ArrivalLie
			res.Arrived, res.Late = &lie, nil
		}
	case WithholdLate:
		res.Late = nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return out
	}
	return b
}

package misbehave

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// Group-swarm modes (issue 21, docs/groups.md §10): a storage node of a
// group swarm can drop what members send it and serve stale objects, and
// the members' clients must trust no single node for group state. The
// account modes (Withhold, Garbage, Future, PageForever, ...) apply to
// group swarms (03 IDs) too; these act on group swarms only and pass
// every other request through honestly.
const (
	// StaleGroup serves each group namespace (messages, keys, info,
	// members, revocations) frozen: the first retrieve of a group's
	// namespace after the switch reads it from its start, and every
	// later retrieve, whatever position it asks from (a long-poll too,
	// at once), gets that answer again. So old objects (an older member
	// list, info, revocation list, key chunks, messages) are served
	// again and everything newer is withheld. Stores are honest.
	StaleGroup Mode = 100 + iota
	// SwallowGroup answers every store to a group swarm with a
	// well-formed reply naming the right hash, as if stored, but stores
	// and forwards nothing. Its reply carries no other member's
	// confirmation (it cannot forge one), so a sender asks others.
	SwallowGroup
	// RevokedGroup answers every request to a group swarm that presents
	// a member credential (a subaccount), whatever its method, with the
	// refusal a node gives a revoked credential (403, code revoked),
	// although no revocation list names it. A member must not take one
	// node's word for its removal (only a list the group key signed,
	// read from the revoked-retrievable namespace, says so) and must go
	// on through the other members. Admins' requests pass honestly.
	RevokedGroup
)

var groupNames = map[Mode]string{StaleGroup: "stale-group", SwallowGroup: "swallow-group", RevokedGroup: "revoked-group"}

// GroupModes lists the group-swarm modes.
func GroupModes() []Mode { return []Mode{StaleGroup, SwallowGroup, RevokedGroup} }

func (m Mode) group() bool {
	_, ok := groupNames[m]
	return ok
}

// groupState is what StaleGroup froze.
type groupState struct {
	mu sync.Mutex
	// frozen maps "group ID/namespace" to the messages the first answer
	// held; guarded by mu. Cleared by Set.
	frozen map[string][]rpc.Message
	mode   Mode // the group mode frozen was filled under; guarded by mu
}

// wrapGroup serves one request in a group mode.
func (n *Node) wrapGroup(m Mode, h http.Handler, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req rpc.Request
	var p struct {
		Pubkey     string `json:"pubkey"`
		Namespace  int32  `json:"namespace"`
		Data       string `json:"data"`
		Subaccount string `json:"subaccount"`
	}
	parsed := json.Unmarshal(body, &req) == nil && json.Unmarshal(req.Params, &p) == nil
	gid, gerr := group.ParseID(p.Pubkey)
	honest := func() {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r2)
	}
	if !parsed || gerr != nil || !strings.HasPrefix(p.Pubkey, "03") {
		honest()
		return
	}
	switch {
	case m == RevokedGroup && p.Subaccount != "":
		n.Requests.Add(1)
		e := rpc.Errorf(rpc.CodeRevoked, "the group revoked this credential")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Code.Status())
		json.NewEncoder(w).Encode(rpc.ErrorBody{Error: e, T: time.Now().UnixMilli()})
	case m == SwallowGroup && req.Method == rpc.MethodStore:
		data, err := base64.StdEncoding.DecodeString(p.Data)
		if err != nil {
			honest()
			return
		}
		n.Requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rpc.StoreResult{Hash: rpc.MessageHash(gid.Account(), p.Namespace, data), T: time.Now().UnixMilli()})
	case m == StaleGroup && req.Method == rpc.MethodRetrieve:
		n.Requests.Add(1)
		key := p.Pubkey + "/" + strconv.Itoa(int(p.Namespace))
		msgs, ok := n.frozen(m, key)
		if !ok {
			// The first retrieve after the switch reads the namespace
			// from its start (the signature covers no position), and
			// what it gets is all this node serves from now on.
			var params map[string]json.RawMessage
			if json.Unmarshal(req.Params, &params) != nil {
				honest()
				return
			}
			for _, k := range []string{"after_timestamp", "after_hash", "known", "arrived_after", "wait"} {
				delete(params, k)
			}
			req.Params, _ = json.Marshal(params)
			b, _ := json.Marshal(req)
			r2 := r.Clone(r.Context())
			r2.Body = io.NopCloser(bytes.NewReader(b))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r2)
			var res rpc.RetrieveResult
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &res) != nil {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			msgs = n.freeze(m, key, res.Messages)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rpc.RetrieveResult{Messages: msgs, T: time.Now().UnixMilli()})
	default:
		honest()
	}
}

// frozen returns what StaleGroup froze for key, if anything.
func (n *Node) frozen(m Mode, key string) ([]rpc.Message, bool) {
	g := &n.grp
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mode != m {
		return nil, false
	}
	msgs, ok := g.frozen[key]
	return msgs, ok
}

// freeze keeps msgs as key's answer (the first freeze wins) and returns
// the answer kept.
func (n *Node) freeze(m Mode, key string, msgs []rpc.Message) []rpc.Message {
	g := &n.grp
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mode != m || g.frozen == nil {
		g.frozen, g.mode = map[string][]rpc.Message{}, m
	}
	if old, ok := g.frozen[key]; ok {
		return old
	}
	if msgs == nil {
		msgs = []rpc.Message{}
	}
	g.frozen[key] = msgs
	return msgs
}

// reset forgets what was frozen (a switch of mode).
func (g *groupState) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen, g.mode = nil, Honest
}

package nodeclient

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// SignParams fills in what a storage RPC needs to act for acct: pubkey,
// pubkey_ed25519, the timestamps the method signs (set to now unless
// given) and the signature over the method's string on networkID. Fields
// the caller gave are kept. For batch and sequence each sub-request is
// signed, sub-request i at now + i ms so that no two signatures are equal
// (a node refuses a repeated signature).
func SignParams(acct *identity.Account, networkID, method string, params json.RawMessage, now time.Time) (json.RawMessage, error) {
	p := map[string]json.RawMessage{}
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fmt.Errorf("params must be a JSON object: %w", err)
		}
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v) // strings, numbers, slices of those
		p[k] = b
	}
	setDefault := func(k string, v any) {
		if _, ok := p[k]; !ok {
			set(k, v)
		}
	}
	var f struct {
		Namespace    json.RawMessage `json:"namespace"`
		Messages     []string        `json:"messages"`
		Timestamp    int64           `json:"timestamp"`
		SigTimestamp int64           `json:"sig_timestamp"`
		Before       int64           `json:"before"`
		Expiry       int64           `json:"expiry"`
		Shorten      bool            `json:"shorten"`
		Extend       bool            `json:"extend"`
		Requests     []rpc.Request   `json:"requests"`
	}
	if len(params) > 0 {
		if err := json.Unmarshal(params, &f); err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
	}
	ns := int32(0)
	var nsVar *int32 = &ns
	if len(f.Namespace) > 0 && string(f.Namespace) != "null" {
		if string(f.Namespace) == `"all"` {
			nsVar = nil
		} else if err := json.Unmarshal(f.Namespace, &ns); err != nil {
			return nil, fmt.Errorf(`namespace must be an integer or "all"`)
		}
	}
	ms := now.UnixMilli()
	tsOr := func(v int64) time.Time {
		if v == 0 {
			return time.UnixMilli(ms)
		}
		return time.UnixMilli(v)
	}
	var msg []byte
	switch method {
	case rpc.MethodInfo:
		return json.RawMessage(`{}`), nil
	case rpc.MethodGetSwarm:
		setDefault("pubkey", acct.ID().String())
		return json.Marshal(p)
	case rpc.MethodBatch, rpc.MethodSequence:
		if len(f.Requests) > rpc.MaxBatch {
			return nil, fmt.Errorf("at most %d sub-requests", rpc.MaxBatch)
		}
		subs := make([]rpc.Request, len(f.Requests))
		for i, r := range f.Requests {
			sp, err := SignParams(acct, networkID, r.Method, r.Params, now.Add(time.Duration(i)*time.Millisecond))
			if err != nil {
				return nil, fmt.Errorf("requests[%d]: %w", i, err)
			}
			subs[i] = rpc.Request{Method: r.Method, Params: sp}
		}
		set("requests", subs)
		return json.Marshal(p)
	case rpc.MethodStore:
		setDefault("timestamp", ms)
		if rpc.IsPublicNamespace(ns) {
			break // anyone may deposit; no signature needed
		}
		sigTS := tsOr(f.SigTimestamp)
		set("sig_timestamp", sigTS.UnixMilli())
		msg = rpc.SigStore(networkID, ns, sigTS)
	case rpc.MethodRetrieve:
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigRetrieve(networkID, ns, ts)
	case rpc.MethodDelete:
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigDelete(networkID, ts, f.Messages)
	case rpc.MethodDeleteAll:
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigDeleteAll(networkID, nsVar, ts)
	case rpc.MethodDeleteBefore:
		before, ts := tsOr(f.Before), tsOr(f.Timestamp)
		set("before", before.UnixMilli())
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigDeleteBefore(networkID, ts, nsVar, before)
	case rpc.MethodExpire:
		if f.Expiry == 0 {
			return nil, fmt.Errorf("expire needs expiry (ms since the Unix epoch)")
		}
		mode := rpc.ExpireAny
		switch {
		case f.Shorten && !f.Extend:
			mode = rpc.ExpireShorten
		case f.Extend && !f.Shorten:
			mode = rpc.ExpireExtend
		}
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigExpire(networkID, ts, mode, time.UnixMilli(f.Expiry), f.Messages)
	case rpc.MethodExpireAll:
		if f.Expiry == 0 {
			return nil, fmt.Errorf("expire_all needs expiry (ms since the Unix epoch)")
		}
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigExpireAll(networkID, ts, nsVar, time.UnixMilli(f.Expiry))
	case rpc.MethodGetExpiries:
		ts := tsOr(f.Timestamp)
		set("timestamp", ts.UnixMilli())
		msg = rpc.SigGetExpiries(networkID, ts, f.Messages)
	default:
		return nil, fmt.Errorf("unknown method %q", method)
	}
	set("pubkey", acct.ID().String())
	if msg != nil {
		set("pubkey_ed25519", acct.Ed25519Public().String())
		set("signature", base64.StdEncoding.EncodeToString(acct.Sign(msg)))
	}
	return json.Marshal(p)
}

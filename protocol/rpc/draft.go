package rpc

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
)

// draftKeys are the params a person writes for each method; pubkey,
// pubkey_ed25519 and signature are accepted for every method and replaced
// when the request is signed.
var draftKeys = map[string][]string{
	MethodStore:        {"namespace", "data", "ttl", "timestamp", "sig_timestamp"},
	MethodRetrieve:     {"namespace", "timestamp", "after_timestamp", "after_hash", "max_count", "max_size", "wait", "known", "arrived_after"},
	MethodDelete:       {"messages", "timestamp"},
	MethodDeleteAll:    {"namespace", "timestamp"},
	MethodDeleteBefore: {"namespace", "before", "timestamp"},
	MethodExpire:       {"messages", "expiry", "shorten", "extend", "timestamp"},
	MethodExpireAll:    {"namespace", "expiry", "timestamp"},
	MethodGetExpiries:  {"messages", "timestamp"},
	MethodGetSwarm:     {},
	MethodInfo:         {},
	MethodBatch:        {"requests"},
	MethodSequence:     {"requests"},
}

// ParseDraft decodes params as a person writes them (`hush tool rpc`, and
// tests that send a node what it must refuse) into the request to sign:
// the method's own fields, without keys, signature or request times.
// Times left out, or 0, are now (sub-request i of a batch: now + i ms),
// pubkey is account (get_swarm: unless given), and what [Outgoing.Sign]
// fills in is replaced. Sign the result; do not Stamp it, which would
// replace times the params gave.
//
// Unlike the Parse functions it checks only what the typed request must
// hold: keys the method does not know, the JSON types, base64 data, and
// fields without which the request would change meaning (store's data
// and ttl, expire's expiry). Values a node refuses (a ttl out of range, a
// stale expiry) pass, so the node's answer names them.
func ParseDraft(method string, params json.RawMessage, account identity.AccountID, now time.Time) (Outgoing, error) {
	keys, ok := draftKeys[method]
	if !ok {
		return nil, Errorf(CodeUnknownMethod, "unknown method %q", method)
	}
	if p := bytes.TrimSpace(params); len(p) == 0 || string(p) == "null" {
		params = json.RawMessage(`{}`)
	}
	var given map[string]json.RawMessage
	if err := decodeStrict(params, &given, "params"); err != nil {
		return nil, err
	}
	for k := range given {
		if !slices.Contains(keys, k) && k != "pubkey" && k != "pubkey_ed25519" && k != "signature" {
			return nil, Errorf(CodeBadField, "params: unknown field %q", k)
		}
	}
	var f struct {
		Namespace      json.RawMessage `json:"namespace"`
		Data           *string         `json:"data"`
		TTL            *int64          `json:"ttl"`
		Timestamp      int64           `json:"timestamp"`
		SigTimestamp   int64           `json:"sig_timestamp"`
		Before         int64           `json:"before"`
		Expiry         int64           `json:"expiry"`
		AfterTimestamp *int64          `json:"after_timestamp"`
		AfterHash      *string         `json:"after_hash"`
		MaxCount       int             `json:"max_count"`
		MaxSize        int             `json:"max_size"`
		Wait           int64           `json:"wait"`
		Known          []string        `json:"known"`
		ArrivedAfter   *int64          `json:"arrived_after"`
		Messages       []string        `json:"messages"`
		Shorten        bool            `json:"shorten"`
		Extend         bool            `json:"extend"`
		Requests       json.RawMessage `json:"requests"`
		Pubkey         *string         `json:"pubkey"`
		PubkeyEd25519  *string         `json:"pubkey_ed25519"`
		Signature      *string         `json:"signature"`
	}
	if err := decodeStrict(params, &f, "params"); err != nil {
		return nil, err
	}
	ts := func(ms int64) time.Time {
		if ms == 0 {
			return now
		}
		return time.UnixMilli(ms)
	}
	switch method {
	case MethodInfo:
		return Info{}, nil
	case MethodGetSwarm:
		r := &GetSwarm{Account: account}
		if f.Pubkey != nil {
			var err error
			if r.Account, err = parseAccount(f.Pubkey); err != nil {
				return nil, err
			}
		}
		return r, nil
	case MethodBatch, MethodSequence:
		return parseDraftBatch(method, params, account, now)
	case MethodStore:
		ns, err := draftNamespace(f.Namespace)
		if err != nil {
			return nil, err
		}
		if f.Data == nil || f.TTL == nil {
			return nil, Errorf(CodeMissingField, "store needs data and ttl")
		}
		data, err := decodeBase64(*f.Data)
		if err != nil {
			return nil, Errorf(CodeBadBase64, "data: not base64")
		}
		return &Store{
			Account: account, Namespace: ns, Data: data, TTL: time.Duration(*f.TTL) * time.Millisecond,
			Timestamp: ts(f.Timestamp), SigTimestamp: ts(f.SigTimestamp),
		}, nil
	case MethodRetrieve:
		ns, err := draftNamespace(f.Namespace)
		if err != nil {
			return nil, err
		}
		r := &Retrieve{Namespace: ns, Timestamp: ts(f.Timestamp), MaxCount: f.MaxCount, MaxSize: f.MaxSize,
			Wait: time.Duration(f.Wait) * time.Millisecond, Known: f.Known, ArrivedAfter: f.ArrivedAfter}
		if (f.AfterTimestamp == nil) != (f.AfterHash == nil) {
			return nil, Errorf(CodeMissingField, "after_timestamp and after_hash go together")
		}
		if f.AfterTimestamp != nil {
			r.AfterTimestamp, r.AfterHash = time.UnixMilli(*f.AfterTimestamp), *f.AfterHash
		}
		return r, nil
	case MethodDelete:
		return &Delete{Hashes: f.Messages, Timestamp: ts(f.Timestamp)}, nil
	case MethodGetExpiries:
		return &GetExpiries{Hashes: f.Messages, Timestamp: ts(f.Timestamp)}, nil
	case MethodExpire:
		if f.Expiry == 0 {
			return nil, Errorf(CodeMissingField, "expire needs expiry (ms since the Unix epoch)")
		}
		r := &Expire{Hashes: f.Messages, Expiry: time.UnixMilli(f.Expiry), Timestamp: ts(f.Timestamp)}
		switch {
		case f.Shorten && f.Extend:
			return nil, Errorf(CodeBadField, "shorten and extend exclude each other")
		case f.Shorten:
			r.Mode = ExpireShorten
		case f.Extend:
			r.Mode = ExpireExtend
		}
		return r, nil
	}
	// The methods whose namespace may be "all".
	ns, err := parseNamespaceVar(f.Namespace)
	if err != nil {
		return nil, err
	}
	switch method {
	case MethodDeleteAll:
		return &DeleteAll{Namespace: ns, Timestamp: ts(f.Timestamp)}, nil
	case MethodDeleteBefore:
		return &DeleteBefore{Namespace: ns, Before: ts(f.Before), Timestamp: ts(f.Timestamp)}, nil
	}
	// MethodExpireAll, the last in draftKeys.
	if f.Expiry == 0 {
		return nil, Errorf(CodeMissingField, "expire_all needs expiry (ms since the Unix epoch)")
	}
	return &ExpireAll{Namespace: ns, Expiry: time.UnixMilli(f.Expiry), Timestamp: ts(f.Timestamp)}, nil
}

// draftNamespace is a single namespace as written: absent means 0. Its
// range is the node's to check.
func draftNamespace(raw json.RawMessage) (int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var ns int32
	if err := json.Unmarshal(raw, &ns); err != nil {
		return 0, Errorf(CodeBadField, "namespace: must be an integer")
	}
	return ns, nil
}

func parseDraftBatch(method string, params json.RawMessage, account identity.AccountID, now time.Time) (*Batch, error) {
	subs, err := ParseBatch(params)
	if err != nil {
		return nil, err
	}
	b := &Batch{Sequence: method == MethodSequence, Requests: make([]Outgoing, len(subs))}
	for i, sub := range subs {
		// Distinct times, so no two sub-requests carry one signature.
		req, err := ParseDraft(sub.Method, sub.Params, account, now.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			e := err.(*Error)
			return nil, Errorf(e.Code, "requests[%d]: %s", i, e.Message)
		}
		b.Requests[i] = req
	}
	return b, nil
}

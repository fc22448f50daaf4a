package rpc

import "encoding/json"

// Responses. Every one carries T, the node's time in ms since the Unix
// epoch, so clients can measure their clock's offset.

// StoreResult answers store.
type StoreResult struct {
	Hash    string `json:"hash"`
	Already bool   `json:"already"` // the message was stored before (idempotent duplicate)
	// Deleted says the message was stored before and then deleted by its
	// owner (the node keeps a tombstone until it would have expired): it
	// was not stored again and nothing is retrievable. Already is false,
	// and there are no confirmations. A sender treats it as this member's
	// word that the message was delivered and removed.
	Deleted bool  `json:"deleted,omitempty"`
	T       int64 `json:"t"`
	// Swarm holds each confirming member's signed confirmation, keyed by
	// its Ed25519 key (hex), the answering node's own among them; see
	// [VerifyConfirmation]. Empty from a node that does not replicate.
	Swarm map[string]Confirmation `json:"swarm,omitempty"`
}

// Message is one message in a retrieve response.
type Message struct {
	Hash       string `json:"hash"`
	Timestamp  int64  `json:"timestamp"`
	Expiration int64  `json:"expiration"`
	Data       string `json:"data"` // standard base64
}

// RetrieveResult answers retrieve. To continue, pass the last message's
// timestamp and hash as after_timestamp and after_hash.
type RetrieveResult struct {
	Messages []Message `json:"messages"`
	More     bool      `json:"more"`
	T        int64     `json:"t"`
	// Arrived and Late answer a retrieve's arrived_after
	// ([Retrieve.ArrivedAfter]): the node's arrival mark up to which Late
	// is complete, and the messages that arrived at this node after the
	// mark asked for yet lie at or before the cursor, in arrival order.
	// Late messages are no page of Messages: a client neither moves its
	// cursor by them nor checks them against it.
	Arrived *int64    `json:"arrived,omitempty"`
	Late    []Message `json:"late,omitempty"`
}

// DeleteResult answers delete, delete_all and delete_before: the hashes
// that were removed, sorted.
type DeleteResult struct {
	Deleted []string `json:"deleted"`
	T       int64    `json:"t"`
}

// ExpireResult answers expire and expire_all: the resulting expiry (ms)
// of each message that exists.
type ExpireResult struct {
	Updated map[string]int64 `json:"updated"`
	Expiry  int64            `json:"expiry"` // the expiry the node applied, after clamping
	T       int64            `json:"t"`
}

// ExpiriesResult answers get_expiries.
type ExpiriesResult struct {
	Expiries map[string]int64 `json:"expiries"`
	T        int64            `json:"t"`
}

// SwarmMember is one node of a swarm.
type SwarmMember struct {
	PubkeyEd25519 string `json:"pubkey_ed25519"` // hex
	PubkeyX25519  string `json:"pubkey_x25519"`  // hex
	Address       string `json:"address"`        // host:port
}

// SwarmResult answers get_swarm, and comes with a wrong_swarm error.
type SwarmResult struct {
	SwarmID string        `json:"swarm_id"` // 16 hex digits
	Members []SwarmMember `json:"members"`
	T       int64         `json:"t,omitempty"`
}

// InfoResult answers info.
type InfoResult struct {
	Version       string `json:"version"`
	NetworkID     string `json:"network_id"`
	PubkeyEd25519 string `json:"pubkey_ed25519"`
	PubkeyX25519  string `json:"pubkey_x25519"`
	// Messages is the node's total stored message count, present only on
	// nodes that opt in (devnets: `hushd node --public-stats`).
	Messages *int64 `json:"messages,omitempty"`
	T        int64  `json:"t"`
}

// SubResult is one sub-request's outcome in a batch or sequence.
type SubResult struct {
	Code int             `json:"code"` // HTTP status the request would have had alone
	Body json.RawMessage `json:"body"`
}

// BatchResult answers batch and sequence. A sequence stops after the
// first sub-request that fails, so it may hold fewer results.
type BatchResult struct {
	Results []SubResult `json:"results"`
	T       int64       `json:"t"`
}

// Package nodeclient talks to one service node's storage RPC: an HTTPS
// client pinned to the node's Ed25519 key, [Client.Info], [Client.Call],
// and [SignedCall], which fills in an account's keys, timestamps and
// signatures (what `hush tool rpc` does).
//
// # Pinning
//
// A node's TLS certificate is self-signed with its Ed25519 identity key,
// and the client pins that key, as every HTTPS hop does (internal/keytls):
// it ignores the certificate chain and checks that the peer's leaf key is
// the expected Ed25519 key; TLS 1.3's CertificateVerify proves the peer
// holds that key. A connection to a node with another key fails during
// the handshake, before any request is sent, with keytls.ErrWrongKey. When no key is known, the client trusts the first node it reaches
// (TOFU) and pins the key the certificate shows, after checking that info
// reports the same key.
//
// # Clock
//
// Signed timestamps must be within ±60 s of the node's clock. The client
// measures the node's offset from info's "t" and signs with its own clock
// corrected by that offset (a netclock.Clock, whose Stamp keeps the
// timestamps strictly increasing so no two signatures it makes are equal).
package nodeclient

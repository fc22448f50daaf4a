// Package push is the push server (hushd push): a steward reached only as
// an onion destination, which wakes sleeping devices through their push
// provider when one of their swarm's nodes says a message arrived
// (DESIGN §7, push).
//
// # What it keeps
//
// Its SQLite state holds subscriptions (a random sub_id, the SHA-256 of the
// notify secret, the provider and its token or Web Push endpoint and keys,
// the subscription's management key, its expiry and the timestamp of its
// last management request), recent notify tags (for dedupe) and its own
// VAPID key: never an Account ID, a client or node IP, or a swarm. Nothing
// it logs names them either; [Transparency] prints every kind of record.
//
// # Requests
//
// One endpoint (protocol/push Target, POST) takes onion frames from
// relays. The server opens its layer (onion.Peel), refuses replayed
// layers, parses the request (protocol/push) and answers under the layer's
// keys. Management requests are signed by the subscription's management
// key with a timestamp that must be newer than the last one accepted and
// near the server's clock. A notify must carry the notify secret whose
// hash the registration named (compared in constant time); its tag is
// dropped when seen within [TagWindow], so that the swarm's members, which
// all notify, cause one push.
//
// # Providers
//
// [WebPush] (RFC 8030, RFC 8291, RFC 8292) to endpoints subscribers give,
// checked for https and public addresses after resolution on every send;
// [APNs] and [FCM] to configured base URLs. A provider saying a token is
// gone deletes the subscription.
package push

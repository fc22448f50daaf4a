// Package turn is the wire format of the TURN server's credential
// endpoint (hushd turn, DESIGN §9): what a client seals, through its onion
// path, to the server's X25519 key to get a short-lived TURN credential,
// and the answer. The package does no I/O.
//
// # Credentials (TURN REST style)
//
// A credential is the pair the long-term credential mechanism of RFC 8489
// §9.2 takes, issued in the style of draft-uberti-behave-turn-rest-00 so
// that the TURN server keeps no table of them:
//
//	username = decimal Unix expiry ":" random
//	password = base64(HMAC-SHA1(secret, username))
//
// random is 16 bytes from a CSPRNG in unpadded base64url, so two
// credentials issued in the same second differ and a server counting
// allocations per credential can tell them apart; it names nobody. The
// secret is the server's only; whoever holds it can mint credentials.
// [Username], [Password] and [ParseUsername] build and check these (the
// server's AuthHandler uses them, and pion/turn's client computes the
// same key from the password).
//
// # Request and answer
//
// The request is the JSON object {"op":"credential"}; nothing in it can
// tell two clients apart. The answer (HTTP status 200 under the onion
// layer) is
//
//	{"username": "1767225600:q83vEjRWeJ…", "password": "<base64>", "expires": 1767225600}
//
// and an error is {"error": code, "message": text, "retry_after_ms": n}
// with the code's status ([Code.Status]). Parsing is strict
// (protocol/strictjson): unknown or repeated keys, wrong types, a username
// whose expiry disagrees with expires, or a password that is not the
// base64 of 20 bytes are refused with [ErrMalformed].
package turn

// Package group is the wire format of hush's closed groups (docs/groups.md):
// group IDs, the member credentials (Session's subaccount tokens) that let
// members read and write the group's swarm, the group-key-signed objects
// stored there (revocation lists, sealed info and member configs, key
// messages), the grants a key message carries to each member, group
// messages, and invitations. It does no I/O and reads no clock: callers
// pass the time in. Sealing draws nonces from crypto/rand (tests fix it
// with testing/cryptotest.SetGlobalRandom).
//
// # Who parses what
//
// Nodes parse only credentials ([ParseCredential], [Credential.Verify])
// and revocation lists ([ParseRevocations]); everything else they store
// unread. Clients parse the rest, and every parser here is strict: one
// encoding per value, no trailing bytes, every reserved bit zero, limits
// checked before allocation. Parsers of signed objects verify the group
// key's signature before they return anything.
//
// # Errors
//
// [ErrMalformed] (bytes not in the one encoding, or a field out of range),
// [ErrBadSignature] (a signature that does not verify), [ErrWrongGroup]
// (an object for another group), [ErrTooManyMembers], [ErrDecrypt] (an
// AEAD that does not open: the wrong key, or altered bytes), [ErrBadID].
package group

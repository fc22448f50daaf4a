// Package identity holds a hush account's keys: the 16-byte seed, the Ed25519
// signing key derived from it, the X25519 key that encrypts to it, the Account
// ID that addresses it, and the 13-word recovery phrase that restores it.
//
// # Derivation (Session-compatible)
//
// An account is 16 random bytes. The Ed25519 seed is those 16 bytes followed
// by 16 zero bytes (session-desktop ts/util/accountManager.ts). The X25519
// private key is the clamped first half of SHA-512 of the Ed25519 seed, and
// the X25519 public key is the Montgomery form of the Ed25519 public key
// (libsodium crypto_sign_ed25519_sk_to_curve25519 and
// crypto_sign_ed25519_pk_to_curve25519). The Account ID is the byte 0x05
// followed by that X25519 public key, written as 66 lowercase hex characters.
// A user's Session recovery phrase therefore restores the same Account ID
// here.
//
// # Validation
//
// Account IDs and X25519 keys that arrive from outside are parsed with
// [ParseAccountID] and [ParseX25519PublicKey], which reject wrong lengths,
// wrong prefixes, non-hex text, non-canonical encodings and low-order points,
// each with its own error so callers and users can tell what is wrong.
//
// The package does no I/O; randomness comes from crypto/rand.
package identity

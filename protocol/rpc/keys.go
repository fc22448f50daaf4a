package rpc

// Namespaces of protocol v2's device records (docs/protocol-v2.md §5).
// Neither is divisible by 10, so only the account deposits into them (a
// store there must be signed, as for every owner-only namespace).
const (
	// NamespaceKeys holds each device's Inbox record. It is the one
	// namespace anyone may read without a signature: a sender needs a
	// contact's records before it can write to it, and the records are
	// public by design (signed by the account, nothing secret inside).
	NamespaceKeys int32 = 7
	// NamespaceSyncKeys holds each device's Sync record, for the
	// account's own other devices only: owner-read, owner-write.
	NamespaceSyncKeys int32 = 8
)

// IsPublicReadNamespace reports whether anyone may retrieve from ns without
// a signature. Only [NamespaceKeys] is: every other namespace, public
// inboxes included, is read by its owner alone.
func IsPublicReadNamespace(ns int32) bool { return ns == NamespaceKeys }

// retrieveAuth is auth for a retrieve from ns: a request into a public-read
// namespace that carries neither pubkey_ed25519 nor a signature is unsigned
// and names only the account it reads.
func (f authFields) retrieveAuth(ns int32) (*Auth, bool, error) {
	if !IsPublicReadNamespace(ns) || f.PubkeyEd25519 != nil || f.Signature != nil {
		a, err := f.auth()
		return a, false, err
	}
	id, err := parseAccount(f.Pubkey)
	if err != nil {
		return nil, false, err
	}
	return &Auth{Account: id}, true, nil
}

package group

// The group swarm's namespaces (docs/groups.md §2). The numbers are
// Session's where Session has the namespace (libsession-util
// include/session/config/namespaces.h); 15 is hush's own. None is
// divisible by 10: every store is signed.
const (
	// NamespaceRevokedRetrievable holds notices for removed members:
	// retrievable with any credential the group issued, revoked or not
	// (Session's NAMESPACE_REVOKED_RETRIEVABLE_GROUP_MESSAGES).
	NamespaceRevokedRetrievable int32 = -11
	// NamespacePush holds push subscription records (protocol/push),
	// each signed by a member key (or the group key), which nodes parse
	// and notify for new messages; any credential with read stores
	// (docs/groups.md §12). The number is the account swarm's record
	// namespace's.
	NamespacePush int32 = 4
	// NamespaceMessages holds group messages; members with write store.
	NamespaceMessages int32 = 11
	// NamespaceKeys holds key messages (admin-written).
	NamespaceKeys int32 = 12
	// NamespaceInfo holds info configs (admin-written).
	NamespaceInfo int32 = 13
	// NamespaceMembers holds member configs (admin-written).
	NamespaceMembers int32 = 14
	// NamespaceRevocations holds revocation lists (admin-written), which
	// nodes parse and enforce.
	NamespaceRevocations int32 = 15
)

// Namespaces lists the group swarm's namespaces, in ascending order.
var Namespaces = []int32{
	NamespaceRevokedRetrievable, NamespacePush, NamespaceMessages, NamespaceKeys,
	NamespaceInfo, NamespaceMembers, NamespaceRevocations,
}

// IsNamespace reports whether a group swarm has namespace ns.
func IsNamespace(ns int32) bool {
	for _, n := range Namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// MemberStores reports whether a member (with write) may store into ns:
// only the message namespace, so that the group's configs, keys and
// revocations stay the admins' and strangers cannot fill the swarm.
func MemberStores(ns int32) bool { return ns == NamespaceMessages }

// MaxObjectSize is the largest object of this package: a node's store
// limit (protocol/rpc.MaxDataSize; a test keeps them equal).
const MaxObjectSize = 76_800

// MaxMembers is the most current (not removed, not left) members a group
// has.
const MaxMembers = 100

// MaxEntries bounds a member config's entries, tombstones included.
const MaxEntries = 400

// MaxRevoked bounds a revocation list: it fits one store.
const MaxRevoked = 2000

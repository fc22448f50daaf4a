package rpc

import (
	"encoding/base64"
	"strconv"

	"golang.org/x/crypto/blake2b"

	"github.com/hushnet/hush/identity"
)

// HashLen is the length of a message hash: 32 bytes in unpadded base64.
const HashLen = 43

// MessageHash returns a message's hash as session-storage-server computes
// it (oxenss/rpc/request_handler.cpp computeMessageHash): BLAKE2b-256 over
// the account's prefix byte and 32 key bytes, the namespace in decimal
// (nothing for namespace 0) and the data, as unpadded standard base64.
func MessageHash(account identity.AccountID, namespace int32, data []byte) string {
	h, _ := blake2b.New256(nil) // no key: cannot fail
	h.Write(account[:])
	if namespace != 0 {
		h.Write(strconv.AppendInt(nil, int64(namespace), 10))
	}
	h.Write(data)
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// ValidHash reports whether s has the form of a message hash.
func ValidHash(s string) bool {
	if len(s) != HashLen {
		return false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

package client

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hushnet/hush/identity"
	"golang.org/x/crypto/chacha20poly1305"
)

// The byte formats of a group as this client reads and writes them: the
// admin-signed info and member list, and a group message. The signed
// forms are what the group swarm stores (encrypted under the group key)
// and what invitations and own-device syncs carry.

// ErrBadGroupData wraps why a group's info, member list, key message or
// message was refused (dropped and counted, in [EventDropped]).
var ErrBadGroupData = errors.New("group data refused")

// GroupIDPrefix is the first byte of a group's ID; the other 32 are the
// group's Ed25519 public key.
const GroupIDPrefix = 0x03

// IsGroupID reports whether id names a closed group rather than an
// account.
func IsGroupID(id identity.AccountID) bool { return id[0] == GroupIDPrefix }

// groupPublic returns the group's Ed25519 public key, from its ID.
func groupPublic(id identity.AccountID) ed25519.PublicKey { return ed25519.PublicKey(id[1:]) }

// groupInfo is what the admins say about a group.
type groupInfo struct {
	Version     uint64 `json:"v"`
	Name        string `json:"name"`
	Description string `json:"desc,omitempty"`
	// DisappearS is the group's after-send timer in seconds, 0 for off.
	DisappearS uint32 `json:"disappear_s,omitempty"`
}

// groupEntry is one member in the member list.
type groupEntry struct {
	Account identity.AccountID `json:"id"`
	Admin   bool               `json:"admin,omitempty"`
	// Joined is set once the member accepted its invitation.
	Joined bool `json:"joined,omitempty"`
}

// groupRoster is the member list.
type groupRoster struct {
	Version uint64       `json:"v"`
	Members []groupEntry `json:"members"`
}

func (r groupRoster) find(id identity.AccountID) (groupEntry, bool) {
	i := slices.IndexFunc(r.Members, func(e groupEntry) bool { return e.Account == id })
	if i < 0 {
		return groupEntry{}, false
	}
	return r.Members[i], true
}

// Labels of the signatures and encryptions; each names its role, so no
// signature or ciphertext of one kind passes as another.
const (
	labelGroupInfo    = "hush/1 group info"
	labelGroupMembers = "hush/1 group members"
	labelGroupMessage = "hush/1 group message"
	labelGroupConfig  = "hush/1 group config"
)

// signGroupObject returns label's object v signed by the group key:
// u32 length ‖ JSON ‖ signature over label ‖ group ID ‖ length ‖ JSON.
func signGroupObject(label string, id identity.AccountID, admin ed25519.PrivateKey, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	out = append(out, body...)
	msg := append(append([]byte(label), id[:]...), out...)
	return append(out, ed25519.Sign(admin, msg)...), nil
}

// openGroupObject verifies a signed object of group id and decodes it into
// v (strictly: unknown fields are refused).
func openGroupObject(label string, id identity.AccountID, signed []byte, v any) error {
	if len(signed) < 4+ed25519.SignatureSize {
		return fmt.Errorf("%w: %s of %d bytes", ErrBadGroupData, label, len(signed))
	}
	n := binary.BigEndian.Uint32(signed)
	if uint64(n) != uint64(len(signed)-4-ed25519.SignatureSize) {
		return fmt.Errorf("%w: %s length", ErrBadGroupData, label)
	}
	body, sig := signed[:4+n], signed[4+n:]
	msg := append(append([]byte(label), id[:]...), body...)
	if !ed25519.Verify(groupPublic(id), msg, sig) {
		return fmt.Errorf("%w: %s not signed by the group's key", ErrBadGroupData, label)
	}
	dec := json.NewDecoder(bytes.NewReader(body[4:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadGroupData, label, err)
	}
	return nil
}

// parseRoster verifies and checks a signed member list.
func parseRoster(id identity.AccountID, signed []byte) (groupRoster, error) {
	var r groupRoster
	if err := openGroupObject(labelGroupMembers, id, signed, &r); err != nil {
		return groupRoster{}, err
	}
	if len(r.Members) > MaxGroupMembers {
		return groupRoster{}, fmt.Errorf("%w: %d members", ErrBadGroupData, len(r.Members))
	}
	seen := map[identity.AccountID]bool{}
	for _, m := range r.Members {
		if _, err := m.Account.X25519(); err != nil || seen[m.Account] {
			return groupRoster{}, fmt.Errorf("%w: member list names a bad or repeated account", ErrBadGroupData)
		}
		seen[m.Account] = true
	}
	return r, nil
}

// parseInfo verifies and checks signed group info.
func parseInfo(id identity.AccountID, signed []byte) (groupInfo, error) {
	var in groupInfo
	if err := openGroupObject(labelGroupInfo, id, signed, &in); err != nil {
		return groupInfo{}, err
	}
	if len(in.Name) > MaxGroupNameLen || len(in.Description) > 2000 {
		return groupInfo{}, fmt.Errorf("%w: group info too long", ErrBadGroupData)
	}
	return in, nil
}

// newer reports whether a signed object (version v, bytes b) replaces the
// one held (version hv, bytes hb): the higher version wins, and between
// two of one version (two admins changing the group at once) the one
// whose SHA-256 is larger, so every member settles on the same one
// whichever it saw first. A replayed older copy never wins.
func newer(v uint64, b []byte, hv uint64, hb []byte) bool {
	if v != hv {
		return v > hv
	}
	x, y := sha256.Sum256(b), sha256.Sum256(hb)
	return bytes.Compare(x[:], y[:]) > 0
}

// groupAEAD seals under a group key: version 1 ‖ key ID length (1) ‖ key
// ID ‖ 24-byte nonce ‖ XChaCha20-Poly1305(plaintext, aad = label ‖ group
// ID ‖ key ID).
func groupSeal(label string, id identity.AccountID, k groupKey, plaintext []byte) []byte {
	a, _ := chacha20poly1305.NewX(k.Key[:])
	out := []byte{1, byte(len(k.ID))}
	out = append(out, k.ID...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	out = append(out, nonce...)
	return a.Seal(out, nonce, plaintext, append(append([]byte(label), id[:]...), k.ID...))
}

// groupKeyID returns the key ID a sealed group object names.
func groupKeyID(sealed []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != 1 || len(sealed) < 2+int(sealed[1])+chacha20poly1305.NonceSizeX+16 {
		return nil, fmt.Errorf("%w: malformed group ciphertext", ErrBadGroupData)
	}
	return sealed[2 : 2+sealed[1]], nil
}

// groupOpen opens a group object sealed under k.
func groupOpen(label string, id identity.AccountID, k groupKey, sealed []byte) ([]byte, error) {
	kid, err := groupKeyID(sealed)
	if err != nil {
		return nil, err
	}
	a, _ := chacha20poly1305.NewX(k.Key[:])
	rest := sealed[2+len(kid):]
	pt, err := a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], append(append([]byte(label), id[:]...), kid...))
	if err != nil {
		return nil, fmt.Errorf("%w: does not open under the group key", ErrBadGroupData)
	}
	return pt, nil
}

// A group message's plaintext: sender Ed25519 key (32) ‖ signed time
// (8, ms) ‖ padded Content ‖ signature (64) by the sender's account key
// over labelGroupMessage ‖ group ID ‖ key ID ‖ all that precedes it.
func sealGroupMessage(acct *identity.Account, id identity.AccountID, k groupKey, t int64, padded []byte) []byte {
	pk := acct.Ed25519Public().Raw32()
	inner := append(pk[:], binary.BigEndian.AppendUint64(nil, uint64(t))...)
	inner = append(inner, padded...)
	msg := append(append(append([]byte(labelGroupMessage), id[:]...), k.ID...), inner...)
	inner = append(inner, acct.Sign(msg)...)
	return groupSeal(labelGroupMessage, id, k, inner)
}

// openGroupMessage opens and verifies a group message and returns its
// sender, signed time (ms) and padded Content.
func openGroupMessage(id identity.AccountID, k groupKey, sealed []byte) (identity.AccountID, int64, []byte, error) {
	inner, err := groupOpen(labelGroupMessage, id, k, sealed)
	if err != nil {
		return identity.AccountID{}, 0, nil, err
	}
	if len(inner) < 32+8+64 {
		return identity.AccountID{}, 0, nil, fmt.Errorf("%w: short group message", ErrBadGroupData)
	}
	pk, _ := identity.Ed25519PublicKeyFromBytes(inner[:32])
	body, sig := inner[:len(inner)-64], inner[len(inner)-64:]
	msg := append(append(append([]byte(labelGroupMessage), id[:]...), k.ID...), body...)
	if !ed25519.Verify(ed25519.PublicKey(inner[:32]), msg, sig) {
		return identity.AccountID{}, 0, nil, fmt.Errorf("%w: bad sender signature", ErrBadGroupData)
	}
	sender, err := pk.AccountID()
	if err != nil {
		return identity.AccountID{}, 0, nil, fmt.Errorf("%w: sender key: %w", ErrBadGroupData, err)
	}
	return sender, int64(binary.BigEndian.Uint64(inner[32:40])), body[40:], nil
}

package snapshot

import (
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"filippo.io/edwards25519"

	"github.com/hushnet/hush/identity"
)

// X25519Key is an X25519 public key: the key a node's onion layers are
// encrypted to. In JSON it is 64 lowercase hex characters.
type X25519Key [32]byte

// String returns the key as lowercase hex.
func (k X25519Key) String() string { return hex.EncodeToString(k[:]) }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k X25519Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts exactly
// 64 lowercase hex characters and does not check that the key is a
// usable point; see [CheckX25519].
func (k *X25519Key) UnmarshalText(b []byte) error { return decodeHex("x25519 key", k[:], b) }

// ParseX25519Key parses 64 lowercase hex characters.
func ParseX25519Key(s string) (X25519Key, error) {
	var k X25519Key
	err := k.UnmarshalText([]byte(s))
	return k, err
}

// decodeHex insists on lowercase so that every key has exactly one
// spelling in JSON (DESIGN §3), which keeps string comparison of
// documents and logs meaningful.
func decodeHex(what string, dst, src []byte) error {
	if len(src) != 2*len(dst) {
		return fmt.Errorf("%s: want %d hex characters, got %d", what, 2*len(dst), len(src))
	}
	for _, c := range src {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%s: not lowercase hex", what)
		}
	}
	_, err := hex.Decode(dst, src)
	return err
}

// CheckEd25519 reports whether k decodes to an Ed25519 point that is not
// of small order. A small-order key would let anyone produce signatures
// that verify for it, so it is no identity at all.
func CheckEd25519(k identity.Ed25519PublicKey) error {
	p, err := new(edwards25519.Point).SetBytes(k.Bytes())
	if err != nil {
		return errors.New("not a valid ed25519 point")
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errors.New("ed25519 point of small order")
	}
	return nil
}

// probeKey is a fixed X25519 private key used only to detect low-order
// public keys: crypto/ecdh reports an error when the shared secret is
// all zeros, which happens exactly for low-order points.
var probeKey = sync.OnceValue(func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey([]byte("hush/1 x25519 low-order probe...")) // 32 bytes
	if err != nil {
		panic(err)
	}
	return k
})

// CheckX25519 reports whether k is a canonical X25519 public key
// (u < 2^255-19, top bit clear) that is not of low order. Canonical form
// matters because X25519 ignores the top bit and reduces u mod p, so a
// non-canonical key would be a second spelling of another node's key and
// slip past duplicate checks.
func CheckX25519(k X25519Key) error {
	if k[31]&0x80 != 0 || isAtLeastP(k) {
		return errors.New("non-canonical x25519 key")
	}
	pub, err := ecdh.X25519().NewPublicKey(k[:])
	if err != nil {
		return fmt.Errorf("x25519 key: %w", err)
	}
	if _, err := probeKey().ECDH(pub); err != nil {
		return errors.New("x25519 key of low order")
	}
	return nil
}

// isAtLeastP reports whether the little-endian value of k (top bit
// already known clear) is in [2^255-19, 2^255).
func isAtLeastP(k X25519Key) bool {
	if k[31] != 0x7f || k[0] < 0xed {
		return false
	}
	for _, b := range k[1:31] {
		if b != 0xff {
			return false
		}
	}
	return true
}

// Limits on the strings a snapshot or network file carries. They keep
// the canonical encoding's one-byte length prefixes sufficient.
const (
	MaxNetworkIDLen = 64
	MaxAddressLen   = 255
	MaxVersionLen   = 64
)

// CheckNetworkID reports whether id is a valid network ID: 1 to 64
// characters from [a-z0-9._-], starting with a letter or digit. The ID
// goes into every signed domain label, so it is kept to a plain,
// case-free alphabet that cannot be confused when printed.
func CheckNetworkID(id string) error {
	if id == "" || len(id) > MaxNetworkIDLen {
		return fmt.Errorf("network id must be 1 to %d characters", MaxNetworkIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '-' || c == '.' || c == '_') && i > 0:
		default:
			return fmt.Errorf("network id %q: only a-z, 0-9, '.', '-', '_' allowed, starting with a letter or digit", id)
		}
	}
	return nil
}

// CheckAddress reports whether addr is a valid advertised address:
// host:port with a port in 1..65535 written without leading zeros, and
// a host that is either an IP address in its canonical text form
// (IPv6 in brackets) or a lowercase DNS name. Canonical spellings make
// the duplicate-address check meaningful: "127.0.0.1:1" and
// "127.000.000.001:01" cannot both appear.
func CheckAddress(addr string) error {
	if len(addr) > MaxAddressLen {
		return fmt.Errorf("address longer than %d bytes", MaxAddressLen)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || strconv.FormatUint(p, 10) != port {
		return fmt.Errorf("address %q: port must be 1 to 65535", addr)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" || ip.Is4In6() || ip.String() != host {
			return fmt.Errorf("address %q: ip address not in canonical form", addr)
		}
		return nil
	}
	if !isDNSName(host) {
		return fmt.Errorf("address %q: host is neither an ip address nor a lowercase dns name", addr)
	}
	return nil
}

// isDNSName accepts lowercase LDH labels of 1 to 63 characters that do
// not start or end with a hyphen, and rejects all-numeric names, which
// would be malformed IPv4 addresses.
func isDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	label, allDigits := 0, true
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z':
			allDigits = false
			label++
		case '0' <= c && c <= '9':
			label++
		case c == '-':
			allDigits = false
			if label == 0 || i+1 == len(h) || h[i+1] == '.' {
				return false
			}
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	return label > 0 && !allDigits
}

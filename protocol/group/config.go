package group

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/identity"
)

const (
	configLabel = "hush/1 group config"
	padBlock    = 256
	// configFixed is a sealed config body's size without its ciphertext.
	configFixed = 8 + KeyIDSize + chacha20poly1305.NonceSizeX
)

// Config is an info or member config as stored (docs/groups.md §5): a
// signed object whose body is sealed under one generation of the group
// key. Nodes never open it.
type Config struct {
	Object
	Generation uint64 // of the key it is sealed under
	KeyID      KeyID
	nonce      []byte
	ciphertext []byte
	aad        []byte
}

// SealConfig seals payload (an [Info] or [Members] encoding) under k and
// signs it: kind is KindInfo or KindMembers.
func SealConfig(a *Admin, kind Kind, version uint64, created time.Time, k Key, payload []byte) ([]byte, error) {
	if kind != KindInfo && kind != KindMembers {
		return nil, fmt.Errorf("%w: object type %d is not a config", ErrMalformed, kind)
	}
	o := &Object{Kind: kind, Group: a.id, Version: version, Created: created}
	plain := pad(payload)
	id := k.ID(a.id)
	body := make([]byte, 0, configFixed+len(plain)+chacha20poly1305.Overhead)
	body = binary.BigEndian.AppendUint64(body, k.Generation)
	body = append(body, id[:]...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	body = append(body, nonce...)
	// The AAD is the header as signed, with the body length the sealed
	// body will have: a ciphertext moved to another object fails to open.
	o.Body = make([]byte, configFixed+len(plain)+chacha20poly1305.Overhead)
	aad := append(o.header(), body[:8+KeyIDSize]...)
	aead, _ := chacha20poly1305.NewX(k.derive(a.id, configLabel))
	body = aead.Seal(body, nonce, plain, aad)
	o.Body = body
	return o.sign(a)
}

// ParseConfig parses and verifies an info or member config of group g,
// without opening it.
func ParseConfig(b []byte, g ID) (*Config, error) {
	o, err := ParseObject(b, g)
	if err != nil {
		return nil, err
	}
	if o.Kind != KindInfo && o.Kind != KindMembers {
		return nil, fmt.Errorf("%w: object type %d is not a config", ErrMalformed, o.Kind)
	}
	if len(o.Body) < configFixed+chacha20poly1305.Overhead+padBlock {
		return nil, fmt.Errorf("%w: config body of %d bytes", ErrMalformed, len(o.Body))
	}
	c := &Config{Object: *o}
	c.Generation = binary.BigEndian.Uint64(o.Body)
	copy(c.KeyID[:], o.Body[8:])
	c.nonce = o.Body[8+KeyIDSize : configFixed]
	c.ciphertext = o.Body[configFixed:]
	c.aad = append(o.header(), o.Body[:8+KeyIDSize]...)
	return c, nil
}

// Open decrypts the config with k (whose generation and ID must match)
// and returns its payload, for [ParseInfo] or [ParseMembers].
func (c *Config) Open(k Key) ([]byte, error) {
	if k.Generation != c.Generation || k.ID(c.Group) != c.KeyID {
		return nil, fmt.Errorf("%w: config is sealed under generation %d", ErrDecrypt, c.Generation)
	}
	aead, _ := chacha20poly1305.NewX(k.derive(c.Group, configLabel))
	plain, err := aead.Open(nil, c.nonce, c.ciphertext, c.aad)
	if err != nil {
		return nil, fmt.Errorf("%w: config", ErrDecrypt)
	}
	return unpad(plain)
}

// Newer reports whether c wins over d by the last-writer-wins rule of
// info configs (docs/groups.md §5.3): higher version, then the larger
// signature.
func (c *Config) Newer(d *Config) bool {
	if c.Version != d.Version {
		return c.Version > d.Version
	}
	return bytes.Compare(c.Sig[:], d.Sig[:]) > 0
}

// pad returns len (4) ‖ payload ‖ zeros to a multiple of padBlock.
func pad(payload []byte) []byte {
	n := 4 + len(payload)
	n += (padBlock - n%padBlock) % padBlock
	b := make([]byte, n)
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	return b
}

func unpad(b []byte) ([]byte, error) {
	if len(b) < 4 || len(b)%padBlock != 0 {
		return nil, fmt.Errorf("%w: padding", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) || len(b)-4-int(n) >= padBlock {
		return nil, fmt.Errorf("%w: padded length %d", ErrMalformed, n)
	}
	for _, z := range b[4+n:] {
		if z != 0 {
			return nil, fmt.Errorf("%w: padding not zero", ErrMalformed)
		}
	}
	return b[4 : 4+n], nil
}

// DisappearMode is a group's disappearing-messages setting.
type DisappearMode uint8

// Disappearing modes.
const (
	DisappearOff       DisappearMode = 0
	DisappearAfterSend DisappearMode = 1
	DisappearAfterRead DisappearMode = 2
)

// Limits of an info payload.
const (
	MaxNameBytes        = 100
	MaxDescriptionBytes = 2000
	MinTimer            = 30 * time.Second
	MaxTimer            = 14 * 24 * time.Hour
)

const infoDeleted = 0x01

// Info is the group's info payload.
type Info struct {
	Name        string
	Description string
	Disappear   DisappearMode
	Timer       time.Duration // whole seconds; 0 iff Disappear is off
	Deleted     bool          // the admin deleted the group
}

func (i *Info) check() error {
	switch {
	case len(i.Name) == 0 || len(i.Name) > MaxNameBytes || !utf8.ValidString(i.Name):
		return fmt.Errorf("%w: info: name must be 1…%d bytes of UTF-8", ErrMalformed, MaxNameBytes)
	case len(i.Description) > MaxDescriptionBytes || !utf8.ValidString(i.Description):
		return fmt.Errorf("%w: info: description must be at most %d bytes of UTF-8", ErrMalformed, MaxDescriptionBytes)
	case i.Disappear > DisappearAfterRead:
		return fmt.Errorf("%w: info: disappearing mode %d", ErrMalformed, i.Disappear)
	case (i.Disappear == DisappearOff) != (i.Timer == 0):
		return fmt.Errorf("%w: info: a timer goes with a disappearing mode", ErrMalformed)
	case i.Timer != 0 && (i.Timer < MinTimer || i.Timer > MaxTimer || i.Timer%time.Second != 0):
		return fmt.Errorf("%w: info: timer %s outside %s…%s whole seconds", ErrMalformed, i.Timer, MinTimer, MaxTimer)
	}
	return nil
}

// Marshal returns the info payload.
func (i *Info) Marshal() ([]byte, error) {
	if err := i.check(); err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(i.Name)))
	b = append(b, i.Name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(i.Description)))
	b = append(b, i.Description...)
	b = append(b, byte(i.Disappear))
	b = binary.BigEndian.AppendUint32(b, uint32(i.Timer/time.Second))
	var flags byte
	if i.Deleted {
		flags |= infoDeleted
	}
	return append(b, flags), nil
}

// ParseInfo parses an info payload (from [Config.Open]).
func ParseInfo(b []byte) (*Info, error) {
	r := reader{b: b}
	i := &Info{}
	i.Name = string(r.bytes16())
	i.Description = string(r.bytes16())
	i.Disappear = DisappearMode(r.u8())
	i.Timer = time.Duration(r.u32()) * time.Second
	flags := r.u8()
	if err := r.done("info"); err != nil {
		return nil, err
	}
	if flags&^infoDeleted != 0 {
		return nil, fmt.Errorf("%w: info: flags %#02x", ErrMalformed, flags)
	}
	i.Deleted = flags&infoDeleted != 0
	if err := i.check(); err != nil {
		return nil, err
	}
	return i, nil
}

// Role is a member's role.
type Role uint8

// Roles.
const (
	RoleMember Role = 1
	RoleAdmin  Role = 2
)

// State is a member's state. Removed and Left are tombstones.
type State uint8

// States, in the order the merge rule prefers on a tie.
const (
	StateInvited State = 1
	StateJoined  State = 2
	StateRemoved State = 3
	StateLeft    State = 4
)

// Current reports whether a member in state s belongs to the group now.
func (s State) Current() bool { return s == StateInvited || s == StateJoined }

// Entry is one member of a member config.
type Entry struct {
	Account identity.AccountID
	Role    Role
	State   State
	Changed uint64 // Lamport counter of the entry's last change
}

const entrySize = identity.AccountIDSize + 1 + 1 + 8

// Members is the member config's payload: entries ascending by Account ID,
// and the admin section (sealed; see [SealAdminSection]).
type Members struct {
	Entries      []Entry
	AdminSection []byte
}

func (m *Members) check() error {
	if len(m.Entries) > MaxEntries {
		return fmt.Errorf("%w: %d member entries, at most %d", ErrTooManyMembers, len(m.Entries), MaxEntries)
	}
	current := 0
	for i, e := range m.Entries {
		if i > 0 && bytes.Compare(m.Entries[i-1].Account[:], e.Account[:]) >= 0 {
			return fmt.Errorf("%w: members not strictly ascending", ErrMalformed)
		}
		if e.Account[0] != identity.AccountPrefix {
			return fmt.Errorf("%w: member %d is not an 05 Account ID", ErrMalformed, i)
		}
		if e.Role != RoleMember && e.Role != RoleAdmin {
			return fmt.Errorf("%w: member %d: role %d", ErrMalformed, i, e.Role)
		}
		if e.State < StateInvited || e.State > StateLeft {
			return fmt.Errorf("%w: member %d: state %d", ErrMalformed, i, e.State)
		}
		if e.State.Current() {
			current++
		}
	}
	if current > MaxMembers {
		return fmt.Errorf("%w: %d current members, at most %d", ErrTooManyMembers, current, MaxMembers)
	}
	return nil
}

// Marshal returns the member payload.
func (m *Members) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(m.Entries)))
	for _, e := range m.Entries {
		b = append(b, e.Account[:]...)
		b = append(b, byte(e.Role), byte(e.State))
		b = binary.BigEndian.AppendUint64(b, e.Changed)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.AdminSection)))
	return append(b, m.AdminSection...), nil
}

// ParseMembers parses a member payload (from [Config.Open]). Account IDs
// are checked for form (05 prefix), not as curve points: members' clients
// check a sender's ID when a message names it.
func ParseMembers(b []byte) (*Members, error) {
	r := reader{b: b}
	n := int(r.u16())
	if n > MaxEntries {
		return nil, fmt.Errorf("%w: %d member entries, at most %d", ErrTooManyMembers, n, MaxEntries)
	}
	m := &Members{}
	if n > 0 {
		m.Entries = make([]Entry, 0, n)
	}
	for range n {
		var e Entry
		copy(e.Account[:], r.take(identity.AccountIDSize))
		e.Role = Role(r.u8())
		e.State = State(r.u8())
		e.Changed = r.u64()
		if r.err != nil {
			break
		}
		m.Entries = append(m.Entries, e)
	}
	m.AdminSection = r.bytes32()
	if err := r.done("members"); err != nil {
		return nil, err
	}
	if len(m.AdminSection) == 0 {
		m.AdminSection = nil
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// wins reports whether e beats f for the same account (docs/groups.md
// §5.4): higher Changed, then higher State, then higher Role.
func (e Entry) wins(f Entry) bool {
	if e.Changed != f.Changed {
		return e.Changed > f.Changed
	}
	if e.State != f.State {
		return e.State > f.State
	}
	return e.Role > f.Role
}

// MergeEntries merges member lists by the per-entry rule: commutative,
// associative and idempotent, so every client that has seen the same
// lists holds the same result, whatever order they came in.
func MergeEntries(lists ...[]Entry) []Entry {
	byID := make(map[identity.AccountID]Entry)
	for _, l := range lists {
		for _, e := range l {
			if cur, ok := byID[e.Account]; !ok || e.wins(cur) {
				byID[e.Account] = e
			}
		}
	}
	out := make([]Entry, 0, len(byID))
	for _, e := range byID {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	return out
}

// MaxChanged returns the highest Changed of entries: an admin's next
// change uses it plus one.
func MaxChanged(entries []Entry) uint64 {
	var m uint64
	for _, e := range entries {
		m = max(m, e.Changed)
	}
	return m
}

// MemberKey maps a member's account to its member key, in the admin
// section.
type MemberKey struct {
	Account identity.AccountID
	Key     identity.Ed25519PublicKey
}

const adminAAD = "member keys"

// SealAdminSection seals the member-key map under the admin key (derived
// from the group seed: only admins open it).
func SealAdminSection(a *Admin, keys []MemberKey) ([]byte, error) {
	if len(keys) > MaxEntries {
		return nil, fmt.Errorf("%w: %d member keys", ErrTooManyMembers, len(keys))
	}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(x, y MemberKey) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	plain := binary.BigEndian.AppendUint16(nil, uint16(len(keys)))
	for _, k := range keys {
		raw := k.Key.Raw32()
		plain = append(append(plain, k.Account[:]...), raw[:]...)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	aead, _ := chacha20poly1305.NewX(a.adminKey())
	return aead.Seal(nonce, nonce, plain, append(a.id[:], adminAAD...)), nil
}

// OpenAdminSection opens an admin section with the group seed.
func OpenAdminSection(a *Admin, sec []byte) ([]MemberKey, error) {
	if len(sec) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: admin section too short", ErrMalformed)
	}
	aead, _ := chacha20poly1305.NewX(a.adminKey())
	nonce := sec[:chacha20poly1305.NonceSizeX]
	plain, err := aead.Open(nil, nonce, sec[len(nonce):], append(a.id[:], adminAAD...))
	if err != nil {
		return nil, fmt.Errorf("%w: admin section", ErrDecrypt)
	}
	r := reader{b: plain}
	n := int(r.u16())
	if n > MaxEntries {
		return nil, fmt.Errorf("%w: %d member keys", ErrTooManyMembers, n)
	}
	keys := make([]MemberKey, 0, min(n, len(plain)/65))
	for range n {
		var k MemberKey
		copy(k.Account[:], r.take(identity.AccountIDSize))
		k.Key, _ = identity.Ed25519PublicKeyFromBytes(r.take(32))
		if r.err != nil {
			break
		}
		keys = append(keys, k)
	}
	if err := r.done("admin section"); err != nil {
		return nil, err
	}
	return keys, nil
}

// reader reads big-endian fields and remembers the first shortfall.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		if r.err == nil {
			r.err = fmt.Errorf("%w: cut short", ErrMalformed)
		}
		r.b = nil
		return make([]byte, max(n, 0))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *reader) u8() uint8       { return r.take(1)[0] }
func (r *reader) u16() uint16     { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32     { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64     { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) bytes16() []byte { return r.take(int(r.u16())) }
func (r *reader) bytes32() []byte {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)) {
		r.take(len(r.b) + 1)
		return nil
	}
	return r.take(int(n))
}

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, what, len(r.b))
	}
	return nil
}

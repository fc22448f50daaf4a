package group

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

const (
	inviteVersion = 0x01
	inviteAdmin   = 0x01
)

// Invite is what an admin sends an invitee (sealed 1:1 with protocol v2):
// the group, the invitee's member key seed and credential, the group's
// name, and for an admin the group seed (docs/groups.md §8).
type Invite struct {
	Group      ID
	MemberSeed [SeedSize]byte
	Credential Credential
	Name       string
	GroupSeed  []byte // nil unless the invitee becomes an admin
}

// Marshal returns the invitation's bytes.
func (v *Invite) Marshal() ([]byte, error) {
	if len(v.Name) == 0 || len(v.Name) > MaxNameBytes || !utf8.ValidString(v.Name) {
		return nil, fmt.Errorf("%w: invite: name must be 1…%d bytes of UTF-8", ErrMalformed, MaxNameBytes)
	}
	if v.GroupSeed != nil && len(v.GroupSeed) != SeedSize {
		return nil, fmt.Errorf("%w: invite: group seed of %d bytes", ErrMalformed, len(v.GroupSeed))
	}
	b := []byte{inviteVersion}
	b = append(b, v.Group[:]...)
	b = append(b, v.MemberSeed[:]...)
	b = append(b, v.Credential.Marshal()...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v.Name)))
	b = append(b, v.Name...)
	if v.GroupSeed == nil {
		return append(b, 0), nil
	}
	return append(append(b, inviteAdmin), v.GroupSeed...), nil
}

// ParseInvite parses an invitation and checks that it hangs together: the
// group ID is valid, the credential is the group's and names the seed's
// key, and an admin's group seed is the group's.
func ParseInvite(b []byte) (*Invite, error) {
	r := reader{b: b}
	if r.u8() != inviteVersion {
		return nil, fmt.Errorf("%w: invite: unknown version", ErrMalformed)
	}
	v := &Invite{}
	id, err := IDFromBytes(r.take(IDSize))
	if err != nil {
		return nil, fmt.Errorf("%w: invite: %v", ErrMalformed, err)
	}
	v.Group = id
	copy(v.MemberSeed[:], r.take(SeedSize))
	cred := r.take(CredentialSize)
	v.Name = string(r.bytes16())
	flags := r.u8()
	if flags == inviteAdmin {
		v.GroupSeed = append([]byte(nil), r.take(SeedSize)...)
	} else if flags != 0 {
		return nil, fmt.Errorf("%w: invite: flags %#02x", ErrMalformed, flags)
	}
	if err := r.done("invite"); err != nil {
		return nil, err
	}
	if len(v.Name) == 0 || len(v.Name) > MaxNameBytes || !utf8.ValidString(v.Name) {
		return nil, fmt.Errorf("%w: invite: name must be 1…%d bytes of UTF-8", ErrMalformed, MaxNameBytes)
	}
	if v.Credential, err = ParseCredential(cred); err != nil {
		return nil, err
	}
	if _, err := NewMember(v.Group, v.MemberSeed[:], v.Credential); err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	if v.GroupSeed != nil {
		a, _ := NewAdmin(v.GroupSeed)
		if a.Group() != v.Group {
			return nil, fmt.Errorf("%w: invite: the group seed is another group's", ErrMalformed)
		}
	}
	return v, nil
}

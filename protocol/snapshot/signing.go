package snapshot

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
)

// domainLabel starts every signed snapshot message, separating these
// signatures from anything else a registry host's key signs.
const domainLabel = "hush/1 snapshot"

// MaxClockSkew is how far in the future a snapshot's issue time may lie
// by the verifier's clock before [Verify] rejects it with
// [ErrNotYetValid]. Expiry gets no such allowance: the registry is
// expected to set expiry comfortably beyond the next epoch.
const MaxClockSkew = 5 * time.Minute

// SignedBytes returns the canonical message registry hosts sign for s:
//
//	"hush/1 snapshot"
//	u8 len ‖ network ID
//	u64 epoch ‖ i64 issued_at_ms ‖ i64 expires_at_ms
//	u32 swarm_min_size ‖ u32 swarm_ideal_size
//	u32 node count, then per node in ascending Ed25519 key order:
//	  [32] ed25519 ‖ [32] x25519 ‖ u8 len ‖ address ‖ u8 len ‖ version ‖ u64 swarm ID
//
// Integers are big-endian; an unassigned node's swarm ID is [Unassigned].
// Every variable-length field is length-prefixed, so distinct snapshots
// never share a message. Signatures are not covered. It fails if s is
// not a valid snapshot.
func SignedBytes(s *Snapshot) ([]byte, error) {
	c := s.sortedCopy()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c.signedBytes(), nil
}

// signedBytes assumes s is valid and sorted.
func (s *Snapshot) signedBytes() []byte {
	size := len(domainLabel) + 1 + len(s.NetworkID) + 8*3 + 4*3
	for i := range s.Nodes {
		size += 64 + 2 + len(s.Nodes[i].Address) + len(s.Nodes[i].Version) + 8
	}
	b := make([]byte, 0, size)
	b = append(b, domainLabel...)
	b = append(b, byte(len(s.NetworkID)))
	b = append(b, s.NetworkID...)
	b = binary.BigEndian.AppendUint64(b, s.Epoch)
	b = binary.BigEndian.AppendUint64(b, uint64(s.IssuedAt.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.ExpiresAt.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(s.SwarmMinSize))
	b = binary.BigEndian.AppendUint32(b, uint32(s.SwarmIdealSize))
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Nodes)))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		b = append(b, n.Ed25519.Bytes()...)
		b = append(b, n.X25519[:]...)
		b = append(b, byte(len(n.Address)))
		b = append(b, n.Address...)
		b = append(b, byte(len(n.Version)))
		b = append(b, n.Version...)
		b = binary.BigEndian.AppendUint64(b, n.Swarm)
	}
	return b
}

// Sign adds host's signature to s, replacing an earlier one by the same
// host. It sorts s.Nodes and s.Signatures into canonical order first and
// fails if s is not a valid snapshot.
func Sign(s *Snapshot, host ed25519.PrivateKey) error {
	if len(host) != ed25519.PrivateKeySize {
		return errors.New("snapshot: invalid ed25519 private key")
	}
	s.sortInPlace()
	if err := s.validate(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var hs HostSignature
	hs.Host = identity.Ed25519PublicKeyOf(host)
	copy(hs.Signature[:], ed25519.Sign(host, s.signedBytes()))
	i, found := slices.BinarySearchFunc(s.Signatures, hs.Host, func(e HostSignature, k identity.Ed25519PublicKey) int {
		return e.Host.Compare(k)
	})
	if found {
		s.Signatures[i] = hs
	} else {
		s.Signatures = slices.Insert(s.Signatures, i, hs)
	}
	return nil
}

// Verify decodes raw and accepts it only if it is a well-formed snapshot
// of networkID, signed by a strict majority of the distinct keys in
// hosts (the registry hosts from the network file), with an epoch of at
// least minEpoch (the newest the caller has accepted; an equal epoch is
// accepted again), issued no more than [MaxClockSkew] after now and not
// expired at now.
//
// The checks run in that order (except that the costly per-node key
// checks of [Decode] wait until the signatures have been verified), so
// an unauthenticated snapshot is never reported as a rollback or as
// expired. The error wraps one of
// [ErrMalformed], [ErrWrongNetwork], [ErrBadSignature],
// [ErrTooFewSignatures], [ErrRollback], [ErrNotYetValid] or [ErrExpired];
// a bad hosts list or networkID is reported with none of them.
func Verify(raw []byte, hosts []ed25519.PublicKey, networkID string, now time.Time, minEpoch uint64) (*Snapshot, error) {
	if err := CheckNetworkID(networkID); err != nil {
		return nil, fmt.Errorf("snapshot: verify: %w", err)
	}
	listed := make(map[identity.Ed25519PublicKey]bool, len(hosts))
	for i, h := range hosts {
		k, err := identity.Ed25519PublicKeyFromBytes(h)
		if err != nil {
			return nil, fmt.Errorf("snapshot: verify: registry host %d: invalid ed25519 public key", i)
		}
		listed[k] = true
	}
	if len(listed) == 0 {
		return nil, errors.New("snapshot: verify: no registry hosts given")
	}
	s, err := decodeStructure(raw)
	if err != nil {
		return nil, err
	}
	if s.NetworkID != networkID {
		return nil, fmt.Errorf("%w: snapshot names %q, want %q", ErrWrongNetwork, s.NetworkID, networkID)
	}
	msg := s.signedBytes()
	valid := 0
	for _, sg := range s.Signatures {
		if !listed[sg.Host] {
			continue
		}
		if !ed25519.Verify(sg.Host.Bytes(), msg, sg.Signature[:]) {
			return nil, fmt.Errorf("%w: signature by registry host %s does not verify", ErrBadSignature, sg.Host)
		}
		valid++
	}
	if need := len(listed)/2 + 1; valid < need {
		return nil, fmt.Errorf("%w: %d of %d registry hosts signed, need %d", ErrTooFewSignatures, valid, len(listed), need)
	}
	if err := s.validateKeys(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if s.Epoch < minEpoch {
		return nil, fmt.Errorf("%w: epoch %d is older than epoch %d already accepted", ErrRollback, s.Epoch, minEpoch)
	}
	if s.IssuedAt.After(now.Add(MaxClockSkew)) {
		return nil, fmt.Errorf("%w: issued at %s, %s ahead of local time %s (allowed skew %s)", ErrNotYetValid,
			s.IssuedAt.Format(time.RFC3339), s.IssuedAt.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	if !now.Before(s.ExpiresAt) {
		return nil, fmt.Errorf("%w: epoch %d expired at %s, local time is %s", ErrExpired,
			s.Epoch, s.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return s, nil
}

package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// sealer is the seam between the outbox and encryption. Between hush
// clients it is protocol v2 ([v2]); v1 stays for tests and tooling.
type sealer interface {
	// seal encrypts padded Content to account to and returns the envelope
	// to store, with the coarse timestamp coarse (taken when the Content
	// was queued). When to's keys are not at hand (v2: no valid device
	// record), it returns an error wrapping [ErrWaitingForKeys] and the
	// outbox keeps the Content for a later attempt.
	seal(ctx context.Context, to identity.AccountID, padded []byte, coarse uint64) (sealedEnvelope, error)
	// open decrypts and authenticates a sealed Content of type typ and
	// returns the padded plaintext, its sender, and what the seal proves
	// beyond them (nothing for v1).
	open(typ envelope.Envelope_Type, sealed []byte) (padded []byte, sender identity.AccountID, meta sealMeta, err error)
}

// sealedEnvelope is an envelope a sealer made.
type sealedEnvelope struct {
	// data is the envelope's bytes, the data stored in the swarm; nil
	// when there is no device to seal to (a sync copy while no device of
	// the account has a record), and nothing is stored.
	data []byte
	// here reports whether this device is among those data opens for: a
	// v2 sync copy is sealed to the account's other devices when it has
	// any.
	here bool
}

// sealMeta is what a seal proves besides the sender: the time the sender
// signed (the one time used for the message everywhere: order, timers,
// receipts), and the signed part itself (sealv2.Meta.Signed), which a
// history share carries so a new device can check the author (history.go).
// Both are zero for v1, which signs neither.
type sealMeta struct {
	SignedAt time.Time
	Signed   []byte
}

// ErrV1Refused: a fetched message is sealed with protocol v1, which hush
// clients never send each other (docs/protocol-v2.md §10); it is dropped,
// counted and reported, since it was injected, replayed or downgraded.
var ErrV1Refused = errors.New("protocol v1 message refused: hush clients use protocol v2 only")

// v1 seals with crypto/sealv1 (Session-compatible, no forward secrecy).
type v1 struct{ acct *identity.Account }

func (s v1) seal(_ context.Context, to identity.AccountID, padded []byte, coarse uint64) (sealedEnvelope, error) {
	ct, err := sealv1.Seal(s.acct, to, padded)
	if err != nil {
		return sealedEnvelope{}, err
	}
	data, err := marshalEnvelope(envelope.Envelope_TYPE_SESSION_MESSAGE_V1, coarse, ct)
	return sealedEnvelope{data: data, here: true}, err
}

func (s v1) open(typ envelope.Envelope_Type, sealed []byte) ([]byte, identity.AccountID, sealMeta, error) {
	if typ != envelope.Envelope_TYPE_SESSION_MESSAGE_V1 {
		return nil, identity.AccountID{}, sealMeta{}, fmt.Errorf("envelope type %v is not supported yet", typ)
	}
	pt, _, sender, err := sealv1.Open(s.acct, sealed)
	return pt, sender, sealMeta{}, err
}

// v2 seals with crypto/sealv2 to the destination's verified device
// records, which it fetches from the network. A destination without valid
// records makes the item wait in the outbox, never a v1 message.
type v2 struct{ c *Client }

func (s *v2) seal(ctx context.Context, to identity.AccountID, padded []byte, coarse uint64) (sealedEnvelope, error) {
	c := s.c
	recs, none, err := c.recipients(ctx, to) // v2keys.go; wraps ErrWaitingForKeys
	if err != nil {
		return sealedEnvelope{}, err
	}
	if none {
		return sealedEnvelope{}, nil
	}
	// Sealed at a time later than the message's own (signTime, as
	// queueData's), so the recipient's clamp to the sealed time
	// (verifyTime) cannot make two messages' times equal.
	ct, err := sealv2.Seal(c.acct, to, devicerecord.Bundles(recs), c.signTime(), padded)
	if err != nil {
		// Records that verified but do not seal: the next attempt
		// fetches them afresh rather than trying the same ones.
		cl := prekey.Inbox
		if to.Equal(c.acct.ID()) {
			cl = prekey.Sync
		}
		c.forgetRecords(recordCacheKey{to, cl})
		return sealedEnvelope{}, err
	}
	data, err := marshalEnvelope(envelope.Envelope_TYPE_SESSION_MESSAGE_V2, coarse, ct)
	if err != nil {
		return sealedEnvelope{}, fmt.Errorf("sealed for %d devices: %w", len(recs), err)
	}
	here := slices.ContainsFunc(recs, func(r *devicerecord.Record) bool { return r.DeviceID == c.device.ID })
	return sealedEnvelope{data: data, here: here}, nil
}

func (s *v2) open(typ envelope.Envelope_Type, sealed []byte) ([]byte, identity.AccountID, sealMeta, error) {
	c := s.c
	fail := func(err error) ([]byte, identity.AccountID, sealMeta, error) {
		return nil, identity.AccountID{}, sealMeta{}, err
	}
	switch typ {
	case envelope.Envelope_TYPE_SESSION_MESSAGE_V1:
		return fail(ErrV1Refused)
	case envelope.Envelope_TYPE_SESSION_MESSAGE_V2:
	default:
		return fail(fmt.Errorf("envelope type %v is not supported", typ))
	}
	if len(sealed) < 2 || !prekey.Class(sealed[1]).Valid() {
		return fail(sealv2.ErrMalformed)
	}
	dev, err := c.thisDevice()
	if err != nil {
		return fail(err)
	}
	keys, err := c.prekeys(dev.ID, prekey.Class(sealed[1]))
	if err != nil {
		return fail(err)
	}
	// Refusing a message as past its key's deadline destroys it, so that
	// check takes the earlier of our clock and the network's; a signed
	// time refused as in the future is checked again with the later one,
	// so neither clock being behind refuses an honest message.
	pt, sender, meta, err := sealv2.Open(c.acct.ID(), keys, sealed, c.safeNow())
	if errors.Is(err, sealv2.ErrTimestamp) {
		pt, sender, meta, err = sealv2.Open(c.acct.ID(), keys, sealed, c.netc.Latest())
	}
	if err != nil {
		return fail(err)
	}
	return pt, sender, sealMeta{SignedAt: meta.SignedAt, Signed: meta.Signed}, nil
}

// marshalEnvelope returns the envelope of a Content sealed as typ (or
// unsealed, in the outbox), or [ErrTooLarge] when it does not fit a swarm
// message.
func marshalEnvelope(typ envelope.Envelope_Type, coarse uint64, content []byte) ([]byte, error) {
	data, err := envelope.MarshalEnvelope(&envelope.Envelope{Type: typ, CoarseTimestampS: coarse, Content: content})
	if err != nil {
		return nil, sizeErr(err)
	}
	if len(data) > rpc.MaxDataSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), rpc.MaxDataSize)
	}
	return data, nil
}

package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// sealer is the seam between messages and their encryption. Between hush
// clients it is protocol v2 ([v2]); v1 stays for tests and tooling.
type sealer interface {
	// seal encrypts padded Content bytes to account to and returns the
	// envelope type that names the format.
	seal(to identity.AccountID, padded []byte) (envelope.Envelope_Type, []byte, error)
	// open decrypts and authenticates a sealed Content of type typ and
	// returns the padded plaintext, its sender, and what the seal proves
	// beyond them (nothing for v1).
	open(typ envelope.Envelope_Type, sealed []byte) (padded []byte, sender identity.AccountID, meta sealMeta, err error)
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

func (s v1) seal(to identity.AccountID, padded []byte) (envelope.Envelope_Type, []byte, error) {
	ct, err := sealv1.Seal(s.acct, to, padded)
	return envelope.Envelope_TYPE_SESSION_MESSAGE_V1, ct, err
}

func (s v1) open(typ envelope.Envelope_Type, sealed []byte) ([]byte, identity.AccountID, sealMeta, error) {
	if typ != envelope.Envelope_TYPE_SESSION_MESSAGE_V1 {
		return nil, identity.AccountID{}, sealMeta{}, fmt.Errorf("envelope type %v is not supported yet", typ)
	}
	pt, _, sender, err := sealv1.Open(s.acct, sealed)
	return pt, sender, sealMeta{}, err
}

// v2 seals with crypto/sealv2 to the destination's verified device
// records. Sealing needs those records, fetched from the network, and a
// message may be queued while offline; so seal only marks the Content as
// pending (pendingV2 ‖ padded, inside the outbox, which is sealed at rest)
// and the outbox seals it for real when it sends it ([Client.finalize]).
// A destination without valid records makes the item wait, retried by the
// outbox, never a v1 message.
type v2 struct{ c *Client }

// pendingV2 starts the content of an envelope not yet sealed. It never
// leaves the device: finalize replaces it before the store.
var pendingV2 = []byte("hush/1 pending v2\x00")

func (s *v2) seal(_ identity.AccountID, padded []byte) (envelope.Envelope_Type, []byte, error) {
	return envelope.Envelope_TYPE_SESSION_MESSAGE_V2, append(bytes.Clone(pendingV2), padded...), nil
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

// finalize returns the bytes to store for outbox item it: the payload as
// queued, or, for a pending v2 envelope, the envelope sealed now to the
// destination's devices. It returns nil bytes for a sync copy when the
// account has no other device (nothing to store), and an error wrapping
// [ErrWaitingForKeys] when the destination has no valid record.
func (c *Client) finalize(ctx context.Context, it clientdb.OutboxItem) ([]byte, error) {
	env, err := envelope.UnmarshalEnvelope(it.Payload)
	if err != nil || env.GetType() != envelope.Envelope_TYPE_SESSION_MESSAGE_V2 || !bytes.HasPrefix(env.GetContent(), pendingV2) {
		return it.Payload, nil
	}
	padded := env.GetContent()[len(pendingV2):]
	recs, none, err := c.recipients(ctx, it.To)
	if err != nil {
		return nil, err
	}
	if none {
		return nil, nil
	}
	sealed, err := sealv2.Seal(c.acct, it.To, devicerecord.Bundles(recs), c.now(), padded)
	if err != nil {
		return nil, err
	}
	data, err := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, CoarseTimestampS: env.GetCoarseTimestampS(), Content: sealed,
	})
	if err != nil {
		return nil, sizeErr(err)
	}
	if len(data) > rpc.MaxDataSize {
		return nil, fmt.Errorf("%w: %d bytes for %d devices, at most %d", ErrTooLarge, len(data), len(recs), rpc.MaxDataSize)
	}
	if it.To.Equal(c.acct.ID()) && it.Namespace == int(NamespaceSync) {
		h := rpc.MessageHash(it.To, int32(it.Namespace), data)
		if !slices.ContainsFunc(recs, func(r *devicerecord.Record) bool { return r.DeviceID == c.device.ID }) {
			// Our own sync copy comes back to this device's polls but is
			// not sealed to it: seen already, not a dropped message.
			if err := c.db.MarkSeen(c.clock().Add(it.TTL+rpc.SigTolerance), h); err != nil {
				return nil, err
			}
		}
		if it.Message != 0 {
			// The hash Queue recorded was the pending envelope's; this one
			// is what a chat delete must remove.
			c.db.AddSwarmHashes(it.Message, h)
		}
	}
	return data, nil
}

// knownHashes returns the swarm hash of data stored for account in ns, or
// none for a pending v2 envelope, whose bytes change when it is sealed.
func knownHashes(account identity.AccountID, ns int32, data []byte) []string {
	if env, err := envelope.UnmarshalEnvelope(data); err == nil && bytes.HasPrefix(env.GetContent(), pendingV2) {
		return nil
	}
	return []string{rpc.MessageHash(account, ns, data)}
}

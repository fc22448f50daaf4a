package client

import (
	"fmt"

	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
)

// sealer is the seam between messages and their encryption: protocol v1
// now; protocol v2 (crypto/sealv2 over protocol/devicerecord) replaces it
// here, with the device records it needs fetched by its own code.
type sealer interface {
	// seal encrypts padded Content bytes to account to and returns the
	// envelope type that names the format.
	seal(to identity.AccountID, padded []byte) (envelope.Envelope_Type, []byte, error)
	// open decrypts and authenticates a sealed Content of type typ and
	// returns the padded plaintext and its sender.
	open(typ envelope.Envelope_Type, sealed []byte) ([]byte, identity.AccountID, error)
}

// v1 seals with crypto/sealv1 (Session-compatible, no forward secrecy).
type v1 struct{ acct *identity.Account }

func (s v1) seal(to identity.AccountID, padded []byte) (envelope.Envelope_Type, []byte, error) {
	ct, err := sealv1.Seal(s.acct, to, padded)
	return envelope.Envelope_TYPE_SESSION_MESSAGE_V1, ct, err
}

func (s v1) open(typ envelope.Envelope_Type, sealed []byte) ([]byte, identity.AccountID, error) {
	if typ != envelope.Envelope_TYPE_SESSION_MESSAGE_V1 {
		return nil, identity.AccountID{}, fmt.Errorf("envelope type %v is not supported yet", typ)
	}
	pt, _, sender, err := sealv1.Open(s.acct, sealed)
	return pt, sender, err
}

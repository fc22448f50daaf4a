package group

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/identity"
)

const (
	messageVersion = 0x01
	messageKeyInfo = "hush/1 group messages"
	// messageHeader is version ‖ generation ‖ key ID ‖ nonce.
	messageHeader = 1 + 8 + KeyIDSize + chacha20poly1305.NonceSizeX // 41
	innerFixed    = 32 + 8 + 4
	// MessageOverhead is what a group message adds to its content, before
	// padding.
	MessageOverhead = messageHeader + innerFixed + ed25519.SignatureSize + chacha20poly1305.Overhead
)

// Message is an opened group message.
type Message struct {
	Generation uint64
	KeyID      KeyID
	SenderKey  identity.Ed25519PublicKey
	Sender     identity.AccountID // derived from SenderKey
	Time       time.Time          // the sender's signed time (ms)
	Content    []byte
}

// PeekKey returns the generation and key ID a group message is sealed
// under, so the receiver can pick the key before opening it.
func PeekKey(b []byte) (uint64, KeyID, error) {
	if len(b) < messageHeader || b[0] != messageVersion {
		return 0, KeyID{}, fmt.Errorf("%w: not a group message", ErrMalformed)
	}
	var id KeyID
	copy(id[:], b[9:17])
	return binary.BigEndian.Uint64(b[1:]), id, nil
}

func messageSigned(g ID, header, innerNoSig []byte, contentLen int) []byte {
	m := make([]byte, 0, len(messageLabel)+IDSize+len(header)+innerFixed+contentLen)
	m = append(m, messageLabel...)
	m = append(m, g[:]...)
	m = append(m, header...)
	return append(m, innerNoSig[:innerFixed+contentLen]...)
}

// SealMessage encrypts content for group g under k, signed by the sender's
// account key, at time t (docs/groups.md §7).
func SealMessage(g ID, k Key, sender *identity.Account, t time.Time, content []byte) ([]byte, error) {
	if t.UnixMilli() <= 0 {
		return nil, fmt.Errorf("%w: time before 1970", ErrMalformed)
	}
	n := innerFixed + len(content)
	n += (padBlock - n%padBlock) % padBlock
	if messageHeader+n+ed25519.SignatureSize+chacha20poly1305.Overhead > MaxObjectSize {
		return nil, fmt.Errorf("%w: content of %d bytes does not fit a group message", ErrMalformed, len(content))
	}
	header := make([]byte, 0, messageHeader)
	header = append(header, messageVersion)
	header = binary.BigEndian.AppendUint64(header, k.Generation)
	id := k.ID(g)
	header = append(header, id[:]...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	header = append(header, nonce...)

	inner := make([]byte, n, n+ed25519.SignatureSize)
	raw := sender.Ed25519Public().Raw32()
	copy(inner, raw[:])
	binary.BigEndian.PutUint64(inner[32:], uint64(t.UnixMilli()))
	binary.BigEndian.PutUint32(inner[40:], uint32(len(content)))
	copy(inner[innerFixed:], content)
	inner = append(inner, sender.Sign(messageSigned(g, header, inner, len(content)))...)

	aead, _ := chacha20poly1305.NewX(k.derive(g, messageKeyInfo))
	return aead.Seal(header, nonce, inner, append(g[:], header...)), nil
}

// OpenMessage decrypts and verifies a group message of group g with k. It
// does not check that the sender is a member: the caller does, with the
// member config it holds, and drops the message if not.
func OpenMessage(g ID, k Key, b []byte) (*Message, error) {
	gen, id, err := PeekKey(b)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxObjectSize || len(b) < MessageOverhead {
		return nil, fmt.Errorf("%w: group message of %d bytes", ErrMalformed, len(b))
	}
	if gen != k.Generation || id != k.ID(g) {
		return nil, fmt.Errorf("%w: message is sealed under generation %d", ErrDecrypt, gen)
	}
	header := b[:messageHeader]
	aead, _ := chacha20poly1305.NewX(k.derive(g, messageKeyInfo))
	inner, err := aead.Open(nil, header[17:], b[messageHeader:], append(g[:], header...))
	if err != nil {
		return nil, fmt.Errorf("%w: group message", ErrDecrypt)
	}
	body := inner[:len(inner)-ed25519.SignatureSize]
	sig := inner[len(body):]
	if len(body)%padBlock != 0 || len(body) < innerFixed {
		return nil, fmt.Errorf("%w: group message padding", ErrMalformed)
	}
	cl := binary.BigEndian.Uint32(body[40:])
	if uint64(cl) > uint64(len(body)-innerFixed) || len(body)-innerFixed-int(cl) >= padBlock {
		return nil, fmt.Errorf("%w: group message content length %d", ErrMalformed, cl)
	}
	for _, z := range body[innerFixed+int(cl):] {
		if z != 0 {
			return nil, fmt.Errorf("%w: group message padding not zero", ErrMalformed)
		}
	}
	m := &Message{Generation: gen, KeyID: id}
	m.SenderKey, _ = identity.Ed25519PublicKeyFromBytes(body[:32])
	if m.Sender, err = m.SenderKey.AccountID(); err != nil {
		return nil, fmt.Errorf("%w: sender key: %v", ErrMalformed, err)
	}
	if !ed25519.Verify(body[:32], messageSigned(g, header, body, int(cl)), sig) {
		return nil, fmt.Errorf("%w: group message sender", ErrBadSignature)
	}
	ms := binary.BigEndian.Uint64(body[32:])
	if ms == 0 || ms > maxMs {
		return nil, fmt.Errorf("%w: group message time %d", ErrMalformed, ms)
	}
	m.Time = time.UnixMilli(int64(ms))
	m.Content = body[innerFixed : innerFixed+int(cl)]
	return m, nil
}

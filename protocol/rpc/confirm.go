package rpc

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/hushnet/hush/identity"
)

// Batch confirmations. A member that stores many messages in one apply
// signs them all at once: the leaves of a Merkle tree are the messages'
// [SigConfirmation] strings, it signs the root ([SigConfirmationBatch]),
// and each message's confirmation carries that signature and its path to
// the root ([Confirmation.Proof]). A verifier needs nothing but the
// message it asks about: it hashes that message's leaf up the path and
// checks the signature over the root, so what it accepts is still exactly
// "this member stored this hash for this account on this network". Leaves
// and inner nodes hash under different prefixes (as in RFC 6962), so no
// inner node passes for a leaf, and the root is signed under its own
// method name, which no [SigConfirmation] can equal ("stored" is followed
// by the account's "05…" there, by "_batch" here). A lone message is
// confirmed by a plain signature, without a proof.
//
// The path shows the verifier the hashes of its neighbours' leaves:
// SHA-256 over other accounts' confirmation strings, which name message
// hashes it cannot guess, so it learns only how many messages the batch
// held (about 2^len(path)).

// maxProofSteps bounds a proof: a batch is at most MaxNodeOps (2^9)
// messages.
const maxProofSteps = 16

// proofStep is one level of a path: a side byte (0: the sibling is on
// the left, 1: on the right) and the sibling's hash.
const proofStep = 1 + sha256.Size

// SigConfirmationBatch is the string a member signs to confirm the
// messages of a batch: "hush/1" ‖ u8 len ‖ network ID ‖ "stored_batch" ‖
// the Merkle root in hex.
func SigConfirmationBatch(networkID string, root [sha256.Size]byte) []byte {
	return newSig(networkID, "stored_batch").str(hex.EncodeToString(root[:]))
}

// Stored names a message a member confirms.
type Stored struct {
	Account identity.AccountID
	Hash    string
}

func confirmationLeaf(networkID string, s Stored) [sha256.Size]byte {
	return sha256.Sum256(append([]byte{0}, SigConfirmation(networkID, s.Account, s.Hash)...))
}

func confirmationNode(left, right [sha256.Size]byte) [sha256.Size]byte {
	var b [1 + 2*sha256.Size]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[1+sha256.Size:], right[:])
	return sha256.Sum256(b[:])
}

// SignConfirmations returns key's confirmation of each item, in order,
// with one signature for all of them: a plain [SigConfirmation] signature
// for a single item, else a signature over the batch's Merkle root and a
// proof per item.
func SignConfirmations(networkID string, key ed25519.PrivateKey, items []Stored) []Confirmation {
	out := make([]Confirmation, len(items))
	switch len(items) {
	case 0:
		return out
	case 1:
		sig := ed25519.Sign(key, SigConfirmation(networkID, items[0].Account, items[0].Hash))
		out[0] = Confirmation{Hash: items[0].Hash, Signature: base64.StdEncoding.EncodeToString(sig)}
		return out
	}
	level := make([][sha256.Size]byte, len(items))
	pos := make([]int, len(items)) // each item's index in the current level
	proofs := make([][]byte, len(items))
	for i, it := range items {
		level[i], pos[i] = confirmationLeaf(networkID, it), i
	}
	for len(level) > 1 {
		for i := range items {
			p := pos[i]
			switch {
			case p%2 == 1:
				proofs[i] = append(append(proofs[i], 0), level[p-1][:]...)
			case p+1 < len(level):
				proofs[i] = append(append(proofs[i], 1), level[p+1][:]...)
			}
			// An odd last node has no sibling: it moves up unchanged
			// and adds no step.
			pos[i] = p / 2
		}
		next := make([][sha256.Size]byte, 0, (len(level)+1)/2)
		for j := 0; j < len(level); j += 2 {
			if j+1 < len(level) {
				next = append(next, confirmationNode(level[j], level[j+1]))
			} else {
				next = append(next, level[j])
			}
		}
		level = next
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, SigConfirmationBatch(networkID, level[0])))
	for i, it := range items {
		out[i] = Confirmation{Hash: it.Hash, Signature: sig, Proof: base64.StdEncoding.EncodeToString(proofs[i])}
	}
	return out
}

// WellFormed reports whether c has the form of a confirmation (a 64-byte
// signature, and a proof of whole steps within the bound), which is all a
// member that passes a peer's confirmation on checks: clients verify.
func (c Confirmation) WellFormed() bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	_, ok := c.proof()
	return ok
}

func (c Confirmation) proof() ([]byte, bool) {
	if c.Proof == "" {
		return nil, true
	}
	p, err := base64.StdEncoding.DecodeString(c.Proof)
	if err != nil || len(p) == 0 || len(p)%proofStep != 0 || len(p)/proofStep > maxProofSteps {
		return nil, false
	}
	return p, true
}

// Verify reports whether c is nodeKey's confirmation that it stored hash
// for account on networkID, in either form: a plain signature over
// [SigConfirmation], or (with a proof) a signature over
// [SigConfirmationBatch] of the root the proof leads to from that
// message's leaf.
func (c Confirmation) Verify(networkID string, nodeKey identity.Ed25519PublicKey, account identity.AccountID, hash string) bool {
	if c.Hash != hash {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	proof, ok := c.proof()
	if !ok {
		return false
	}
	if proof == nil {
		return VerifyConfirmation(networkID, nodeKey, account, hash, sig)
	}
	h := confirmationLeaf(networkID, Stored{account, hash})
	for ; len(proof) > 0; proof = proof[proofStep:] {
		var sib [sha256.Size]byte
		copy(sib[:], proof[1:proofStep])
		switch proof[0] {
		case 0:
			h = confirmationNode(sib, h)
		case 1:
			h = confirmationNode(h, sib)
		default:
			return false
		}
	}
	return ed25519.Verify(nodeKey.Bytes(), SigConfirmationBatch(networkID, h), sig)
}

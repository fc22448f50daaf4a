package rpc

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/bits"
	"testing"

	"github.com/hushnet/hush/identity"
)

func storedItems(n int) []Stored {
	items := make([]Stored, n)
	for i := range items {
		acct := identity.NewAccount().ID()
		items[i] = Stored{acct, MessageHash(acct, 0, []byte(fmt.Sprint("message ", i)))}
	}
	return items
}

// TestSignConfirmations: every confirmation of a batch verifies for its
// own message and no other, the batch costs one signature, and a lone
// message gets a plain confirmation that old verifiers accept.
func TestSignConfirmations(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	node := identity.Ed25519PublicKeyOf(priv)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other := identity.Ed25519PublicKeyOf(otherPriv)
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, MaxNodeOps} {
		t.Run(fmt.Sprint(n, " messages"), func(t *testing.T) {
			items := storedItems(n)
			confs := SignConfirmations("net", priv, items)
			if len(confs) != n {
				t.Fatalf("%d confirmations, want %d", len(confs), n)
			}
			for i, c := range confs {
				it := items[i]
				if !c.WellFormed() || !c.Verify("net", node, it.Account, it.Hash) {
					t.Fatalf("confirmation %d does not verify: %+v", i, c)
				}
				if c.Signature != confs[0].Signature {
					t.Fatalf("confirmation %d has its own signature: more than one per batch", i)
				}
				if steps := len(mustB64(t, c.Proof)) / proofStep; steps > bits.Len(uint(n-1)) {
					t.Errorf("confirmation %d: a proof of %d steps for %d messages", i, steps, n)
				}
				members := func(k identity.Ed25519PublicKey) bool { return k.Equal(node) }
				if got := CountConfirmations("net", it.Account, it.Hash, map[string]Confirmation{node.String(): c}, members); got != 1 {
					t.Errorf("CountConfirmations = %d, want 1", got)
				}
				if n == 1 {
					sig := mustB64(t, c.Signature)
					if c.Proof != "" || !VerifyConfirmation("net", node, it.Account, it.Hash, sig) {
						t.Errorf("a lone confirmation is not a plain one: %+v", c)
					}
				}
				// Refusals: another message, account, key or network.
				next := items[(i+1)%n]
				bad := map[string]bool{
					"other key":     c.Verify("net", other, it.Account, it.Hash),
					"other network": c.Verify("net2", node, it.Account, it.Hash),
					"other account": c.Verify("net", node, identity.NewAccount().ID(), it.Hash),
				}
				if n > 1 {
					moved := c
					moved.Hash = next.Hash
					bad["another message's hash"] = moved.Verify("net", node, it.Account, next.Hash)
					bad["another message"] = c.Verify("net", node, next.Account, next.Hash) // the right hash field aside
					borrowed := confs[(i+1)%n]
					borrowed.Hash = it.Hash
					bad["another message's proof"] = borrowed.Verify("net", node, it.Account, it.Hash)
					plain := c
					plain.Proof = ""
					bad["the batch signature without its proof"] = plain.Verify("net", node, it.Account, it.Hash)
				}
				for name, ok := range bad {
					if ok {
						t.Errorf("confirmation %d verifies for %s", i, name)
					}
				}
			}
		})
	}
}

// TestConfirmationProofTampering: any change to a proof's bytes, or a
// proof added to a plain confirmation, fails verification.
func TestConfirmationProofTampering(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	node := identity.Ed25519PublicKeyOf(priv)
	items := storedItems(5)
	confs := SignConfirmations("net", priv, items)
	c, it := confs[2], items[2]
	proof := mustB64(t, c.Proof)
	for i := range proof {
		for _, flip := range []byte{1, 0x80} {
			p := append([]byte(nil), proof...)
			p[i] ^= flip
			bad := c
			bad.Proof = base64.StdEncoding.EncodeToString(p)
			if bad.Verify("net", node, it.Account, it.Hash) {
				t.Fatalf("verifies with byte %d of the proof changed by %#x", i, flip)
			}
		}
	}
	for _, p := range []string{base64.StdEncoding.EncodeToString(proof[:len(proof)-1]), base64.StdEncoding.EncodeToString(proof[proofStep:]), "!!", base64.StdEncoding.EncodeToString(append(proof, proof...))} {
		bad := c
		bad.Proof = p
		if bad.Verify("net", node, it.Account, it.Hash) {
			t.Fatalf("verifies with proof %q", p)
		}
	}
	single := SignConfirmations("net", priv, items[:1])[0]
	single.Proof = c.Proof
	if single.Verify("net", node, items[0].Account, items[0].Hash) {
		t.Fatal("a plain confirmation verifies with a proof added")
	}
}

// FuzzConfirmationVerify: Verify and WellFormed never panic on any
// signature and proof, and nothing made up verifies.
func FuzzConfirmationVerify(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	node := identity.Ed25519PublicKeyOf(priv)
	items := storedItems(3)
	for _, c := range SignConfirmations("net", priv, items) {
		f.Add(c.Signature, c.Proof)
	}
	f.Add("", "")
	f.Fuzz(func(t *testing.T, sig, proof string) {
		c := Confirmation{Hash: items[0].Hash, Signature: sig, Proof: proof}
		c.WellFormed()
		if c.Verify("net", node, items[1].Account, items[1].Hash) {
			t.Fatalf("%+v verifies for another message", c)
		}
	})
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package snapshot_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/protocol/snapshot"
)

func ExampleVerify() {
	// Three registry hosts; in real use their public keys come from the
	// network file (netfile.Network.SnapshotVerifier).
	var hosts []ed25519.PrivateKey
	var hostKeys []ed25519.PublicKey
	for i := range 3 {
		k := ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(i)))
		hosts = append(hosts, k)
		hostKeys = append(hostKeys, k.Public().(ed25519.PublicKey))
	}
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &snapshot.Snapshot{
		NetworkID: "devnet", Epoch: 9,
		IssuedAt: issued, ExpiresAt: issued.Add(time.Hour),
		SwarmMinSize: 3, SwarmIdealSize: 4,
	}
	// Two of three hosts sign: a strict majority.
	for _, h := range hosts[:2] {
		if err := snapshot.Sign(s, h); err != nil {
			panic(err)
		}
	}
	raw, err := snapshot.Encode(s)
	if err != nil {
		panic(err)
	}

	got, err := snapshot.Verify(raw, hostKeys, "devnet", issued.Add(time.Minute), 9)
	fmt.Println(got.Epoch, err)

	// A node that already accepted epoch 10 refuses epoch 9.
	_, err = snapshot.Verify(raw, hostKeys, "devnet", issued.Add(time.Minute), 10)
	fmt.Println(errors.Is(err, snapshot.ErrRollback))
	// Output:
	// 9 <nil>
	// true
}

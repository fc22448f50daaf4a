package client_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/hushtest"
)

// Two accounts on a local test network: alice writes to bob, bob receives.
// Only the public API is used: this file imports nothing internal.
func Example() {
	// Minutes, not seconds: a busy machine (or -race) makes every onion
	// request slow; the example waits on the message, not on the clock.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "hush-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	net, err := hushtest.Start(ctx, hushtest.Options{Dir: filepath.Join(dir, "network")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer net.Stop()

	// A home per account: a key file under the passphrase and an
	// encrypted database. InsecureTestKDF is for tests only.
	pass := []byte("correct horse")
	open := func(name string) (*client.Client, error) {
		home, err := client.NewHome(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if _, _, err := home.Create(pass, client.InsecureTestKDF()); err != nil {
			return nil, err
		}
		// Open publishes the device's protocol v2 keys, so others can
		// write to it.
		return home.Open(ctx, pass, net.ClientOptions())
	}
	alice, err := open("alice")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer alice.Close()
	bob, err := open("bob")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.Close()

	if err := alice.AddContact(bob.Account(), "bob"); err != nil {
		fmt.Println(err)
		return
	}
	to, err := alice.Resolve("bob")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Send returns once the message is stored in bob's swarm, or queued
	// in the outbox when that cannot happen yet (bob's keys not found, a
	// path that timed out); FlushOutbox retries.
	if _, err := alice.Send(ctx, to, "hello bob"); err != nil {
		fmt.Println(err)
		return
	}
	for {
		msgs, err := bob.Sync(ctx)
		if err != nil && ctx.Err() != nil {
			fmt.Println(err)
			return
		}
		for _, m := range msgs {
			if m.Sender == alice.Account() {
				fmt.Printf("bob received %q (%s)\n", m.Text, m.Status)
				return
			}
		}
		alice.FlushOutbox(ctx)
		select {
		case <-ctx.Done():
			fmt.Println("the message did not arrive:", ctx.Err())
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Output: bob received "hello bob" (received)
}

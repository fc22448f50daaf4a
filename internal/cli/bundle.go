package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
)

// publishKeys publishes a new home's protocol v2 device records when a
// network is configured, so contacts can write to it before it runs any
// other command. Offline, the next command that reaches the network does
// it; init does not fail for it.
func (a *app) publishKeys(ctx context.Context, h *client.Home, pass []byte) {
	o, err := (&netFlags{}).options(true)
	if err != nil {
		return // no network configured
	}
	o.Clock = a.testClock()
	// Open publishes already (its key duties); KeyDuties reports whether
	// that worked, and tries once more if it did not.
	c, err := h.Open(ctx, pass, o)
	if err == nil {
		err = c.KeyDuties(ctx)
		c.Close()
	}
	if err != nil {
		fmt.Fprintln(a.stderr, "hush: device keys not published yet ("+err.Error()+"); the next command that reaches the network publishes them")
	}
}

// bundleCommand is `hush tool bundle ID`: a contact's verified protocol v2
// device records, as a sender would seal to them.
func (a *app) bundleCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "bundle ID",
		Short: "Fetch and verify a contact's protocol v2 device records",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			recs, problems, err := c.Bundle(ctx, peer)
			if err != nil {
				return err
			}
			type pubkey struct {
				Epoch  uint64 `json:"epoch"`
				XWing  string `json:"xwing_public_key"`
				Starts string `json:"starts"`
			}
			type record struct {
				Device    string   `json:"device_id"`
				DeviceKey string   `json:"device_ed25519"`
				Class     string   `json:"class"`
				Created   string   `json:"created_at"`
				Expires   string   `json:"expires_at"`
				Hash      string   `json:"hash"`
				Prekeys   []pubkey `json:"prekeys"`
			}
			type problem struct {
				Hash  string `json:"hash"`
				Error string `json:"error"`
			}
			out := struct {
				Account  string    `json:"account_id"`
				Protocol string    `json:"protocol"`
				Records  []record  `json:"records"`
				Problems []problem `json:"problems"`
			}{Account: peer.String(), Protocol: "v2", Records: []record{}, Problems: []problem{}}
			for _, r := range recs {
				rec := record{
					Device: r.DeviceID.String(), DeviceKey: r.DeviceKey.String(), Class: r.Class.String(),
					Created: r.CreatedAt.UTC().Format(time.RFC3339), Expires: r.ExpiresAt.UTC().Format(time.RFC3339), Hash: r.Hash,
				}
				for _, p := range r.Prekeys {
					rec.Prekeys = append(rec.Prekeys, pubkey{Epoch: p.Epoch, XWing: hex.EncodeToString(p.Key.Bytes()),
						Starts: prekey.EpochStart(p.Epoch).UTC().Format(time.RFC3339)})
				}
				out.Records = append(out.Records, rec)
			}
			for _, p := range problems {
				out.Problems = append(out.Problems, problem{Hash: p.Hash, Error: p.Err.Error()})
			}
			if a.jsonOut {
				return a.printJSON(out)
			}
			fmt.Fprintf(a.stdout, "%s: %d verified device record(s)\n", peer, len(recs))
			for _, r := range out.Records {
				fmt.Fprintf(a.stdout, "  device %s  %s  valid until %s  %d prekeys\n", r.Device, r.Class, r.Expires, len(r.Prekeys))
			}
			for _, p := range out.Problems {
				fmt.Fprintf(a.stdout, "  refused %s: %s\n", p.Hash, p.Error)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// conversationJSON is `hush --json chat show`: the conversation's protocol,
// whether it waits for the contact's keys, the contact's devices seen in
// verified records, and the messages, oldest first.
func conversationJSON(c *client.Client, peer identity.AccountID, h []client.Message) any {
	type device struct {
		ID        string `json:"device_id"`
		Key       string `json:"device_ed25519"`
		FirstSeen string `json:"first_seen"`
	}
	out := struct {
		Peer     string           `json:"peer"`
		Protocol string           `json:"protocol"`
		Waiting  bool             `json:"waiting_for_keys"`
		Why      string           `json:"waiting_reason,omitempty"`
		Missing  []string         `json:"missing_devices,omitempty"`
		Without  bool             `json:"sent_without_missing,omitempty"`
		Devices  []device         `json:"devices"`
		Messages []client.Message `json:"messages"`
	}{Peer: peer.String(), Protocol: c.Protocol(), Devices: []device{}, Messages: h}
	if out.Messages == nil {
		out.Messages = []client.Message{}
	}
	out.Waiting, out.Why, _ = c.WaitingForKeys(peer)
	// Known devices whose records the swarm did not return: messages
	// wait for them, then go without them (docs/protocol-v2.md §8).
	if ids, without, err := c.MissingDevices(peer); err == nil {
		for _, id := range ids {
			out.Missing = append(out.Missing, id.String())
		}
		out.Without = without
	}
	if ds, err := c.PeerDevices(peer); err == nil {
		for _, d := range ds {
			out.Devices = append(out.Devices, device{ID: d.ID.String(), Key: d.PublicKey.String(), FirstSeen: d.FirstSeen.UTC().Format(time.RFC3339)})
		}
	}
	return out
}

// keyNotices tells the user, on stderr, about devices that appeared in
// verified records while the command ran (or presented a changed key, or
// went missing), and when messages to peer wait for its keys. events must be closed (the subscription stopped).
func (a *app) keyNotices(c *client.Client, peer identity.AccountID, events <-chan client.Event) {
	for e := range events {
		if (e.Kind == client.EventNewKeyDevice || e.Kind == client.EventDeviceMissing) && e.Err != nil {
			fmt.Fprintln(a.stderr, "hush: note: "+e.Err.Error())
			if errors.Is(e.Err, client.ErrDeviceKeyChanged) {
				fmt.Fprintln(a.stderr, "hush: note: after checking with its owner, accept the new key with `hush devices confirm-key ACCOUNT DEVICE_ID`")
			}
		}
	}
	if waiting, why, _ := c.WaitingForKeys(peer); waiting {
		fmt.Fprintf(a.stderr, "hush: waiting for %s's keys (%s); the message stays queued and is retried by the next command that reaches the network\n", peer.Short(), why)
	}
}

// dropNotices sums up, on stderr, the fetched messages that could not be
// opened, with the first reason of each kind: a v1 message between hush
// clients, one sealed before this device existed, a forgery. events must
// be closed.
func (a *app) dropNotices(events <-chan client.Event) {
	counts := map[string]int{}
	var order []string
	for e := range events {
		if e.Kind != client.EventDropped || e.Err == nil {
			continue
		}
		why := e.Err.Error()
		if counts[why] == 0 {
			order = append(order, why)
		}
		counts[why]++
	}
	for _, why := range order {
		fmt.Fprintf(a.stderr, "hush: %d fetched message(s) not shown: %s\n", counts[why], why)
	}
}

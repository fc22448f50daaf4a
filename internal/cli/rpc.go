package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/netlookup"
	"github.com/hushnet/hush/protocol/netfile"
)

func (a *app) toolRPCCommand() *cobra.Command {
	var nodeURL, nodeKey, network string
	var direct bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rpc [--network FILE | --node URL] METHOD [PARAMS_JSON]",
		Short: "Send a signed storage RPC for this account to its swarm (or one node) and print the JSON reply",
		Long: `Send one storage RPC to a service node and print its JSON reply. The
command fills in pubkey, pubkey_ed25519, timestamps and signatures for the
current account, so PARAMS_JSON holds only what the method is about, e.g.

  hush tool rpc --node https://127.0.0.1:22021 store '{"namespace":0,"ttl":60000,"data":"aGk="}'
  hush tool rpc --node https://127.0.0.1:22021 retrieve '{"namespace":0}'

Without --node the command finds the account's swarm in the network's
signed registry snapshot (network file from --network, else $HUSH_NETWORK,
else the default devnet's) and sends the request to a member of the swarm
through an onion path, as every hush command does. --direct skips the
onion path (debugging: the node then sees your address); it fetches the
snapshot from a seed node and follows 421 answers to a newer snapshot.

With --node the connection is direct. The node's key is learned from its
info on first contact unless --node-key pins it, and then it must match.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodeURL != "" && network != "" {
				return errors.New("--node and --network exclude each other")
			}
			params := json.RawMessage(`{}`)
			if len(args) == 2 {
				params = json.RawMessage(args[1])
				if !json.Valid(params) {
					return errors.New("PARAMS_JSON is not valid JSON")
				}
			}
			var key identity.Ed25519PublicKey
			if nodeKey != "" && nodeURL == "" {
				return errors.New("--node-key needs --node")
			}
			if nodeKey != "" {
				k, err := identity.ParseEd25519PublicKey(nodeKey)
				if err != nil {
					return fmt.Errorf("--node-key: %w", err)
				}
				key = k
			}
			var net *netfile.Network
			if nodeURL == "" {
				var err error
				if net, _, err = loadNetwork(network); err != nil {
					if errors.Is(err, netlookup.ErrNoNetwork) {
						return fmt.Errorf("--node URL or a network file is required: %w", err)
					}
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			f := &netFlags{network: network, direct: direct}
			c, err := a.openClient(ctx, f, net != nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if net != nil {
				// Through onion paths, or with --direct straight to a swarm
				// member; the client follows 421s to newer snapshots.
				reply, err := c.RPC(ctx, args[0], params)
				var ne *client.NodeError
				if errors.As(err, &ne) {
					// Keep the stable error code on stdout, as --node does.
					a.printJSON(map[string]any{"error": map[string]any{"code": ne.Code, "message": ne.Message}})
				} else if err == nil {
					a.printRaw(reply)
				}
				return err
			}
			reply, err := c.NodeRPC(ctx, nodeURL, key, args[0], params)
			if len(reply) > 0 {
				// The node's reply is the output, errors included: a script
				// wants the stable error code in it.
				a.printRaw(reply)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&nodeURL, "node", "", "node URL, e.g. https://127.0.0.1:22021")
	cmd.Flags().StringVar(&nodeKey, "node-key", "", "the node's Ed25519 key (hex) to pin")
	cmd.Flags().StringVar(&network, "network", "", "network file (default: $HUSH_NETWORK, else the default devnet's)")
	cmd.Flags().BoolVar(&direct, "direct", false, "with a network file, skip the onion path and talk to the swarm member directly")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// printRaw prints a JSON document indented, or as it came if it is not JSON.
func (a *app) printRaw(doc json.RawMessage) {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		fmt.Fprintln(a.stdout, string(doc))
		return
	}
	a.printJSON(v)
}

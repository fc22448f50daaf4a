package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/crypto/sealv1"
	"github.com/hushnet/hush/identity"
)

func (a *app) toolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tool",
		Short: "Interop, debugging and load tools (raw v1 sealing, phrase conversion, raw RPC, a devnet Web Push receiver, a load generator)",
	}
	cmd.AddCommand(a.toolPhraseCommand(), a.toolSeedCommand(), a.toolSealCommand(), a.toolOpenCommand(), a.toolRPCCommand(), a.bundleCommand(), a.toolPushOpenCommand(),
		a.toolWebPushReceiverCommand(), // webpushrecv.go
		a.toolLoadCommand())            // load.go
	return cmd
}

func (a *app) toolPhraseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "phrase HEX16",
		Short: "Print the recovery phrase of a 16-byte seed given as 32 hex characters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := hex.DecodeString(strings.TrimSpace(args[0]))
			if err != nil || len(b) != identity.SeedSize {
				return fmt.Errorf("a seed is %d bytes as %d hex characters", identity.SeedSize, 2*identity.SeedSize)
			}
			var s identity.Seed
			copy(s[:], b)
			return a.printSeed(s)
		},
	}
}

func (a *app) toolSeedCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "seed PHRASE",
		Short: "Print the 16-byte seed (hex) and Account ID of a recovery phrase",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := identity.ParsePhrase(strings.Join(args, " "))
			if err != nil {
				return err
			}
			return a.printSeed(s)
		},
	}
}

func (a *app) printSeed(s identity.Seed) error {
	id := identity.FromSeed(s).ID().String()
	phrase := identity.Phrase(s)
	if a.jsonOut {
		return a.printJSON(map[string]string{"seed": hex.EncodeToString(s[:]), "recovery_phrase": phrase, "account_id": id})
	}
	fmt.Fprintf(a.stdout, "Seed:            %x\nRecovery phrase: %s\nAccount ID:      %s\n", s[:], phrase, id)
	return nil
}

func (a *app) toolSealCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "seal ACCOUNT_ID TEXT",
		Short: "Seal TEXT to ACCOUNT_ID as a raw v1 message (hex; no envelope, no padding)",
		Long: `Seal TEXT to ACCOUNT_ID with protocol v1 (Session's sealed box with an inner
Ed25519 signature) and print the ciphertext as hex. This is for interop and
debugging: it adds no envelope and no padding, and v1 has no forward secrecy.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			to, err := identity.ParseAccountID(args[0])
			if err != nil {
				return fmt.Errorf("recipient: %w", err)
			}
			acct, err := a.unlock()
			if err != nil {
				return err
			}
			ct, err := sealv1.Seal(acct, to, []byte(args[1]))
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"ciphertext": hex.EncodeToString(ct)})
			}
			fmt.Fprintln(a.stdout, hex.EncodeToString(ct))
			return nil
		},
	}
}

func (a *app) toolOpenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "open HEX",
		Short: "Open a raw v1 message sealed to this account; print sender and text",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ct, err := hex.DecodeString(strings.TrimSpace(args[0]))
			if err != nil {
				return fmt.Errorf("ciphertext is not hex: %w", err)
			}
			acct, err := a.unlock()
			if err != nil {
				return err
			}
			pt, _, sender, err := sealv1.Open(acct, ct)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"sender": sender.String(), "text": string(pt)})
			}
			fmt.Fprintf(a.stdout, "From: %s\n%s\n", sender, pt)
			return nil
		},
	}
}

var b64url = base64.RawURLEncoding

func (a *app) toolPushOpenCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "push-open PAYLOAD",
		Short: "Open a push payload this device received and fetch the message it names",
		Long: `Open PAYLOAD, the push payload this device received from its provider
(base64url, or base64), with this device's push subscription key, print what
it says (namespace, message hash, how many messages it stands for), then
fetch new messages and say whether the one it names arrived. A test push
("hush notifications test") names no message.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			payload, err := pushPayload(args[0])
			if err != nil {
				return fmt.Errorf("payload is not base64: %w", err)
			}
			p, err := a.openPush(cmd.Context(), &f, payload, 0)
			if a.jsonOut {
				if err != nil {
					return err
				}
				if p.Push.Test {
					return a.printJSON(map[string]any{"push": p.Push})
				}
				return a.printJSON(p)
			}
			return a.printPushOpened(p, err)
		},
	}
	f.register(cmd)
	return cmd
}

// pushOpened is what `hush tool push-open` learns from a push: what the
// payload says, and the messages fetched after it.
type pushOpened struct {
	// Opened is set once the payload opened; Push is then valid.
	Opened   bool             `json:"-"`
	Push     client.PushInner `json:"push"`
	Found    bool             `json:"found"`
	Messages []client.Message `json:"messages"`
}

// openPush is `hush tool push-open` without the printing (the Web Push
// receiver's --open runs it too): it opens payload with this home's
// push subscription key and, unless it is a test push, fetches new
// messages, again until the one the push names is among them or wait has
// passed (0: once). A push comes as soon as the first node of the swarm
// has the message, and a fetch asks members that may not have it yet.
func (a *app) openPush(ctx context.Context, f *netFlags, payload []byte, wait time.Duration) (pushOpened, error) {
	var p pushOpened
	c, err := a.openClient(ctx, f, true)
	if err != nil {
		return p, err
	}
	defer c.Close()
	if p.Push, err = c.OpenPush(payload); err != nil {
		return p, err
	}
	p.Opened = true
	if p.Push.Test {
		return p, nil
	}
	p.Messages, p.Found, err = fetchUntilFound(ctx, wait, func(ctx context.Context) ([]client.Message, bool, error) {
		return c.FetchPushed(ctx, p.Push)
	})
	return p, err
}

// fetchUntilFound calls fetch, again after a pause (250 ms, doubling up to
// 4 s) until it reports the message found or wait has passed (0: once),
// and returns every message fetched. A fetch that failed is tried again
// as one that did not find it: on a busy network one poll's path may
// time out while the next gets through. Once found, an error of the same
// fetch is dropped: it is about the other duties a fetch runs (the
// outbox, receipts), which the next one retries, not about the message.
func fetchUntilFound(ctx context.Context, wait time.Duration, fetch func(context.Context) ([]client.Message, bool, error)) ([]client.Message, bool, error) {
	var all []client.Message
	deadline := time.Now().Add(wait)
	for pause := 250 * time.Millisecond; ; pause = min(2*pause, 4*time.Second) {
		got, found, err := fetch(ctx)
		all = append(all, got...)
		if found {
			return all, true, nil
		}
		if time.Now().Add(pause).After(deadline) {
			return all, false, err
		}
		select {
		case <-ctx.Done():
			return all, false, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// printPushOpened prints what openPush returned, as push-open does, and
// returns err.
func (a *app) printPushOpened(p pushOpened, err error) error {
	if !p.Opened {
		return err
	}
	if p.Push.Test {
		fmt.Fprintln(a.stdout, "A test push: it names no message.")
		return nil
	}
	fmt.Fprintf(a.stdout, "Push: namespace %d, message %s, %d new message(s)\n", p.Push.Namespace, p.Push.Hash, p.Push.Count)
	if !p.Push.Group.IsZero() {
		fmt.Fprintf(a.stdout, "  for the group %s\n", p.Push.Group)
	}
	if err != nil {
		return err
	}
	if p.Found {
		fmt.Fprintln(a.stdout, "The message it names arrived:")
	} else {
		fmt.Fprintln(a.stdout, "The message it names was not among the new ones (already fetched, or not yet replicated).")
	}
	for _, m := range p.Messages {
		fmt.Fprintf(a.stdout, "%s  %s: %s\n", m.SentAt.Format(time.RFC3339), m.Sender.Short(), m.Text)
	}
	return nil
}

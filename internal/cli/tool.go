package cli

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/identity"
)

func (a *app) toolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tool",
		Short: "Interop and debugging tools (raw v1 sealing, phrase conversion, raw RPC)",
	}
	cmd.AddCommand(a.toolPhraseCommand(), a.toolSeedCommand())
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

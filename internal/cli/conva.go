package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
	"github.com/spf13/cobra"
)

// The commands of issue 22's replies, reactions and search: `hush send
// --reply` is in messaging.go; react and search are here, with the lines
// `chat show` prints for a quote and for reactions.

func (a *app) reactCommand() *cobra.Command {
	var (
		f      netFlags
		remove bool
	)
	cmd := &cobra.Command{
		Use:   "react ID MSG_ID EMOJI [--remove]",
		Short: "React to a message with an emoji, or take the reaction back",
		Long: `Put EMOJI on message MSG_ID of the chat with ID (a contact or a group), or take
it away with --remove. You have at most one of each emoji on a message:
reacting twice with the same one changes nothing. Your other devices and
everyone in the chat see it; it goes when the message goes (unsend,
delete, disappearing timer). MSG_ID is the message's id (hush --json chat
show ID).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			m, err := c.React(ctx, peer, strings.TrimSpace(args[1]), args[2], remove)
			if err != nil {
				return err
			}
			c.Sync(ctx)
			if m2, err := c.Message(m.ID); err == nil {
				m = m2
			}
			if a.jsonOut {
				return a.printJSON(m)
			}
			writeReactions(a.stdout, nicknames(c), c.Account(), m)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&remove, "remove", false, "take the reaction away")
	return cmd
}

func (a *app) searchCommand() *cobra.Command {
	var (
		chat  string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "search TEXT [--chat ID]",
		Short: "Find messages by their text, newest first",
		Long: `Find the messages held here whose text contains TEXT, ignoring case, newest
first: in every chat, or with --chat in one. The search runs over the local
database only; nothing is sent. The database keeps message texts
encrypted, so there is no index on disk: the texts are opened in memory
for the search and forgotten when the command ends.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			var opts client.SearchOptions
			opts.Limit = limit
			if chat != "" {
				if opts.Chat, err = c.Resolve(chat); err != nil {
					return err
				}
			}
			ms, err := c.Search(args[0], opts)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if ms == nil {
					ms = []client.Message{}
				}
				return a.printJSON(ms)
			}
			if len(ms) == 0 {
				fmt.Fprintln(a.stdout, "No messages found.")
				return nil
			}
			nicks := nicknames(c)
			for _, m := range ms {
				who := label(nicks, m.Sender)
				if m.Outgoing {
					who = "me"
				}
				fmt.Fprintf(a.stdout, "%s [%s] %s: %s (%s)\n", m.SentAt.Local().Format(time.DateTime), label(nicks, m.Peer), who, m.Text, m.MessageID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&chat, "chat", "", "search only the chat with this Account ID, nickname or group")
	cmd.Flags().IntVar(&limit, "limit", client.DefaultSearchLimit, "the most results to print")
	return cmd
}

// writeQuote prints the line above a reply that shows what it quotes.
func writeQuote(w io.Writer, nicks map[identity.AccountID]string, self identity.AccountID, q *client.Quote) {
	if q == nil {
		return
	}
	who := label(nicks, q.Author)
	if q.Author.Equal(self) {
		who = "me"
	}
	mark := ""
	if !q.Available {
		mark = " (not available)"
	}
	fmt.Fprintf(w, "    > %s%s: %s\n", who, mark, q.Text)
}

// writeReactions prints a message's reactions on one line: each emoji
// with its count and who.
func writeReactions(w io.Writer, nicks map[identity.AccountID]string, self identity.AccountID, m client.Message) {
	if len(m.Reactions) == 0 {
		return
	}
	var parts []string
	for _, r := range m.Reactions {
		var by []string
		for _, a := range r.By {
			if a.Equal(self) {
				by = append(by, "me")
			} else {
				by = append(by, label(nicks, a))
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d (%s)", r.Emoji, r.Count, strings.Join(by, ", ")))
	}
	fmt.Fprintf(w, "    reactions: %s\n", strings.Join(parts, "  "))
}

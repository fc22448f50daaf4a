package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Environment variables of the messaging commands.
const (
	envNode    = "HUSH_NODE"
	envNodeKey = "HUSH_NODE_KEY"
)

// netFlags select the network a messaging command talks to.
type netFlags struct {
	network string
	node    string
	nodeKey string
	direct  bool
}

func (f *netFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.network, "network", "", "network file (default: $HUSH_NETWORK, else the default devnet's)")
	fl.StringVar(&f.node, "node", "", "a standalone node, https://host:port, instead of a network (env "+envNode+")")
	fl.StringVar(&f.nodeKey, "node-key", "", "the standalone node's Ed25519 key, hex (env "+envNodeKey+")")
	fl.BoolVar(&f.direct, "direct", false, "talk to nodes directly instead of through onion paths (debugging: nodes see your address)")
}

func envOr(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// options turns the flags into client options; network says whether the
// command needs the network.
func (f *netFlags) options(network bool) (client.Options, error) {
	var o client.Options
	if !network {
		return o, nil
	}
	o.Direct = f.direct
	if node := envOr(f.node, envNode); node != "" {
		u, err := url.Parse(node)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return o, fmt.Errorf("--node %q: want https://host:port", node)
		}
		var key identity.Ed25519PublicKey
		if err := key.UnmarshalText([]byte(envOr(f.nodeKey, envNodeKey))); err != nil {
			return o, fmt.Errorf("--node-key: %w", err)
		}
		o.Standalone = &snapshot.Node{Address: u.Host, Ed25519: key}
		return o, nil
	}
	n, _, err := loadNetwork(f.network)
	if err != nil {
		return o, err
	}
	o.Network = n
	return o, nil
}

// openClient unlocks the home and opens the client library on it; set,
// if any, adjust the options.
func (a *app) openClient(ctx context.Context, f *netFlags, network bool, set ...func(*client.Options)) (*client.Client, error) {
	// A daemon's home is refused first, before flags or a passphrase
	// matter.
	if _, err := a.ownHome(); err != nil {
		return nil, err
	}
	o, err := f.options(network)
	if err != nil {
		return nil, err
	}
	for _, s := range set {
		s(&o)
	}
	h, pass, err := a.homePassphrase()
	if err != nil {
		return nil, err
	}
	o.Clock = a.testClock()
	if fs := a.testFiles(); fs != nil {
		o.Files = fs
	}
	return h.Open(ctx, pass, o)
}

// signalContext ends on Ctrl-C or SIGTERM.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func (a *app) sendCommand() *cobra.Command {
	var (
		f       netFlags
		files   []string
		caption string
		asFile  bool
		reply   string
		voiceF  string
	)
	cmd := &cobra.Command{
		Use:   "send ID TEXT [--reply MSG_ID] | send ID --file PATH [--file PATH...] [--caption TEXT] [--as-file] | send ID --voice FILE",
		Short: "Send a message or files to an Account ID or a contact's nickname",
		Long: `Send a message. ID is a full Account ID or the nickname you gave a contact.
The message is sent at once when the network is reachable, else it waits in
the outbox and goes out the next time a hush command reaches the network.

With --file, send files (several --file in one message) with --caption as
the text. Each is encrypted under a fresh key, padded, and uploaded in
pieces to the network's file server through onion paths; the size cap is
checked before anything is uploaded. Photos (JPEG, PNG, WebP) are
re-encoded without their metadata (EXIF, GPS) and get a thumbnail;
--as-file sends the bytes untouched. Progress shows on a terminal, and as
JSON lines on stderr with --json. With --voice, send a WAV or Ogg Opus
file as a voice note: its duration and waveform are read from the file
(an Ogg file's waveform is flat: hush decodes no Opus).

With --reply, the message replies to message MSG_ID of the same chat (its
id in hush --json chat show ID): it quotes the message's author and the
start of its text, which the other side shows even after the original is
gone there.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if voiceF != "" && len(files) > 0 {
				return errors.New("--voice sends one file: no --file beside it")
			}
			if len(files) > 0 || voiceF != "" {
				if reply != "" {
					return errors.New("--reply goes with a text message, not --file or --voice")
				}
				return cobra.ExactArgs(1)(cmd, args)
			}
			if caption != "" || asFile {
				return errors.New("--caption and --as-file go with --file")
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
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
			events, stop := c.Subscribe(32)
			var m client.Message
			if voiceF != "" {
				files = []string{voiceF} // a voice note: one audio file (convb.go)
			}
			if len(files) > 0 {
				var names []client.Attachment
				var send []client.FileToSend
				for i, p := range files {
					send = append(send, client.FileToSend{Path: p, AsFile: asFile, Voice: voiceF != ""})
					names = append(names, client.Attachment{Index: i, FileName: filepath.Base(p)})
				}
				done := a.showTransfers(c, names) // media.go
				m, err = c.SendFiles(ctx, peer, caption, send)
				done()
			} else {
				m, err = c.SendWith(ctx, peer, args[1], client.SendOptions{ReplyTo: strings.TrimSpace(reply)}) // conva.go
			}
			if err != nil {
				stop()
				return err
			}
			// The background duties: receive what waits, retry the rest.
			c.Sync(ctx)
			if m2, err := c.Message(m.ID); err == nil {
				m = m2
			}
			stop()
			a.keyNotices(c, peer, events) // bundle.go
			if a.jsonOut {
				return a.printJSON(m)
			}
			fmt.Fprintf(a.stdout, "%s (%s)\n", m.Status, m.MessageID)
			for _, at := range m.Attachments {
				fmt.Fprintln(a.stdout, attachmentLine(m.ID, at))
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVar(&files, "file", nil, "a file to send (repeat for several)")
	cmd.Flags().StringVar(&caption, "caption", "", "the text sent with --file")
	cmd.Flags().BoolVar(&asFile, "as-file", false, "send photos as files: bytes untouched, no re-encoding, no thumbnail")
	cmd.Flags().StringVar(&reply, "reply", "", "reply to this message (its id) of the same chat")
	cmd.Flags().StringVar(&voiceF, "voice", "", "send a WAV or Ogg Opus file as a voice note, with its duration and waveform")
	return cmd
}

func (a *app) receiveCommand() *cobra.Command {
	var (
		f        netFlags
		follow   bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "receive",
		Short: "Fetch new messages and print them",
		Long: `Poll the network once and print every message not printed before (it then
counts as read). With --follow, keep receiving and print messages as they
arrive, until interrupted: in the notification mode fast (the default, see
"hush notifications") a long-lived request through an onion path brings
each message as soon as it is stored, and a poll every minute is the safety
net; in the mode slow it polls every --interval. With --json, one JSON
object per message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			if follow && interval <= 0 {
				return errors.New("--interval must be positive")
			}
			c, err := a.openClient(ctx, &f, true, func(o *client.Options) {
				o.PollInterval = interval
				if follow {
					// Run reports failures it retries through the log.
					o.Logger = slog.New(warnings{a.stderr})
				}
			})
			if err != nil {
				return err
			}
			defer c.Close()
			nicks := nicknames(c)
			enc := json.NewEncoder(a.stdout)
			print := func() error {
				if !a.jsonOut {
					a.printNewDevices(c) // devices.go
				}
				ms, err := c.TakeUnread()
				for _, m := range ms {
					if a.jsonOut {
						if err := enc.Encode(m); err != nil {
							return err
						}
						continue
					}
					var notes []string
					if m.DisplayName != "" && nicks[m.Sender] == "" {
						notes = append(notes, hint(m.DisplayName))
					}
					if m.Request {
						notes = append(notes, "message request")
					}
					if m.Muted {
						// A muted chat's message: printed, but it is no
						// notification (convb.go).
						notes = append(notes, "muted")
					}
					note := ""
					if len(notes) > 0 {
						note = "  [" + strings.Join(notes, ", ") + "]"
					}
					who := label(nicks, m.Sender)
					if client.IsGroupID(m.Peer) {
						who = groupLabel(c, nicks, m) // group.go
					}
					fmt.Fprintf(a.stdout, "%s %s: %s%s\n", m.SentAt.Local().Format(time.DateTime), who, m.Text, note)
				}
				if err != nil {
					return err
				}
				// Read receipts and after-read timers reach the network.
				if err := c.Flush(ctx); err != nil && !errors.Is(err, client.ErrUnreachable) {
					fmt.Fprintln(a.stderr, "hush: "+err.Error())
				}
				return nil
			}
			if !follow {
				events, stop := c.Subscribe(256)
				_, syncErr := c.Sync(ctx)
				stop()
				a.dropNotices(events) // bundle.go
				if err := print(); err != nil {
					return err
				}
				return syncErr
			}
			// Run does every background duty in the notification mode
			// (receiving, the outbox, timers, keys); what it stores is
			// printed as it arrives, and what another process on this home
			// stored (a send's poll) every --interval.
			events, unsubscribe := c.Subscribe(256)
			defer unsubscribe()
			if err := print(); err != nil {
				return err
			}
			rctx, stop := context.WithCancel(ctx)
			defer stop()
			ran := make(chan error, 1)
			go func() { ran <- c.Run(rctx) }()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				var err error
				select {
				case <-ctx.Done():
					stop()
					return <-ran
				case err := <-ran: // the client failed under it
					return err
				case e := <-events:
					if e.Kind != client.EventReceived && e.Kind != client.EventNewDevice {
						continue
					}
					drain(events) // a batch is printed at once
					err = print()
				case <-t.C:
					err = print()
				}
				if err != nil {
					stop()
					return errors.Join(err, <-ran)
				}
			}
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&follow, "follow", false, "keep receiving and print messages as they arrive")
	cmd.Flags().DurationVar(&interval, "interval", client.DefaultPollInterval, "time between polls with --follow in the slow notification mode")
	return cmd
}

// drain empties ch of the events waiting in it.
func drain(ch <-chan client.Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// warnings is a slog handler that prints warnings and worse as the CLI's
// error lines ("hush: poll failed: ..."), and nothing else: the failures
// a long-running command retries are still shown.
type warnings struct{ w io.Writer }

func (h warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h warnings) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h warnings) WithGroup(string) slog.Handler                { return h }
func (h warnings) Handle(_ context.Context, r slog.Record) error {
	line := "hush: " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += ": " + a.Value.String()
		}
		return true
	})
	_, err := fmt.Fprintln(h.w, line)
	return err
}

// nicknames maps contacts to their nicknames, for display.
func nicknames(c *client.Client) map[identity.AccountID]string {
	cs, _ := c.Contacts()
	m := map[identity.AccountID]string{}
	for _, ct := range cs {
		if ct.Nickname != "" {
			m[ct.Account] = ct.Nickname
		}
	}
	return m
}

// label names an account by its nickname, or its full Account ID: never by
// a name the account chose for itself.
func label(nicks map[identity.AccountID]string, id identity.AccountID) string {
	if n, ok := nicks[id]; ok {
		return n
	}
	return id.String()
}

func (a *app) chatsCommand() *cobra.Command {
	var archived bool
	cmd := &cobra.Command{
		Use:   "chats",
		Short: "List conversations, pinned first, then most recent first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			list, empty := c.Conversations, "No conversations."
			if archived {
				list, empty = c.ArchivedConversations, "No archived conversations."
			}
			cs, err := list()
			if err != nil {
				return err
			}
			return printList(a, cs, empty, chatRow) // convb.go
		},
	}
	cmd.Flags().BoolVar(&archived, "archived", false, "list the archived conversations instead")
	return cmd
}

func (a *app) chatCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "chat", Short: "Show, set or delete one conversation"}
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Print a conversation, oldest first, with each message's state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			h, err := c.History(peer)
			if err != nil {
				return fmt.Errorf("no conversation with %s: %w", args[0], err)
			}
			if a.jsonOut {
				return a.printJSON(conversationJSON(c, peer, h)) // bundle.go
			}
			nicks := nicknames(c)
			if waiting, why, _ := c.WaitingForKeys(peer); waiting {
				// Protocol v2 has no weaker fallback: say why nothing goes out.
				fmt.Fprintf(a.stdout, "(waiting for %s's keys: %s; queued messages are retried)\n", label(nicks, peer), why)
			}
			for _, m := range h {
				who := label(nicks, m.Sender)
				if client.IsGroupID(peer) {
					who = groupSenderLabel(nicks, m.Sender) // group.go
				}
				if m.Outgoing {
					who = "me"
				}
				state := m.Status
				if m.Disappearing != "" && !m.ExpiresAt.IsZero() {
					state += ", disappears " + m.ExpiresAt.Local().Format(time.DateTime)
				}
				writeQuote(a.stdout, nicks, c.Account(), m.Quote) // conva.go
				fmt.Fprintf(a.stdout, "%s %s: %s [%s]\n", m.SentAt.Local().Format(time.DateTime), who, m.Text, state)
				for _, at := range m.Attachments {
					fmt.Fprintln(a.stdout, attachmentLine(m.ID, at)) // media.go
				}
				for _, p := range m.Previews {
					fmt.Fprintln(a.stdout, previewLine(p)) // convb.go
				}
				writeReactions(a.stdout, nicks, c.Account(), m) // conva.go
			}
			return nil
		},
	})
	cmd.AddCommand(a.chatSetCommand())      // social.go
	cmd.AddCommand(a.chatFlagCommands()...) // convb.go
	var f netFlags
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a conversation here and its copies in your swarm, for good",
		Args:  cobra.ExactArgs(1),
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
			n, err := c.DeleteChat(ctx, peer)
			remote := err == nil
			if err != nil && !errors.Is(err, client.ErrUnreachable) {
				return err
			}
			c.Sync(ctx)
			if a.jsonOut {
				return a.printJSON(map[string]any{"deleted": n, "remote_done": remote})
			}
			fmt.Fprintf(a.stdout, "Deleted %d messages.\n", n)
			if !remote {
				fmt.Fprintln(a.stdout, "The copies in your swarm will be deleted when the network is reachable.")
			}
			return nil
		},
	}
	f.register(del)
	cmd.AddCommand(del)
	return cmd
}

func (a *app) contactsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contacts",
		Short: "List contacts, or add one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			cs, err := c.Contacts()
			if err != nil {
				return err
			}
			return printList(a, cs, "No contacts.", func(ct client.Contact) []string {
				row := []string{ct.Nickname, ct.Account.String()}
				if ct.Avatar {
					row = append(row, "[picture]")
				}
				return row
			})
		},
	}
	var avatarOut string
	avatarCmd := &cobra.Command{
		Use:   "avatar ID --out PATH",
		Short: "Write a decrypted copy of a contact's profile picture where you ask",
		Long: `Write the profile picture a contact sent (fetched by the receive loop, never
for a message request) to --out, which must not exist yet. ID is an Account
ID or a contact's nickname.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if avatarOut == "" {
				return errors.New("--out is required")
			}
			if _, err := os.Lstat(avatarOut); err == nil {
				return fmt.Errorf("%s exists; not overwriting it", avatarOut)
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			if err := writeAtomically(avatarOut, func(w io.Writer) error { return c.OpenAvatar(peer, w) }); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"path": avatarOut, "id": peer})
			}
			fmt.Fprintf(a.stdout, "Wrote %s.\n", avatarOut)
			return nil
		},
	}
	avatarCmd.Flags().StringVar(&avatarOut, "out", "", "where to write the picture")
	cmd.AddCommand(avatarCmd)
	var name string
	add := &cobra.Command{
		Use:   "add ID --name NICK",
		Short: "Add a contact with a local nickname (or rename one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(name) == "" {
				return errors.New("--name is required")
			}
			id, err := identity.ParseAccountID(strings.TrimSpace(args[0]))
			if err != nil {
				return fmt.Errorf("%w: %w", client.ErrBadAccountID, err)
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.AddContact(id, name); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(client.Contact{Account: id, Nickname: strings.TrimSpace(name)})
			}
			fmt.Fprintf(a.stdout, "Added %s as %s.\n", id, strings.TrimSpace(name))
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "the nickname (local only; never sent)")
	cmd.AddCommand(add)
	return cmd
}

func (a *app) storageCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "storage",
		Short: "Show the storage messages, media files and thumbnails use, per conversation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			u, err := c.Storage() // media.go
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(u)
			}
			fmt.Fprintf(a.stdout, "Messages: %d bytes\nMedia: %d bytes (%d in the media folder)\nThumbnails: %d bytes\nDatabase: %d bytes\nOutbox: %d items\n",
				u.MessageBytes, u.MediaBytes, u.MediaFolderBytes, u.ThumbnailBytes, u.DatabaseBytes, u.Outbox)
			return printList(a, u.Conversations, "", func(cu client.ConversationStorage) []string {
				name := cu.Peer.String()
				if cu.Nickname != "" {
					name = cu.Nickname
				}
				return []string{name, fmt.Sprintf("%d messages", cu.Messages), fmt.Sprintf("%d bytes", cu.MessageBytes),
					fmt.Sprintf("%d media files", cu.MediaFiles), fmt.Sprintf("%d bytes", cu.MediaBytes),
					fmt.Sprintf("%d thumbnails", cu.Thumbnails), fmt.Sprintf("%d bytes", cu.ThumbnailBytes)}
			})
		},
	}
}

package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// The commands of conversations between people: profile name, receipts,
// message requests, blocking, unsend, delete-message and disappearing
// timers. Receipts are a setting of this device (`hush settings receipts
// on|off`, off by default as in Session), since they reveal when this
// device is online.

func (a *app) profileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show your profile: the display name sent with your messages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			return a.showProfile(c)
		},
	}
	var (
		setName, avatar string
		noAvatar        bool
		sf              netFlags
	)
	set := &cobra.Command{
		Use:   "set [--name NAME] [--avatar PATH | --no-avatar]",
		Short: "Set the display name or the profile picture sent with your messages",
		Long: `Set what every later message carries in your profile. --avatar uploads a
picture (JPEG, PNG or WebP) to the network's file server through onion paths:
it is re-encoded without its metadata (EXIF, GPS, text chunks) and scaled to
fit 640×640 first, and uploaded again before the server would expire it.
--no-avatar stops sending one; contacts remove it on your next message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nameSet := cmd.Flags().Changed("name")
			if avatar != "" && noAvatar {
				return errors.New("--avatar and --no-avatar exclude each other")
			}
			if !nameSet && avatar == "" && !noAvatar {
				return errors.New("nothing to set: give --name, --avatar or --no-avatar")
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &sf, avatar != "")
			if err != nil {
				return err
			}
			defer c.Close()
			if nameSet {
				if err := c.SetProfileName(setName); err != nil {
					return err
				}
			}
			switch {
			case avatar != "":
				stop := a.showTransfers(c, []client.Attachment{{FileName: filepath.Base(avatar)}})
				err = c.SetAvatar(ctx, avatar)
				stop()
			case noAvatar:
				err = c.ClearAvatar()
			}
			if err != nil {
				return err
			}
			return a.showProfile(c)
		},
	}
	set.Flags().StringVar(&setName, "name", "", "the display name (\"\" to stop sending one)")
	set.Flags().StringVar(&avatar, "avatar", "", "a picture to send as your profile picture")
	set.Flags().BoolVar(&noAvatar, "no-avatar", false, "stop sending a profile picture")
	sf.register(set)
	cmd.AddCommand(set)
	cmd.AddCommand(&cobra.Command{
		Use:   "set-name NAME",
		Short: "Set the display name sent with your messages (\"\" to stop sending one)",
		Long: `Set the display name sent with every later message. Others see it as a hint
beside your Account ID; it never addresses you, since anyone can choose any
name.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SetProfileName(args[0]); err != nil {
				return err
			}
			name, _ := c.ProfileName()
			if a.jsonOut {
				return a.printJSON(map[string]any{"id": c.Account(), "display_name": name})
			}
			fmt.Fprintf(a.stdout, "Display name: %q\n", name)
			return nil
		},
	})
	return cmd
}

// showProfile prints the own profile: Account ID, display name and
// whether a picture is set (until when its upload lasts).
func (a *app) showProfile(c *client.Client) error {
	name, err := c.ProfileName()
	if err != nil {
		return err
	}
	av, exp, err := c.ProfileAvatar()
	if err != nil {
		return err
	}
	if a.jsonOut {
		out := map[string]any{"id": c.Account(), "display_name": name, "avatar": av}
		if av {
			out["avatar_expires"] = exp
		}
		return a.printJSON(out)
	}
	if name == "" {
		name = "(none)"
	}
	pic := "(none)"
	if av {
		pic = "set, on the file server until " + exp.UTC().Format(time.DateOnly)
	}
	fmt.Fprintf(a.stdout, "Account ID: %s\nDisplay name: %s\nPicture: %s\n", c.Account(), name, pic)
	return nil
}

func (a *app) settingsCommand() *cobra.Command {
	show := func(c *client.Client) error {
		on, err := c.Receipts()
		if err != nil {
			return err
		}
		calls, err := c.CallMode()
		if err != nil {
			return err
		}
		previews, err := c.LinkPreviews()
		if err != nil {
			return err
		}
		if a.jsonOut {
			return a.printJSON(map[string]any{"receipts": on, "calls": calls, "link_previews": previews})
		}
		fmt.Fprintf(a.stdout, "receipts: %s\ncalls: %s\nlink previews: %s\n", onOff(on), calls, onOff(previews))
		return nil
	}
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show this device's settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			return show(c)
		},
	}
	cmd.AddCommand(a.callsSettingCommand()) // call.go
	cmd.AddCommand(a.linkPreviewsCommand()) // convb.go
	cmd.AddCommand(&cobra.Command{
		Use:   "receipts on|off",
		Short: "Send delivery and read receipts and typing indicators (off by default)",
		Long: `Turn delivery and read receipts on or off. A receipt tells the sender when
this device fetched and when you read a message, so they are off by default.
They go only to accounts you accepted. Receipts others send are always shown.
Without read receipts, the sender of an after-read disappearing message keeps
its copy until the 14-day inbox lifetime ends.

Typing indicators follow the same setting, both ways: with it off, no one
learns when you type, and you are not shown when others type.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"on", "off"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "on" && args[0] != "off" {
				return fmt.Errorf("want on or off, not %q", args[0])
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SetReceipts(args[0] == "on"); err != nil {
				return err
			}
			return show(c)
		},
	})
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (a *app) requestsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List message requests: conversations opened by accounts you have not accepted",
		Long: `List message requests. A first message from an unknown Account ID waits here
(and hush receive marks it as a request) until you accept it with
hush accept ID or refuse it with hush requests delete ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			rs, err := c.Requests()
			if err != nil {
				return err
			}
			return printList(a, rs, "No message requests.", func(r client.Request) []string {
				if r.Group {
					// A name an admin chose: quoted, and the ID beside it.
					return []string{r.Peer.String(), "group invitation " + hint(r.DisplayName) + " from " + r.InvitedBy.Short(), fmt.Sprintf("%d messages", r.Messages), r.LastActivity.Local().Format(time.DateTime)}
				}
				return []string{r.Peer.String(), hint(r.DisplayName), fmt.Sprintf("%d messages", r.Messages), r.LastActivity.Local().Format(time.DateTime)}
			})
		},
	}
	var f netFlags
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Refuse a message request: delete its conversation here and in your swarm",
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
			n, err := c.DeleteRequest(ctx, peer)
			if err != nil && !errors.Is(err, client.ErrUnreachable) {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"deleted": n, "remote_done": err == nil})
			}
			fmt.Fprintf(a.stdout, "Deleted the request (%d messages).\n", n)
			return nil
		},
	}
	f.register(del)
	cmd.AddCommand(del)
	return cmd
}

// hint shows a display name as what it is: a claim, in quotes.
func hint(name string) string {
	if name == "" {
		return "-"
	}
	return "~" + fmt.Sprintf("%q", name)
}

// contactFlagCommand is accept, block and unblock: local changes to a
// contact, named by Account ID or nickname.
func (a *app) contactFlagCommand(use, short, done string, fn func(*client.Client, identity.AccountID) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
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
			if err := fn(c, peer); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"id": peer, "done": use})
			}
			fmt.Fprintf(a.stdout, "%s %s.\n", done, peer)
			return nil
		},
	}
}

func (a *app) acceptCommand() *cobra.Command {
	return a.contactFlagCommand("accept", "Accept a message request", "Accepted", func(c *client.Client, peer identity.AccountID) error {
		return c.Accept(peer)
	})
}

func (a *app) blockCommand() *cobra.Command {
	return a.contactFlagCommand("block", "Block an account: its messages are dropped unread and deleted from your swarm", "Blocked", func(c *client.Client, peer identity.AccountID) error {
		return c.Block(peer)
	})
}

func (a *app) unblockCommand() *cobra.Command {
	return a.contactFlagCommand("unblock", "Unblock an account", "Unblocked", func(c *client.Client, peer identity.AccountID) error {
		return c.Unblock(peer)
	})
}

func (a *app) unsendCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "unsend ID MSG_ID",
		Short: "Delete a message you sent, for everyone",
		Long: `Delete a message you sent to ID, for everyone: here and in your swarm at once,
and at the recipient, whose client deletes it when the signed unsend request
arrives. MSG_ID is the message's id (hush --json chat show ID).`,
		Args: cobra.ExactArgs(2),
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
			err = c.Unsend(ctx, peer, strings.TrimSpace(args[1]))
			if err != nil && !errors.Is(err, client.ErrUnreachable) {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"unsent": args[1], "remote_done": err == nil})
			}
			fmt.Fprintln(a.stdout, "Unsent.")
			if err != nil {
				fmt.Fprintln(a.stdout, "The recipient will be asked to delete it when the network is reachable.")
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func (a *app) deleteMessageCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "delete-message MSG_ID",
		Short: "Delete one message for you only, here and in your swarm",
		Long: `Delete one message for you only: here (with its files) and its copy in your
swarm, so neither the next receive nor a device of yours that has not
fetched it yet brings it back. Nothing is sent: the other party, and your
devices that already hold it, keep it (hush unsend deletes a message you
sent for everyone). MSG_ID is the message's local ID, as media list and
chat show print it (local_id in hush --json chat show ID).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := localID(args[0]) // media.go
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			err = c.DeleteMessage(ctx, id)
			if err != nil && !errors.Is(err, client.ErrUnreachable) {
				return fmt.Errorf("message %d: %w", id, err)
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"deleted": id, "remote_done": err == nil})
			}
			fmt.Fprintln(a.stdout, "Deleted.")
			if err != nil {
				fmt.Fprintln(a.stdout, "Its copy in your swarm will be deleted when the network is reachable.")
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func (a *app) chatSetCommand() *cobra.Command {
	var (
		f         netFlags
		disappear string
		after     string
	)
	cmd := &cobra.Command{
		Use:   "set ID --disappear 5m|off [--after send|read]",
		Short: "Set a conversation's disappearing messages",
		Long: `Set disappearing messages for a conversation, for both sides: the setting
travels in a signed message naming you as the one who changed it, and inside
every later message. --after send (the default) deletes a message the timer
after it was sent, also from the swarms; --after read deletes it the timer
after the recipient read it. --disappear off turns it off.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, d := client.DisappearOff, time.Duration(0)
			if disappear == "" {
				return errors.New("--disappear is required (a duration such as 5m, or off)")
			}
			if disappear != "off" {
				var err error
				if d, err = time.ParseDuration(disappear); err != nil {
					return fmt.Errorf("--disappear: %w", err)
				}
				switch after {
				case "send":
					mode = client.DisappearAfterSend
				case "read":
					mode = client.DisappearAfterRead
				default:
					return fmt.Errorf("--after: want send or read, not %q", after)
				}
			}
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
			t, err := c.SetTimer(ctx, peer, mode, d)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(t)
			}
			fmt.Fprintln(a.stdout, "Disappearing messages: "+timerText(t))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&disappear, "disappear", "", "the timer (e.g. 30s, 5m, 1h), or off")
	cmd.Flags().StringVar(&after, "after", "send", "start the timer when a message is sent or when it is read: send|read")
	return cmd
}

func timerText(t client.Timer) string {
	if t.Mode == client.DisappearOff {
		return "off"
	}
	return fmt.Sprintf("%s %v", t.Mode, t.After)
}

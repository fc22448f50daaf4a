package cli

// Issue 22's note to self, mute/pin/archive, voice notes and link
// previews (convb): the chat flag commands, the flag marks of the chat
// list, the voice-note line of an attachment and the link-preview setting.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// chatFlagCommands are `hush chat mute|unmute|pin|unpin|archive|unarchive
// ID`: the flag is set here at once and synced to the account's other
// devices (a sync is tried now, else the next command that reaches the
// network does it).
func (a *app) chatFlagCommands() []*cobra.Command {
	var out []*cobra.Command
	for _, fc := range []struct {
		use, short string
		set        func(*client.Client, client.Conversation) error
	}{
		{"mute", "Mute a conversation: its messages raise no notification", func(c *client.Client, cv client.Conversation) error { return c.SetMuted(cv.Peer, true) }},
		{"unmute", "Unmute a conversation", func(c *client.Client, cv client.Conversation) error { return c.SetMuted(cv.Peer, false) }},
		{"pin", "Pin a conversation to the top of the list", func(c *client.Client, cv client.Conversation) error { return c.SetPinned(cv.Peer, true) }},
		{"unpin", "Unpin a conversation", func(c *client.Client, cv client.Conversation) error { return c.SetPinned(cv.Peer, false) }},
		{"archive", "Archive a conversation: hidden from hush chats until a new message arrives (a muted one stays archived)", func(c *client.Client, cv client.Conversation) error { return c.SetArchived(cv.Peer, true) }},
		{"unarchive", "Bring an archived conversation back to the list", func(c *client.Client, cv client.Conversation) error { return c.SetArchived(cv.Peer, false) }},
	} {
		var f netFlags
		cmd := &cobra.Command{
			Use:   fc.use + " ID",
			Short: fc.short,
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
				if err := fc.set(c, client.Conversation{Peer: peer}); err != nil {
					return err
				}
				// The other devices learn it through the config.
				if _, err := c.Sync(ctx); err != nil && !errors.Is(err, client.ErrUnreachable) && !errors.Is(err, client.ErrNoNetwork) {
					fmt.Fprintln(a.stderr, "hush: "+err.Error())
				}
				fl, err := c.ChatFlagsOf(peer)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(fl)
				}
				fmt.Fprintf(a.stdout, "%s: %s\n", args[0], flagText(fl))
				return nil
			},
		}
		f.register(cmd)
		out = append(out, cmd)
	}
	return out
}

func flagText(fl client.ChatFlags) string {
	var on []string
	if fl.Pinned {
		on = append(on, "pinned")
	}
	if fl.Muted {
		on = append(on, "muted")
	}
	if fl.Archived {
		on = append(on, "archived")
	}
	if len(on) == 0 {
		return "not muted, pinned or archived"
	}
	return strings.Join(on, ", ")
}

// chatRow is a line of `hush chats`: name, counts, time, and the flags.
func chatRow(cv client.Conversation) []string {
	name := cv.Peer.String()
	switch {
	case cv.NoteToSelf:
		name = client.NoteToSelfName
	case cv.Group:
		name = "group " + cv.Nickname + " (" + cv.Peer.Short() + ")"
	case cv.Nickname != "":
		name = cv.Nickname + " (" + cv.Peer.Short() + ")"
	case cv.DisplayName != "":
		name += " " + hint(cv.DisplayName)
	}
	row := []string{name, fmt.Sprintf("%d messages", cv.Messages), fmt.Sprintf("%d unread", cv.Unread), cv.LastActivity.Local().Format(time.DateTime)}
	var marks []string
	if cv.Pinned {
		marks = append(marks, "pinned")
	}
	if cv.Muted {
		marks = append(marks, "muted")
	}
	if len(marks) > 0 {
		row = append(row, "["+strings.Join(marks, ", ")+"]")
	}
	return row
}

// voiceText describes a voice note's attachment line.
func voiceText(at client.Attachment) string {
	if !at.Voice {
		return ""
	}
	d := time.Duration(at.DurationMS) * time.Millisecond
	return fmt.Sprintf("voice note %d:%02d, ", int(d.Minutes()), int(d.Seconds())%60)
}

// linkPreviewsCommand is `hush settings link-previews on|off`.
func (a *app) linkPreviewsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "link-previews on|off",
		Short: "Make link previews of the links you send (off by default; reveals your IP to the site)",
		Long: `Turn link previews on or off for messages this device sends.

` + client.LinkPreviewsWarning + `

Tracking parameters (utm_*, fbclid, gclid, ...) are removed from the links
you send whether or not a preview is made; the fetch is https only, at most
256 KiB of page and 1 MiB of image, within 5 seconds.`,
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
			on := args[0] == "on"
			if err := c.SetLinkPreviews(on); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"link_previews": on, "warning": client.LinkPreviewsWarning})
			}
			if on {
				fmt.Fprintln(a.stdout, "Warning: "+client.LinkPreviewsWarning)
			}
			fmt.Fprintf(a.stdout, "link previews: %s\n", onOff(on))
			return nil
		},
	}
}

// previewLine is a link preview under a message: the sender's claims,
// quoted, and whether it carried an image.
func previewLine(p client.LinkPreview) string {
	img := ""
	if len(p.Image) > 0 {
		img = ", with an image"
	}
	return fmt.Sprintf("    > link preview %q: %q%s (%s)", p.Title, p.Description, img, p.URL)
}

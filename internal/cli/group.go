package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// The commands of closed groups (issue 21, docs/groups.md). A group is
// named by its ID (66 hex characters starting 03) or its name when only
// one group here has it. Sending to a group is `hush send GROUP TEXT`,
// reading it `hush chat show GROUP`; an invitation is a request
// (`hush requests`, `hush accept GROUP`).

func (a *app) groupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Create and manage closed groups",
		Long: `Closed groups of up to 100 members. A group has its own key and swarm; only
its members can read it, and the nodes never learn who they are. Admins hold
the group's key: they invite, remove and promote members and rename the
group. An admin cannot be demoted, since the key cannot be taken back.
Removing a member gives everyone else a new key, so the removed member reads
nothing sent after.`,
	}
	var f netFlags
	var members []string
	create := &cobra.Command{
		Use:   "create NAME [--member ID ...]",
		Short: "Create a group with you as its admin and invite members",
		Args:  cobra.ExactArgs(1),
		RunE: a.groupRun(&f, func(ctx context.Context, c *client.Client, args []string) (any, string, error) {
			var ids []identity.AccountID
			for _, m := range members {
				id, err := c.Resolve(m)
				if err != nil {
					return nil, "", err
				}
				ids = append(ids, id)
			}
			g, err := c.CreateGroup(ctx, args[0], ids)
			if err != nil {
				return nil, "", err
			}
			return g, fmt.Sprintf("Created group %q: %s (%d members)", g.Name, g.ID, g.Members), nil
		}),
	}
	create.Flags().StringArrayVar(&members, "member", nil, "an Account ID or nickname to invite (repeat for several)")
	f.register(create)

	cmd.AddCommand(create,
		a.groupMembersCommand("invite", "Invite accounts to a group (admins)", "Invited", func(ctx context.Context, c *client.Client, g identity.AccountID, ids []identity.AccountID) error {
			return c.InviteToGroup(ctx, g, ids...)
		}),
		a.groupMembersCommand("remove", "Remove members from a group; the others get a new key (admins)", "Removed", func(ctx context.Context, c *client.Client, g identity.AccountID, ids []identity.AccountID) error {
			return c.RemoveFromGroup(ctx, g, ids...)
		}),
		a.groupMembersCommand("promote", "Make members admins; this cannot be undone (admins)", "Promoted", func(ctx context.Context, c *client.Client, g identity.AccountID, ids []identity.AccountID) error {
			for _, id := range ids {
				if err := c.PromoteInGroup(ctx, g, id); err != nil {
					return err
				}
			}
			return nil
		}),
		a.groupOneCommand("leave", "Leave a group (or decline its invitation)", true, func(ctx context.Context, c *client.Client, g identity.AccountID) (any, string, error) {
			return map[string]any{"id": g, "left": true}, "Left the group.", c.LeaveGroup(ctx, g)
		}),
		a.groupOneCommand("accept", "Accept a group's invitation", true, func(ctx context.Context, c *client.Client, g identity.AccountID) (any, string, error) {
			return map[string]any{"id": g, "accepted": true}, "Joined the group.", c.AcceptGroup(ctx, g)
		}),
		a.groupOneCommand("delete", "Delete a group for everyone: its swarm's data and your copy (admins)", true, func(ctx context.Context, c *client.Client, g identity.AccountID) (any, string, error) {
			return map[string]any{"id": g, "deleted": true}, "Deleted the group.", c.DeleteGroup(ctx, g)
		}),
		a.groupOneCommand("info", "Show a group's name, state, role and size", false, func(_ context.Context, c *client.Client, g identity.AccountID) (any, string, error) {
			gi, err := c.GroupInfo(g)
			if err != nil {
				return nil, "", err
			}
			role := "member"
			if gi.Admin {
				role = "admin"
			}
			s := fmt.Sprintf("%s\nid: %s\nstate: %s\nyour role: %s\nmembers: %d", gi.Name, gi.ID, gi.State, role, gi.Members)
			if gi.DisappearAfter > 0 {
				s += fmt.Sprintf("\nmessages disappear %s after sending", gi.DisappearAfter)
			}
			return gi, s, nil
		}),
		a.groupOneCommand("members", "List a group's members, admins first", false, func(_ context.Context, c *client.Client, g identity.AccountID) (any, string, error) {
			ms, err := c.GroupMembers(g)
			if err != nil {
				return nil, "", err
			}
			if a.jsonOut {
				return ms, "", nil
			}
			err = printList(a, ms, "No members.", func(m client.GroupMember) []string {
				name := m.Account.String()
				if m.Nickname != "" {
					name = m.Nickname + " (" + m.Account.Short() + ")"
				}
				if m.Account == c.Account() {
					name += " (you)"
				}
				return []string{name, m.Role, m.State}
			})
			return nil, "", err
		}),
		a.groupRenameCommand(),
		a.groupTimerCommand(),
		a.groupListCommand(),
	)
	return cmd
}

// groupRun is the body of a group command: open the client (with the
// network), run fn, run the background duties, print.
func (a *app) groupRun(f *netFlags, fn func(ctx context.Context, c *client.Client, args []string) (any, string, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := signalContext(cmd)
		defer cancel()
		c, err := a.openClient(ctx, f, true)
		if err != nil {
			return err
		}
		defer c.Close()
		v, text, err := fn(ctx, c, args)
		if err != nil {
			return err
		}
		c.Sync(ctx)
		if a.jsonOut {
			if v == nil {
				return nil
			}
			return a.printJSON(v)
		}
		if text != "" {
			fmt.Fprintln(a.stdout, text)
		}
		return nil
	}
}

// groupOneCommand is a command on one group; network says whether it
// needs the network (else it reads the local database only).
func (a *app) groupOneCommand(use, short string, network bool, fn func(ctx context.Context, c *client.Client, g identity.AccountID) (any, string, error)) *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   use + " GROUP",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, network)
			if err != nil {
				return err
			}
			defer c.Close()
			g, err := c.ResolveGroup(args[0])
			if err != nil {
				return err
			}
			v, text, err := fn(ctx, c, g)
			if err != nil {
				return err
			}
			if network {
				c.Sync(ctx)
			}
			if a.jsonOut {
				if v == nil {
					return nil
				}
				return a.printJSON(v)
			}
			if text != "" {
				fmt.Fprintln(a.stdout, text)
			}
			return nil
		},
	}
	if network {
		f.register(cmd)
	}
	return cmd
}

// groupMembersCommand is invite, remove and promote: GROUP ID...
func (a *app) groupMembersCommand(use, short, done string, fn func(ctx context.Context, c *client.Client, g identity.AccountID, ids []identity.AccountID) error) *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   use + " GROUP ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: a.groupRun(&f, func(ctx context.Context, c *client.Client, args []string) (any, string, error) {
			g, err := c.ResolveGroup(args[0])
			if err != nil {
				return nil, "", err
			}
			var ids []identity.AccountID
			for _, s := range args[1:] {
				id, err := c.Resolve(s)
				if err != nil {
					return nil, "", err
				}
				ids = append(ids, id)
			}
			if err := fn(ctx, c, g, ids); err != nil {
				if errors.Is(err, client.ErrGroupAdminFixed) {
					return nil, "", fmt.Errorf("%w (admins hold the group's key for good)", err)
				}
				return nil, "", err
			}
			return map[string]any{"id": g, use: ids}, fmt.Sprintf("%s %d.", done, len(ids)), nil
		}),
	}
	f.register(cmd)
	return cmd
}

func (a *app) groupRenameCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "rename GROUP NAME",
		Short: "Rename a group (admins)",
		Args:  cobra.ExactArgs(2),
		RunE: a.groupRun(&f, func(ctx context.Context, c *client.Client, args []string) (any, string, error) {
			g, err := c.ResolveGroup(args[0])
			if err != nil {
				return nil, "", err
			}
			if err := c.RenameGroup(ctx, g, args[1]); err != nil {
				return nil, "", err
			}
			return map[string]any{"id": g, "name": args[1]}, "Renamed.", nil
		}),
	}
	f.register(cmd)
	return cmd
}

// groupTimerCommand sets a group's disappearing timer (issue 21): every
// message sent after it disappears the timer after sending, for every
// member, as a 1:1 chat's --after send.
func (a *app) groupTimerCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "timer GROUP DURATION|off",
		Short: "Set a group's disappearing timer, 30s to 336h, or off (admins)",
		Long: `Messages sent to the group after this disappear DURATION after they were
sent (a duration such as 5m or 24h, from 30s to 14 days), for every member.
off turns it off. Only an admin can change it.`,
		Args: cobra.ExactArgs(2),
		RunE: a.groupRun(&f, func(ctx context.Context, c *client.Client, args []string) (any, string, error) {
			var d time.Duration
			if args[1] != "off" {
				var err error
				if d, err = time.ParseDuration(args[1]); err != nil {
					return nil, "", fmt.Errorf("a duration such as 5m, or off: %w", err)
				}
				if d <= 0 {
					return nil, "", fmt.Errorf("%w: %v (use off to turn it off)", client.ErrBadTimer, d)
				}
			}
			g, err := c.ResolveGroup(args[0])
			if err != nil {
				return nil, "", err
			}
			if err := c.SetGroupDisappearing(ctx, g, d); err != nil {
				return nil, "", err
			}
			if d == 0 {
				return map[string]any{"id": g, "disappear_after_s": 0}, "Disappearing messages off.", nil
			}
			return map[string]any{"id": g, "disappear_after_s": int64(d / time.Second)}, fmt.Sprintf("Messages disappear %s after sending.", d), nil
		}),
	}
	f.register(cmd)
	return cmd
}

func (a *app) groupListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the groups known here, invitations included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			gs, err := c.Groups()
			if err != nil {
				return err
			}
			return printList(a, gs, "No groups.", func(g client.Group) []string {
				role := "member"
				if g.Admin {
					role = "admin"
				}
				return []string{g.Name, g.ID.String(), g.State, role, fmt.Sprintf("%d members", g.Members)}
			})
		},
	}
}

// groupLabel names a group message's chat and author for `hush receive`:
// "group NAME / AUTHOR".
func groupLabel(c *client.Client, nicks map[identity.AccountID]string, m client.Message) string {
	name := m.Peer.Short()
	if g, err := c.GroupInfo(m.Peer); err == nil {
		name = fmt.Sprintf("%q", g.Name)
	}
	who := groupSenderLabel(nicks, m.Sender)
	if m.Outgoing {
		who = "me"
	}
	return "group " + name + " / " + who
}

// groupSenderLabel names a group message's author: the nickname of a
// contact, else the short Account ID (never a name the author chose).
func groupSenderLabel(nicks map[identity.AccountID]string, id identity.AccountID) string {
	if n, ok := nicks[id]; ok {
		return n
	}
	return id.Short()
}

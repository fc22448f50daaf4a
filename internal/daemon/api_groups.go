package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// Closed groups (issue 21, docs/groups.md) in the API: the client's group
// nouns under /api/v1/groups. A group's conversation is an ordinary
// conversation whose peer is the group's ID, so its messages are read,
// sent and marked read through /api/v1/conversations/{group}/... like
// any other, each message carrying its author as "sender"; invitations
// are requests (/api/v1/requests, "group": true).

// groupRoutes are the group endpoints, served while unlocked.
func (d *Daemon) groupRoutes() map[string]handler {
	return map[string]handler{
		"GET /api/v1/groups":                                   d.listGroups,
		"POST /api/v1/groups":                                  d.createGroup,
		"GET /api/v1/groups/{group}":                           d.getGroup,
		"PATCH /api/v1/groups/{group}":                         d.patchGroup,
		"DELETE /api/v1/groups/{group}":                        d.deleteGroup,
		"POST /api/v1/groups/{group}/members":                  d.inviteToGroup,
		"DELETE /api/v1/groups/{group}/members/{member}":       d.removeFromGroup,
		"POST /api/v1/groups/{group}/members/{member}/promote": d.promoteInGroup,
		"POST /api/v1/groups/{group}/accept":                   d.acceptGroup,
		"POST /api/v1/groups/{group}/leave":                    d.leaveGroup,
	}
}

// groupJSON is a group with its current members (admins first).
type groupJSON struct {
	client.Group
	MemberList []client.GroupMember `json:"member_list"`
}

// group resolves the {group} path element: a group's ID (03…) or the name
// of exactly one group known here.
func group(r *http.Request, c *client.Client) (identity.AccountID, error) {
	return c.ResolveGroup(r.PathValue("group"))
}

// accounts resolves members given as Account IDs or contacts' nicknames;
// a group is never a member.
func accounts(c *client.Client, in []string) ([]identity.AccountID, error) {
	out := make([]identity.AccountID, 0, len(in))
	for _, s := range in {
		id, err := c.Resolve(s)
		if err != nil {
			return nil, err
		}
		if client.IsGroupID(id) {
			return nil, fmt.Errorf("%w: %s is a group, not an account", client.ErrBadAccountID, id.Short())
		}
		out = append(out, id)
	}
	return out, nil
}

func writeGroup(w http.ResponseWriter, status int, c *client.Client, id identity.AccountID) error {
	g, err := c.GroupInfo(id)
	if err != nil {
		return err
	}
	ms, err := c.GroupMembers(id)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []client.GroupMember{}
	}
	writeJSON(w, status, groupJSON{Group: g, MemberList: ms})
	return nil
}

func (d *Daemon) listGroups(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	gs, err := c.Groups()
	return writeList(w, gs, err)
}

type createGroupBody struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (d *Daemon) createGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b createGroupBody
	if err := decode(r, &b); err != nil {
		return err
	}
	ms, err := accounts(c, b.Members)
	if err != nil {
		return err
	}
	g, err := c.CreateGroup(r.Context(), b.Name, ms)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusCreated, c, g.ID)
}

func (d *Daemon) getGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

// patchGroupBody changes a group's info (admins only); absent fields stay.
type patchGroupBody struct {
	Name *string `json:"name,omitempty"`
	// DisappearAfter is the group's after-send timer; 0 turns it off.
	DisappearAfter *time.Duration `json:"disappear_after_ns,omitempty"`
}

func (d *Daemon) patchGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	var b patchGroupBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.Name == nil && b.DisappearAfter == nil {
		return badRequest("nothing_to_change", "give name or disappear_after_ns")
	}
	if b.Name != nil {
		if err := c.RenameGroup(r.Context(), id, *b.Name); err != nil {
			return err
		}
	}
	if b.DisappearAfter != nil {
		if err := c.SetGroupDisappearing(r.Context(), id, *b.DisappearAfter); err != nil {
			return err
		}
	}
	return writeGroup(w, http.StatusOK, c, id)
}

func (d *Daemon) deleteGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	if err := c.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id.String(), "deleted": true})
	return nil
}

func (d *Daemon) inviteToGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	var b struct {
		Members []string `json:"members"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if len(b.Members) == 0 {
		return badRequest("no_members", "members lists the Account IDs to invite")
	}
	ms, err := accounts(c, b.Members)
	if err != nil {
		return err
	}
	if err := c.InviteToGroup(r.Context(), id, ms...); err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

// member resolves the {member} path element: an Account ID or a contact's
// nickname.
func member(r *http.Request, c *client.Client) (identity.AccountID, error) {
	ms, err := accounts(c, []string{r.PathValue("member")})
	if err != nil {
		return identity.AccountID{}, err
	}
	return ms[0], nil
}

func (d *Daemon) removeFromGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	m, err := member(r, c)
	if err != nil {
		return err
	}
	if err := c.RemoveFromGroup(r.Context(), id, m); err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

func (d *Daemon) promoteInGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	m, err := member(r, c)
	if err != nil {
		return err
	}
	if err := c.PromoteInGroup(r.Context(), id, m); err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

func (d *Daemon) acceptGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	if err := c.AcceptGroup(r.Context(), id); err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

// leaveGroup leaves a group, or declines its invitation; a declined
// invitation's chat goes too (it holds nothing the user wrote).
func (d *Daemon) leaveGroup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := group(r, c)
	if err != nil {
		return err
	}
	if err := leaveOrDecline(r, c, id); err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, c, id)
}

func leaveOrDecline(r *http.Request, c *client.Client, id identity.AccountID) error {
	g, err := c.GroupInfo(id)
	if err != nil {
		return err
	}
	if err := c.LeaveGroup(r.Context(), id); err != nil {
		return err
	}
	if g.State == client.GroupInvited {
		if _, err := c.DeleteChat(r.Context(), id); err != nil && !errors.Is(err, client.ErrNotFound) {
			return err
		}
	}
	return nil
}

// groupNotificationTitle names a group message's author and its group:
// "bob in team", the author by nickname if known, else a short Account
// ID.
func groupNotificationTitle(c *client.Client, m client.Message) string {
	who := m.Sender.Short()
	if cs, err := c.Contacts(); err == nil {
		for _, ct := range cs {
			if ct.Account == m.Sender && ct.Nickname != "" {
				who = ct.Nickname
			}
		}
	}
	g, err := c.GroupInfo(m.Peer)
	if err != nil || g.Name == "" {
		return who + " in a group"
	}
	return who + " in " + g.Name
}

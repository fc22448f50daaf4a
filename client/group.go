package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// Closed groups (issue 21, docs/groups.md): a group is an Ed25519 key pair
// whose ID is 03 ‖ public key, with a swarm of its own. Admins hold the
// private key and sign the group's info and member list; members read
// and write the group swarm with member credentials the admins sign.
// Messages are encrypted under the current group key and signed inside by
// the sender's account key; each group key reaches every member device
// sealed with protocol v2 in the group swarm's keys namespace. This file
// is the API and the local state; groupnet.go talks to the group swarm,
// groupformat.go holds the byte formats.

const (
	// MaxGroupMembers is the most members (admins included) a group has.
	MaxGroupMembers = 100
	// MaxGroupNameLen bounds a group's name, in bytes.
	MaxGroupNameLen = 100
	// groupRotation is how often an admin replaces a stable group's key,
	// so the group has forward secrecy too: one v2 epoch.
	groupRotation = prekey.EpochLength
	// groupKeyLife is how long a group key is kept after it was made:
	// current for up to groupRotation (more while no admin is online),
	// then kept for the messages sealed under it, which live at most
	// InboxTTL, plus the clock-skew margin. Then it is deleted.
	groupKeyLife = groupRotation + InboxTTL + prekey.ClockSkew
)

// Errors of the group API.
var (
	// ErrGroupFull: the change would make the group larger than
	// [MaxGroupMembers].
	ErrGroupFull = fmt.Errorf("a group has at most %d members", MaxGroupMembers)
	// ErrNotGroupAdmin: only an admin (who holds the group's key) may do
	// this.
	ErrNotGroupAdmin = errors.New("only a group admin can do this")
	// ErrNotGroupMember: this account is not (or no longer) a member of
	// the group, or has not accepted its invitation.
	ErrNotGroupMember = errors.New("not a member of this group")
	// ErrUnknownGroup: no group by that ID or name is known here.
	ErrUnknownGroup = errors.New("no such group")
	// ErrGroupAdminFixed: an admin holds the group's private key, which
	// cannot be taken back: it can be neither demoted nor removed.
	ErrGroupAdminFixed = errors.New("an admin holds the group's key and cannot be demoted or removed")
	// ErrBadGroupName: the name is blank or longer than MaxGroupNameLen.
	ErrBadGroupName = errors.New("bad group name")
)

// Group states, as [Group.State] shows them.
const (
	GroupInvited = "invited"
	GroupJoined  = "joined"
	GroupLeft    = "left"
	GroupRemoved = "removed"
)

// Group is a closed group as the client shows it.
type Group struct {
	ID          identity.AccountID `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	// State is invited (an invitation not yet accepted: a request),
	// joined, left or removed.
	State string `json:"state"`
	// Admin: this account is an admin.
	Admin   bool `json:"admin,omitempty"`
	Members int  `json:"members"`
	// InvitedBy is the admin who invited this account.
	InvitedBy identity.AccountID `json:"invited_by,omitzero"`
	// DisappearAfter is the group's after-send timer, zero when off (an
	// admin setting).
	DisappearAfter time.Duration `json:"disappear_after_ns,omitempty"`
	// Version is the member list's version.
	Version uint64 `json:"version"`
}

// GroupMember is one member of a group.
type GroupMember struct {
	Account identity.AccountID `json:"id"`
	// Nickname is the local nickname of the account, if it is a contact.
	Nickname string `json:"name,omitempty"`
	// Role is admin or member; State invited or joined.
	Role  string `json:"role"`
	State string `json:"state"`
}

// groupKey is one group key.
type groupKey struct {
	ID      []byte
	Gen     uint64
	Key     [32]byte
	Expires time.Time
}

// groupState is what this device keeps of a group (sealed in clientdb as
// JSON): the signed info and member list as the admins made them, this
// account's credential, and the admin key when it is an admin.
type groupState struct {
	ID     identity.AccountID `json:"id"`
	Status string             `json:"status"`
	// AdminKey is the group's Ed25519 seed: admins only.
	AdminKey []byte `json:"admin_key,omitempty"`
	// MemberKey and Credential: the per-group member key's seed and the
	// admins' credential for it, which the nodes check.
	MemberKey  []byte `json:"member_key,omitempty"`
	Credential []byte `json:"credential,omitempty"`
	// InfoSigned and RosterSigned are the signed info and member list.
	InfoSigned   []byte             `json:"info"`
	RosterSigned []byte             `json:"members"`
	InvitedBy    identity.AccountID `json:"invited_by,omitzero"`
	// RotatedMS is when this admin last made a key; Rotate asks the next
	// admin duty for a new key (a member left); Publish asks it to store
	// the info, member list and newest key in the group swarm.
	RotatedMS int64 `json:"rotated_ms,omitempty"`
	Rotate    bool  `json:"rotate,omitempty"`
	Publish   bool  `json:"publish,omitempty"`
	// Creds maps member Account IDs to their credential keys (admins
	// only), for revocations.
	Creds map[string][]byte `json:"creds,omitempty"`

	info   groupInfo
	roster groupRoster
}

func (g *groupState) admin() ed25519.PrivateKey {
	if len(g.AdminKey) != ed25519.SeedSize {
		return nil
	}
	return ed25519.NewKeyFromSeed(g.AdminKey)
}

func (g *groupState) isAdmin() bool { return g.admin() != nil }

// parse fills info and roster from their signed forms.
func (g *groupState) parse() error {
	var err error
	if g.info, err = parseInfo(g.ID, g.InfoSigned); err != nil {
		return err
	}
	g.roster, err = parseRoster(g.ID, g.RosterSigned)
	return err
}

// groupMu serializes the load-modify-save of group state in this Client.
var groupMuKey struct{}

func (c *Client) groupLock() *sync.Mutex { return &c.groupMu }

// loadGroup returns the state of group id, or ErrUnknownGroup.
func (c *Client) loadGroup(id identity.AccountID) (*groupState, error) {
	row, err := c.db.Group(id)
	if errors.Is(err, clientdb.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownGroup, id.Short())
	} else if err != nil {
		return nil, err
	}
	var g groupState
	if err := json.Unmarshal(row.State, &g); err != nil {
		return nil, fmt.Errorf("%w: group state: %w", clientdb.ErrCorrupt, err)
	}
	if g.ID != id {
		return nil, fmt.Errorf("%w: group state of another group", clientdb.ErrCorrupt)
	}
	if err := g.parse(); err != nil {
		return nil, fmt.Errorf("%w: %w", clientdb.ErrCorrupt, err)
	}
	return &g, nil
}

func (c *Client) saveGroup(g *groupState) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return c.db.PutGroup(g.ID, b, c.clock())
}

// groupKeys returns the group's keys, newest first.
func (c *Client) groupKeys(id identity.AccountID) ([]groupKey, error) {
	ks, err := c.db.GroupKeys(id)
	if err != nil {
		return nil, err
	}
	now := c.clock()
	var out []groupKey
	for _, k := range ks {
		if k.Expires.After(now) {
			out = append(out, groupKey{ID: k.KeyID, Gen: k.Generation, Key: k.Key, Expires: k.Expires})
		}
	}
	return out, nil
}

func (c *Client) addGroupKey(id identity.AccountID, k groupKey) (bool, error) {
	if !k.Expires.After(c.clock()) {
		return false, nil
	}
	return c.db.AddGroupKey(id, clientdb.GroupKey{KeyID: k.ID, Generation: k.Gen, Key: k.Key, Expires: k.Expires})
}

// newGroupKey makes a random group key of the generation after the
// newest held (never derived from the admin key, so deleting it is
// final).
func (c *Client) newGroupKey(id identity.AccountID) (groupKey, error) {
	ks, err := c.groupKeys(id)
	if err != nil {
		return groupKey{}, err
	}
	k := groupKey{ID: make([]byte, 16), Gen: 1, Expires: c.now().Add(groupKeyLife)}
	if len(ks) > 0 {
		k.Gen = ks[0].Gen + 1
	}
	rand.Read(k.ID)
	rand.Read(k.Key[:])
	return k, nil
}

// ParseGroupID parses a group's ID: 66 hex characters starting 03.
func ParseGroupID(s string) (identity.AccountID, error) {
	var id identity.AccountID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(id) || b[0] != GroupIDPrefix {
		return id, fmt.Errorf("%w: %q is not a group ID (66 hex characters starting 03)", ErrUnknownGroup, s)
	}
	copy(id[:], b)
	return id, nil
}

// ResolveGroup turns what a user typed into a group ID: the group's ID,
// or the name of exactly one group known here.
func (c *Client) ResolveGroup(s string) (identity.AccountID, error) {
	if id, err := ParseGroupID(s); err == nil {
		if _, err := c.loadGroup(id); err != nil {
			return identity.AccountID{}, err
		}
		return id, nil
	}
	gs, err := c.Groups()
	if err != nil {
		return identity.AccountID{}, err
	}
	var found []identity.AccountID
	for _, g := range gs {
		if g.Name == strings.TrimSpace(s) {
			found = append(found, g.ID)
		}
	}
	switch len(found) {
	case 0:
		return identity.AccountID{}, fmt.Errorf("%w: %q", ErrUnknownGroup, s)
	case 1:
		return found[0], nil
	}
	return identity.AccountID{}, fmt.Errorf("%w: %d groups are named %q: use the group's ID", ErrUnknownGroup, len(found), s)
}

func (c *Client) toGroup(g *groupState) Group {
	out := Group{ID: g.ID, Name: g.info.Name, Description: g.info.Description, State: g.Status,
		Admin: g.isAdmin(), Members: len(g.roster.Members), InvitedBy: g.InvitedBy, Version: g.roster.Version,
		DisappearAfter: time.Duration(g.info.DisappearS) * time.Second}
	return out
}

// Groups lists the groups known here (invitations included).
func (c *Client) Groups() ([]Group, error) {
	rows, err := c.db.Groups()
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, r := range rows {
		g, err := c.loadGroup(r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, c.toGroup(g))
	}
	return out, nil
}

// GroupInfo returns group id as the client knows it, or
// [ErrUnknownGroup].
func (c *Client) GroupInfo(id identity.AccountID) (Group, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return Group{}, err
	}
	return c.toGroup(g), nil
}

// GroupMembers lists the members of group id, admins first.
func (c *Client) GroupMembers(id identity.AccountID) ([]GroupMember, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return nil, err
	}
	nicks, err := c.nicknames()
	if err != nil {
		return nil, err
	}
	var out []GroupMember
	for _, m := range g.roster.Members {
		gm := GroupMember{Account: m.Account, Nickname: nicks[m.Account], Role: "member", State: GroupInvited}
		if m.Admin {
			gm.Role = "admin"
		}
		if m.Joined {
			gm.State = GroupJoined
		}
		out = append(out, gm)
	}
	slices.SortStableFunc(out, func(a, b GroupMember) int {
		if a.Role == b.Role {
			return 0
		}
		if a.Role == "admin" {
			return -1
		}
		return 1
	})
	return out, nil
}

func checkGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxGroupNameLen || looksLikeID(name) {
		return "", fmt.Errorf("%w: %q (1 to %d bytes, not an ID)", ErrBadGroupName, name, MaxGroupNameLen)
	}
	return name, nil
}

// CreateGroup creates a group named name with this account as its admin
// and members invited, stores its info, member list and first key in the
// group's swarm, and sends each member an invitation (sealed with
// protocol v2, which each sees as a request). Work the network cannot do
// now is retried by the background duties. It returns [ErrGroupFull] for
// more than MaxGroupMembers members, [ErrBadGroupName] and
// [ErrBadAccountID].
func (c *Client) CreateGroup(ctx context.Context, name string, members []identity.AccountID) (Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return Group{}, err
	}
	self := c.acct.ID()
	roster := groupRoster{Version: 1, Members: []groupEntry{{Account: self, Admin: true, Joined: true}}}
	for _, m := range members {
		if _, err := m.X25519(); err != nil {
			return Group{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
		}
		if _, dup := roster.find(m); !dup {
			roster.Members = append(roster.Members, groupEntry{Account: m})
		}
	}
	if len(roster.Members) > MaxGroupMembers {
		return Group{}, fmt.Errorf("%w: %d asked", ErrGroupFull, len(roster.Members))
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	id := identity.AccountID{GroupIDPrefix}
	copy(id[1:], pub)
	g := &groupState{ID: id, Status: GroupJoined, AdminKey: priv.Seed(), Publish: true, Creds: map[string][]byte{}}
	g.MemberKey, g.Credential = c.issueCredential(g, self)
	for _, m := range roster.Members[1:] {
		mk, _ := c.issueCredential(g, m.Account)
		_ = mk
	}
	if err := c.setInfo(g, groupInfo{Version: 1, Name: name}); err != nil {
		return Group{}, err
	}
	if err := c.setRoster(g, roster); err != nil {
		return Group{}, err
	}
	if err := c.saveGroup(g); err != nil {
		return Group{}, err
	}
	k, err := c.newGroupKey(id)
	if err != nil {
		return Group{}, err
	}
	if _, err := c.addGroupKey(id, k); err != nil {
		return Group{}, err
	}
	g.RotatedMS = c.now().UnixMilli()
	if err := c.saveGroup(g); err != nil {
		return Group{}, err
	}
	if _, err := c.db.EnsureConversation(id, c.clock()); err != nil {
		return Group{}, err
	}
	for _, m := range roster.Members[1:] {
		if err := c.queueInvite(g, m.Account); err != nil {
			return Group{}, err
		}
	}
	if err := c.queueGroupSync(g); err != nil {
		return Group{}, err
	}
	c.groupNetDuties(ctx, g.ID)
	return c.GroupInfo(id)
}

// setInfo signs info as g's info.
func (c *Client) setInfo(g *groupState, in groupInfo) error {
	b, err := signGroupObject(labelGroupInfo, g.ID, g.admin(), in)
	if err != nil {
		return err
	}
	g.InfoSigned, g.info = b, in
	return nil
}

// setRoster signs r as g's member list.
func (c *Client) setRoster(g *groupState, r groupRoster) error {
	b, err := signGroupObject(labelGroupMembers, g.ID, g.admin(), r)
	if err != nil {
		return err
	}
	g.RosterSigned, g.roster = b, r
	return nil
}

// adminChange runs fn on group id's state as an admin, then saves it,
// marks it for publishing and runs the network duties. fn returns the
// accounts to invite.
func (c *Client) adminChange(ctx context.Context, id identity.AccountID, fn func(g *groupState) ([]identity.AccountID, error)) error {
	c.groupMu.Lock()
	g, err := c.loadGroup(id)
	if err != nil {
		c.groupMu.Unlock()
		return err
	}
	if g.Status != GroupJoined {
		c.groupMu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotGroupMember, g.Status)
	}
	if !g.isAdmin() {
		c.groupMu.Unlock()
		return ErrNotGroupAdmin
	}
	invite, err := fn(g)
	if err == nil {
		g.Publish = true
		err = c.saveGroup(g)
	}
	for _, m := range invite {
		if err == nil {
			err = c.queueInvite(g, m)
		}
	}
	if err == nil {
		err = c.queueGroupSync(g)
	}
	c.groupMu.Unlock()
	if err != nil {
		return err
	}
	c.groupNetDuties(ctx, id)
	return nil
}

// InviteToGroup adds members to group id (admins only) and sends each an
// invitation. They get the current key (not earlier ones: a newcomer
// reads from its invitation on). It returns [ErrGroupFull] past
// MaxGroupMembers, [ErrNotGroupAdmin], [ErrNotGroupMember].
func (c *Client) InviteToGroup(ctx context.Context, id identity.AccountID, members ...identity.AccountID) error {
	for _, m := range members {
		if _, err := m.X25519(); err != nil {
			return fmt.Errorf("%w: %w", ErrBadAccountID, err)
		}
	}
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		r := g.roster
		r.Members = slices.Clone(r.Members)
		var added []identity.AccountID
		for _, m := range members {
			if _, ok := r.find(m); !ok {
				r.Members = append(r.Members, groupEntry{Account: m})
				added = append(added, m)
			}
		}
		if len(r.Members) > MaxGroupMembers {
			return nil, fmt.Errorf("%w: it would have %d", ErrGroupFull, len(r.Members))
		}
		for _, m := range added {
			c.issueCredential(g, m)
		}
		r.Version++
		return added, c.setRoster(g, r)
	})
}

// RemoveFromGroup removes members from group id (admins only): a new
// member list, their credentials revoked at the nodes, and a new key for
// the remaining members, so they read nothing sent after. It returns
// [ErrGroupAdminFixed] for an admin, [ErrNotGroupAdmin],
// [ErrNotGroupMember].
func (c *Client) RemoveFromGroup(ctx context.Context, id identity.AccountID, members ...identity.AccountID) error {
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		r := g.roster
		r.Members = slices.Clone(r.Members)
		for _, m := range members {
			e, ok := r.find(m)
			if !ok {
				return nil, fmt.Errorf("%w: %s is not in the group", ErrNotFound, m.Short())
			}
			if e.Admin {
				return nil, fmt.Errorf("%w: %s", ErrGroupAdminFixed, m.Short())
			}
			r.Members = slices.DeleteFunc(r.Members, func(e groupEntry) bool { return e.Account == m })
			c.revokeLater(g, m)
		}
		r.Version++
		g.Rotate = true
		return nil, c.setRoster(g, r)
	})
}

// PromoteInGroup makes member an admin of group id: it receives the
// group's private key, which cannot be taken back (an admin can never be
// demoted). Admins only.
func (c *Client) PromoteInGroup(ctx context.Context, id, member identity.AccountID) error {
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		r := g.roster
		r.Members = slices.Clone(r.Members)
		i := slices.IndexFunc(r.Members, func(e groupEntry) bool { return e.Account == member })
		if i < 0 {
			return nil, fmt.Errorf("%w: %s is not in the group", ErrNotFound, member.Short())
		}
		if r.Members[i].Admin {
			return nil, nil
		}
		r.Members[i].Admin = true
		r.Version++
		// The invitation carries the admin key to an admin.
		return []identity.AccountID{member}, c.setRoster(g, r)
	})
}

// RenameGroup sets group id's name (admins only).
func (c *Client) RenameGroup(ctx context.Context, id identity.AccountID, name string) error {
	name, err := checkGroupName(name)
	if err != nil {
		return err
	}
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		in := g.info
		in.Name = name
		in.Version++
		return nil, c.setInfo(g, in)
	})
}

// SetGroupDisappearing sets group id's after-send timer (admins only;
// zero turns it off).
func (c *Client) SetGroupDisappearing(ctx context.Context, id identity.AccountID, after time.Duration) error {
	if after < 0 || after%time.Second != 0 || after > InboxTTL {
		return fmt.Errorf("%w: %v", ErrBadTimer, after)
	}
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		in := g.info
		in.DisappearS = uint32(after / time.Second)
		in.Version++
		return nil, c.setInfo(g, in)
	})
}

// AcceptGroup accepts the invitation to group id: the group moves from
// the requests to the chats and its messages are fetched.
func (c *Client) AcceptGroup(ctx context.Context, id identity.AccountID) error {
	c.groupMu.Lock()
	g, err := c.loadGroup(id)
	if err == nil && g.Status == GroupInvited {
		g.Status = GroupJoined
		err = c.saveGroup(g)
		if err == nil {
			err = c.queueGroupSync(g)
		}
	}
	c.groupMu.Unlock()
	if err != nil {
		return err
	}
	c.groupNetDuties(ctx, id)
	return nil
}

// LeaveGroup leaves group id: the admins are told (they remove this
// account and give the others a new key; with no admin online, the key
// changes when the next one is), this device and the account's others
// forget the group's keys and credential, and its chat stays as it is.
// An invitation is declined so too.
func (c *Client) LeaveGroup(ctx context.Context, id identity.AccountID) error {
	c.groupMu.Lock()
	g, err := c.loadGroup(id)
	if err != nil {
		c.groupMu.Unlock()
		return err
	}
	wasMember := g.Status == GroupJoined
	if wasMember {
		err = c.queueGroupControl(g, &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_LEAVE, GroupId: id[:]})
	}
	if err == nil {
		err = c.forgetGroup(g, GroupLeft)
	}
	c.groupMu.Unlock()
	if err != nil {
		return err
	}
	if wasMember {
		c.FlushOutbox(ctx)
	}
	return nil
}

// forgetGroup drops g's secrets here and tells the own devices, keeping
// the chat: status becomes st.
func (c *Client) forgetGroup(g *groupState, st string) error {
	g.Status, g.AdminKey, g.MemberKey, g.Credential, g.Creds = st, nil, nil, nil, nil
	g.Publish, g.Rotate = false, false
	if err := c.saveGroup(g); err != nil {
		return err
	}
	ks, err := c.db.GroupKeys(g.ID)
	if err != nil {
		return err
	}
	if len(ks) > 0 {
		// Deleting and restoring the row drops every key with it.
		if err := c.db.DeleteGroup(g.ID); err != nil {
			return err
		}
		if err := c.saveGroup(g); err != nil {
			return err
		}
	}
	return c.queueGroupSync(g)
}

// DeleteGroup deletes group id: for an admin, everything the group's
// swarm holds, then the group here and on the account's other devices,
// with its chat. A member can only leave ([Client.LeaveGroup]); it
// returns [ErrNotGroupAdmin] then.
func (c *Client) DeleteGroup(ctx context.Context, id identity.AccountID) error {
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	if !g.isAdmin() {
		return ErrNotGroupAdmin
	}
	if err := c.groupDeleteAll(ctx, g); err != nil { // groupnet.go
		return err
	}
	g.Status = GroupLeft
	if err := c.queueGroupSync(g); err != nil {
		return err
	}
	if err := c.db.DeleteGroup(id); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		return err
	}
	if _, err := c.db.DeleteConversation(id, c.clock()); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		return err
	}
	c.FlushOutbox(ctx)
	return nil
}

// SendGroup sends text to group id: one copy, encrypted under the current
// group key and signed by this account, stored in the group's swarm
// (never one per member). It returns [ErrNotGroupMember] unless this
// account is a member that accepted.
func (c *Client) SendGroup(ctx context.Context, id identity.AccountID, text string) (Message, error) {
	if strings.TrimSpace(text) == "" {
		return Message{}, ErrEmptyMessage
	}
	local, err := c.queueGroupData(id, &envelope.DataMessage{Body: text}, nil)
	if err != nil {
		return Message{}, err
	}
	c.FlushOutbox(ctx)
	return c.Message(local)
}

// queueGroupData stores a data message for group id and queues its
// sealed copy for the group swarm.
func (c *Client) queueGroupData(id identity.AccountID, data *envelope.DataMessage, atts []clientdb.Attachment) (int64, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return 0, err
	}
	self := c.acct.ID()
	if _, in := g.roster.find(self); g.Status != GroupJoined || !in {
		return 0, ErrNotGroupMember
	}
	ks, err := c.groupKeys(id)
	if err != nil {
		return 0, err
	}
	if len(ks) == 0 {
		return 0, fmt.Errorf("%w: no group key yet", ErrWaitingForKeys)
	}
	now := c.signTime()
	ttl := InboxTTL
	d := clientdb.Disappearing{}
	if s := g.info.DisappearS; s > 0 {
		after := time.Duration(s) * time.Second
		data.Expiration = &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_SEND, Seconds: s}
		d = clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: after}
		ttl = max(min(ttl, after), time.Minute)
	}
	var mid clientdb.MessageID
	rand.Read(mid[:])
	content := &envelope.Content{MessageId: mid[:], SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_Data{Data: data}}
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return 0, sizeErr(err)
	}
	sealed := sealGroupMessage(c.acct, id, ks[0], now.UnixMilli(), envelope.Pad(encoded))
	if len(sealed) > maxGroupData {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(sealed))
	}
	local, _, err := c.db.InsertMessage(id, clientdb.Message{
		MessageID: mid, Direction: clientdb.Outgoing, Sender: self, SentAt: now, ReceivedAt: c.clock(),
		Body: data.GetBody(), Status: clientdb.StatusQueued, Disappearing: d, Attachments: atts,
	})
	if err != nil {
		return 0, err
	}
	if _, err := c.db.EnqueueOutbox(clientdb.OutboxItem{Message: local, To: id, Namespace: int(GroupNamespaceMessages), TTL: ttl, Payload: sealed}, c.clock()); err != nil {
		return 0, err
	}
	return int64(local), nil
}

// queueGroupControl queues a GroupUpdate for the group's messages
// namespace (a leave notice), sealed under the current key.
func (c *Client) queueGroupControl(g *groupState, u *envelope.GroupUpdate) error {
	ks, err := c.groupKeys(g.ID)
	if err != nil || len(ks) == 0 {
		return err
	}
	now := c.signTime()
	mid := make([]byte, envelope.MessageIDSize)
	rand.Read(mid)
	encoded, err := envelope.MarshalContent(&envelope.Content{MessageId: mid, SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
	if err != nil {
		return err
	}
	sealed := sealGroupMessage(c.acct, g.ID, ks[0], now.UnixMilli(), envelope.Pad(encoded))
	_, err = c.db.EnqueueOutbox(clientdb.OutboxItem{To: g.ID, Namespace: int(GroupNamespaceMessages), TTL: InboxTTL, Payload: sealed}, c.clock())
	return err
}

// groupUpdate returns the GroupUpdate of kind that gives g to a member
// (an invitation, with admin key for an admin) or to the own devices.
func (c *Client) groupUpdate(g *groupState, kind envelope.GroupUpdate_Kind, to identity.AccountID) (*envelope.GroupUpdate, error) {
	u := &envelope.GroupUpdate{Kind: kind, GroupId: g.ID[:], Info: g.InfoSigned, Members: g.RosterSigned}
	ks, err := c.groupKeys(g.ID)
	if err != nil {
		return nil, err
	}
	if kind == envelope.GroupUpdate_KIND_INVITE {
		self := c.acct.ID()
		u.InvitedBy = self[:]
		e, _ := g.roster.find(to)
		if e.Admin {
			u.AdminKey = g.AdminKey
		}
		seed, cred := c.credentialFor(g, to)
		u.MemberKey, u.Credential = seed, cred
		ks = ks[:min(len(ks), 1)] // the current key only
	} else {
		u.AdminKey, u.MemberKey, u.Credential = g.AdminKey, g.MemberKey, g.Credential
		u.Left = g.Status == GroupLeft || g.Status == GroupRemoved
		if u.Left {
			ks = nil
		}
		if g.Status == GroupInvited {
			u.InvitedBy = g.InvitedBy[:]
		}
	}
	for _, k := range ks {
		u.Keys = append(u.Keys, &envelope.GroupUpdate_Key{Id: k.ID, Generation: k.Gen, Key: k.Key[:], ExpiresAtMs: uint64(k.Expires.UnixMilli())})
	}
	return u, nil
}

// queueInvite queues an invitation to member, sealed with protocol v2 to
// its inbox like a message.
func (c *Client) queueInvite(g *groupState, member identity.AccountID) error {
	u, err := c.groupUpdate(g, envelope.GroupUpdate_KIND_INVITE, member)
	if err != nil {
		return err
	}
	return c.queueControl(member, NamespaceInbox, InboxTTL, &envelope.Content{Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
}

// queueGroupSync queues g's state and keys for the account's other
// devices, as a v2 Sync message (never through the seed-derived config,
// which has no forward secrecy).
func (c *Client) queueGroupSync(g *groupState) error {
	u, err := c.groupUpdate(g, envelope.GroupUpdate_KIND_SYNC, identity.AccountID{})
	if err != nil {
		return err
	}
	return c.queueControl(c.acct.ID(), NamespaceSync, InboxTTL, &envelope.Content{Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
}

// applyGroupUpdate handles a GroupUpdate that came sealed with protocol v2
// from sender: an invitation in the inbox (ns 0), or a sync from the own
// account (ns 1).
func (c *Client) applyGroupUpdate(ns int32, sender identity.AccountID, u *envelope.GroupUpdate) ([]Message, error) {
	var id identity.AccountID
	copy(id[:], u.GetGroupId())
	self := c.acct.ID()
	switch {
	case ns == NamespaceInbox && u.GetKind() == envelope.GroupUpdate_KIND_INVITE:
		if c.blocked(sender) {
			return nil, nil
		}
	case ns == NamespaceSync && u.GetKind() == envelope.GroupUpdate_KIND_SYNC:
		if !sender.Equal(self) {
			return nil, fmt.Errorf("%w: group sync signed by another account", ErrDropped)
		}
	default:
		return nil, fmt.Errorf("%w: group update of kind %v in namespace %d", ErrDropped, u.GetKind(), ns)
	}
	info, err := parseInfo(id, u.GetInfo())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	roster, err := parseRoster(id, u.GetMembers())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	if u.GetKind() == envelope.GroupUpdate_KIND_INVITE {
		// An invitation must come from an admin, to a member.
		if e, ok := roster.find(sender); !ok || !e.Admin {
			return nil, fmt.Errorf("%w: group invitation from a non-admin", ErrDropped)
		}
		if _, ok := roster.find(self); !ok {
			return nil, fmt.Errorf("%w: group invitation that does not list us", ErrDropped)
		}
	}
	if ak := u.GetAdminKey(); len(ak) > 0 {
		if pub := ed25519.NewKeyFromSeed(ak).Public().(ed25519.PublicKey); string(pub) != string(id[1:]) {
			return nil, fmt.Errorf("%w: group admin key does not match the group", ErrDropped)
		}
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	g, err := c.loadGroup(id)
	isNew := errors.Is(err, ErrUnknownGroup)
	switch {
	case isNew:
		if u.GetLeft() {
			return nil, nil
		}
		g = &groupState{ID: id, Status: GroupInvited, InfoSigned: u.GetInfo(), RosterSigned: u.GetMembers(), info: info, roster: roster}
		if u.GetKind() == envelope.GroupUpdate_KIND_SYNC && len(u.GetInvitedBy()) == 0 {
			g.Status = GroupJoined
		}
		copy(g.InvitedBy[:], u.GetInvitedBy())
		if u.GetKind() == envelope.GroupUpdate_KIND_INVITE {
			g.InvitedBy = sender
		}
	case err != nil:
		return nil, err
	default:
		c.mergeSigned(g, u.GetInfo(), info, u.GetMembers(), roster)
		if u.GetKind() == envelope.GroupUpdate_KIND_SYNC {
			if u.GetLeft() {
				return nil, c.forgetGroup(g, GroupLeft)
			}
			if g.Status == GroupInvited && len(u.GetInvitedBy()) == 0 {
				g.Status = GroupJoined // accepted on another device
			}
		} else if g.Status == GroupLeft || g.Status == GroupRemoved {
			g.Status = GroupInvited // invited again
		}
	}
	if len(u.GetAdminKey()) > 0 {
		g.AdminKey = u.GetAdminKey()
	}
	if len(u.GetMemberKey()) > 0 && len(u.GetCredential()) > 0 {
		g.MemberKey, g.Credential = u.GetMemberKey(), u.GetCredential()
	}
	if err := c.saveGroup(g); err != nil {
		return nil, err
	}
	for _, k := range u.GetKeys() {
		gk := groupKey{ID: k.GetId(), Gen: k.GetGeneration(), Expires: time.UnixMilli(int64(k.GetExpiresAtMs()))}
		copy(gk.Key[:], k.GetKey())
		if _, err := c.addGroupKey(id, gk); err != nil {
			return nil, err
		}
	}
	if _, err := c.db.EnsureConversation(id, c.clock()); err != nil {
		return nil, err
	}
	if isNew && g.Status == GroupInvited {
		c.emit(Event{Kind: EventRequest, Message: Message{Peer: id, Sender: sender}})
	}
	return nil, nil
}

// mergeSigned takes info and roster (verified) when they are newer than
// g's (the merge rule: groupformat.go newer).
func (c *Client) mergeSigned(g *groupState, infoB []byte, info groupInfo, rosterB []byte, roster groupRoster) (changed bool) {
	if infoB != nil && newer(info.Version, infoB, g.info.Version, g.InfoSigned) {
		g.InfoSigned, g.info, changed = infoB, info, true
	}
	if rosterB != nil && newer(roster.Version, rosterB, g.roster.Version, g.RosterSigned) {
		g.RosterSigned, g.roster, changed = rosterB, roster, true
		if _, in := roster.find(c.acct.ID()); !in && g.Status == GroupJoined {
			// Removed: this device keeps the chat but no longer reads.
			g.Status = GroupRemoved
		}
	}
	return changed
}

// groupRequests lists the invitations not yet accepted, for Requests.
func (c *Client) groupRequests() (map[identity.AccountID]bool, error) {
	rows, err := c.db.Groups()
	if err != nil {
		return nil, err
	}
	out := map[identity.AccountID]bool{}
	for _, r := range rows {
		var st struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(r.State, &st) == nil && st.Status == GroupInvited {
			out[r.ID] = true
		}
	}
	return out, nil
}

package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
)

// Closed groups (issue 21, docs/groups.md): a group is an Ed25519 key pair
// whose ID is 03 ‖ public key, with a swarm of its own. Admins hold the
// private key and sign the group's info, member list, key messages and
// revocations; members read and write the group swarm with member
// credentials the admins sign. Messages are encrypted under the current
// group key and signed inside by the sender's account key; each group key
// reaches every member device sealed with protocol v2 in the group swarm's
// keys namespace. This file is the API and the local state; groupnet.go
// talks to the group swarm. The byte formats are protocol/group's.
//
// A group's conversation is an ordinary conversation whose peer is the
// group's ID; its messages carry their author as Sender.

const (
	// MaxGroupMembers is the most current members (admins included) a
	// group has.
	MaxGroupMembers = group.MaxMembers
	// groupRotation is how often an admin replaces a stable group's key,
	// so the group has forward secrecy too: one v2 epoch.
	groupRotation = prekey.EpochLength
	// groupKeyTTL is how long a key message lives in the group swarm, and
	// groupKeyKeep how long a client keeps a key after it was superseded
	// (so late messages open), both 15 days (docs/groups.md §6). A key is
	// deleted groupKeyKeep after the next generation arrives, or, when
	// none does, groupKeyKeep + groupRotation after it was made
	// (extended while it is the newest).
	groupKeyTTL  = 15 * 24 * time.Hour
	groupKeyKeep = 15 * 24 * time.Hour
	// groupMessageTTL is a group message's life in the swarm.
	groupMessageTTL = InboxTTL
)

// Errors of the group API.
var (
	// ErrGroupFull: the change would give the group more than
	// [MaxGroupMembers] current members.
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
	// ErrBadGroupName: the name is blank, longer than 100 bytes, or looks
	// like an ID.
	ErrBadGroupName = errors.New("bad group name")
	// ErrBadGroupData wraps why something fetched from a group swarm, or
	// an invitation, was refused (in [EventDropped]).
	ErrBadGroupData = errors.New("group data refused")
)

// Group states, as [Group.State] shows them.
const (
	GroupInvited = "invited"
	GroupJoined  = "joined"
	GroupLeft    = "left"
	GroupRemoved = "removed"
	GroupDeleted = "deleted"
)

// Group is a closed group as the client shows it.
type Group struct {
	ID          identity.AccountID `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	// State is invited (an invitation not yet accepted: a request),
	// joined, left, removed or deleted (by an admin).
	State string `json:"state"`
	// Admin: this account is an admin.
	Admin bool `json:"admin,omitempty"`
	// Members counts the current members (invited or joined).
	Members int `json:"members"`
	// InvitedBy is the admin who invited this account.
	InvitedBy identity.AccountID `json:"invited_by,omitzero"`
	// DisappearAfter is the group's after-send timer, zero when off (an
	// admin setting).
	DisappearAfter time.Duration `json:"disappear_after_ns,omitempty"`
	// KeyGeneration is the newest group key's generation held here.
	KeyGeneration uint64 `json:"key_generation"`
}

// GroupMember is one current member of a group.
type GroupMember struct {
	Account identity.AccountID `json:"id"`
	// Nickname is the local nickname of the account, if it is a contact.
	Nickname string `json:"name,omitempty"`
	// Role is admin or member; State invited or joined.
	Role  string `json:"role"`
	State string `json:"state"`
}

// groupState is what this device keeps of a group (sealed in clientdb as
// JSON).
type groupState struct {
	ID     group.ID `json:"id"`
	Status string   `json:"status"`
	// AdminSeed is the group's Ed25519 seed: admins only.
	AdminSeed []byte `json:"admin_seed,omitempty"`
	// MemberSeed and Credential: this account's member key and the
	// credential the nodes check.
	MemberSeed []byte             `json:"member_seed,omitempty"`
	Credential []byte             `json:"credential,omitempty"`
	InvitedBy  identity.AccountID `json:"invited_by,omitzero"`
	// Invite is the invitation as it came, kept while only invited.
	Invite []byte `json:"invite,omitempty"`
	// Info is the winning info config's payload, InfoCfg its bytes.
	Info    groupInfo `json:"info"`
	InfoCfg []byte    `json:"info_cfg,omitempty"`
	// Entries is the merge of every member config seen, MembersVersion
	// the highest version among them and MembersCfg the latest one's
	// bytes; MemberKeys the admin sections' union (admins only).
	Entries        []groupEntry     `json:"entries"`
	MembersVersion uint64           `json:"members_version,omitempty"`
	MembersCfg     []byte           `json:"members_cfg,omitempty"`
	MemberKeys     []groupMemberKey `json:"member_keys,omitempty"`
	// Revoked is the revocation list's union and RevVersion its highest
	// version seen.
	Revoked    []identity.Ed25519PublicKey `json:"revoked,omitempty"`
	RevVersion uint64                      `json:"rev_version,omitempty"`
	// RevCreatedMS is the creation time of the newest revocation list
	// seen or published: an admin republishes the union before the
	// newest list lapses (groupnet.go).
	RevCreatedMS int64 `json:"rev_created_ms,omitempty"`
	// Admin duties pending (groupnet.go): Rotate asks for a new key (a
	// member left or was removed), Publish for the configs (and the
	// revocation list with PublishRevoked), PendingGen for the key
	// messages of that generation, Supplement for key messages of the
	// current key for those new members.
	RotatedMS      int64                `json:"rotated_ms,omitempty"`
	Rotate         bool                 `json:"rotate,omitempty"`
	Publish        bool                 `json:"publish,omitempty"`
	PublishRevoked bool                 `json:"publish_revoked,omitempty"`
	PendingGen     uint64               `json:"pending_gen,omitempty"`
	Supplement     []identity.AccountID `json:"supplement,omitempty"`
	// LeaveSeed and LeaveCredential are, after a leave, the member key
	// and credential that sign the leave notice's store, kept for the
	// outbox alone (groupItemCtx) until it has sent the notice or given
	// up on it, then forgotten (groupLeaveDuties). Without them a leave
	// made offline would never reach the admins.
	LeaveSeed       []byte `json:"leave_seed,omitempty"`
	LeaveCredential []byte `json:"leave_credential,omitempty"`
}

// groupInfo is group.Info as stored here.
type groupInfo struct {
	Version     uint64 `json:"v"`
	Name        string `json:"name"`
	Description string `json:"desc,omitempty"`
	Disappear   uint8  `json:"disappear,omitempty"`
	TimerS      uint32 `json:"timer_s,omitempty"`
	Deleted     bool   `json:"deleted,omitempty"`
}

func (i groupInfo) payload() *group.Info {
	return &group.Info{Name: i.Name, Description: i.Description, Disappear: group.DisappearMode(i.Disappear),
		Timer: time.Duration(i.TimerS) * time.Second, Deleted: i.Deleted}
}

func infoOf(version uint64, in *group.Info) groupInfo {
	return groupInfo{Version: version, Name: in.Name, Description: in.Description, Disappear: uint8(in.Disappear),
		TimerS: uint32(in.Timer / time.Second), Deleted: in.Deleted}
}

// groupEntry is group.Entry as stored here.
type groupEntry struct {
	Account identity.AccountID `json:"id"`
	Role    uint8              `json:"role"`
	State   uint8              `json:"state"`
	Changed uint64             `json:"changed"`
}

type groupMemberKey struct {
	Account identity.AccountID        `json:"id"`
	Key     identity.Ed25519PublicKey `json:"key"`
}

func (g *groupState) entries() []group.Entry {
	out := make([]group.Entry, len(g.Entries))
	for i, e := range g.Entries {
		out[i] = group.Entry{Account: e.Account, Role: group.Role(e.Role), State: group.State(e.State), Changed: e.Changed}
	}
	return out
}

func (g *groupState) setEntries(es []group.Entry) {
	g.Entries = make([]groupEntry, len(es))
	for i, e := range es {
		g.Entries[i] = groupEntry{Account: e.Account, Role: uint8(e.Role), State: uint8(e.State), Changed: e.Changed}
	}
}

// member returns account's entry when it is a current member.
func (g *groupState) member(account identity.AccountID) (group.Entry, bool) {
	for _, e := range g.entries() {
		if e.Account == account {
			return e, e.State.Current()
		}
	}
	return group.Entry{}, false
}

// current lists the current members.
func (g *groupState) current() []group.Entry {
	return slices.DeleteFunc(g.entries(), func(e group.Entry) bool { return !e.State.Current() })
}

func (g *groupState) admin() *group.Admin {
	if len(g.AdminSeed) != group.SeedSize {
		return nil
	}
	a, err := group.NewAdmin(g.AdminSeed)
	if err != nil || a.Group() != g.ID {
		return nil
	}
	return a
}

func (g *groupState) isAdmin() bool { return g.admin() != nil }

// memberSigner returns this account's member signer, nil without a
// credential.
func (g *groupState) memberSigner() *group.Member {
	cred, err := group.ParseCredential(g.Credential)
	if err != nil {
		return nil
	}
	m, err := group.NewMember(g.ID, g.MemberSeed, cred)
	if err != nil {
		return nil
	}
	return m
}

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
	if g.ID.Account() != id {
		return nil, fmt.Errorf("%w: group state of another group", clientdb.ErrCorrupt)
	}
	return &g, nil
}

func (c *Client) saveGroup(g *groupState) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := c.db.PutGroup(g.ID.Account(), b, c.clock()); err != nil {
		return err
	}
	if g.Status == GroupJoined {
		select {
		case c.groupJoined <- struct{}{}:
		default:
		}
	}
	return nil
}

// updateGroup runs fn on group id's state under the group lock and saves
// it when fn returns nil.
func (c *Client) updateGroup(id identity.AccountID, fn func(g *groupState) error) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	if err := fn(g); err != nil {
		return err
	}
	return c.saveGroup(g)
}

// groupKeys returns the group's keys held here, newest first.
func (c *Client) groupKeys(id identity.AccountID) ([]group.Key, error) {
	ks, err := c.db.GroupKeys(id)
	if err != nil {
		return nil, err
	}
	now := c.clock()
	var out []group.Key
	for _, k := range ks {
		if k.Expires.After(now) {
			out = append(out, group.Key{Generation: k.Generation, Secret: k.Key})
		}
	}
	return out, nil
}

// groupKey returns the key of generation gen with ID kid, if held.
func (c *Client) groupKey(id group.ID, gen uint64, kid group.KeyID) (group.Key, bool) {
	ks, err := c.groupKeys(id.Account())
	if err != nil {
		return group.Key{}, false
	}
	for _, k := range ks {
		if k.Generation == gen && k.ID(id) == kid {
			return k, true
		}
	}
	return group.Key{}, false
}

// currentKey is the key a sender uses: the newest generation, and of two
// keys of one generation (two admins rotated at once) the larger ID
// (docs/groups.md §6).
func (c *Client) currentKey(id group.ID) (group.Key, bool) {
	ks, err := c.groupKeys(id.Account())
	if err != nil || len(ks) == 0 {
		return group.Key{}, false
	}
	best := ks[0]
	for _, k := range ks[1:] {
		if k.Generation == best.Generation {
			a, b := k.ID(id), best.ID(id)
			if string(a[:]) > string(b[:]) {
				best = k
			}
		}
	}
	return best, true
}

// addGroupKey keeps k (made at created): until groupKeyKeep after the
// next generation, which is unknown yet, so for groupRotation +
// groupKeyKeep; the key it supersedes gets groupKeyKeep from now.
func (c *Client) addGroupKey(id group.ID, k group.Key, created time.Time) (bool, error) {
	expires := created.Add(c.groupRotation + groupKeyKeep)
	if !expires.After(c.clock()) {
		return false, nil
	}
	kid := k.ID(id)
	isNew, err := c.db.AddGroupKey(id.Account(), clientdb.GroupKey{KeyID: kid[:], Generation: k.Generation, Key: k.Secret, Expires: expires})
	if err != nil || !isNew {
		return isNew, err
	}
	return true, nil
}

// newGroupKey draws a random key of the generation after the newest held
// (never derived from the admin key, so deleting it is final).
func (c *Client) newGroupKey(id group.ID) (group.Key, error) {
	var k group.Key
	ks, err := c.db.GroupKeys(id.Account()) // expired ones too: generations only go up
	if err != nil {
		return k, err
	}
	k.Generation = 1
	for _, o := range ks {
		k.Generation = max(k.Generation, o.Generation+1)
	}
	rand.Read(k.Secret[:])
	return k, nil
}

// ParseGroupID parses a group's ID: 66 hex characters starting 03.
func ParseGroupID(s string) (identity.AccountID, error) {
	id, err := group.ParseID(strings.TrimSpace(s))
	if err != nil {
		return identity.AccountID{}, fmt.Errorf("%w: %w", ErrUnknownGroup, err)
	}
	return id.Account(), nil
}

// IsGroupID reports whether id names a closed group rather than an
// account.
func IsGroupID(id identity.AccountID) bool { return group.IsGroup(id) }

// ResolveGroup turns what a user typed into a group ID: the group's ID,
// or the name of exactly one group known here. It returns
// [ErrUnknownGroup].
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
	out := Group{ID: g.ID.Account(), Name: g.Info.Name, Description: g.Info.Description, State: g.Status,
		Admin: g.isAdmin(), Members: len(g.current()), InvitedBy: g.InvitedBy}
	if g.Info.Disappear != 0 {
		out.DisappearAfter = time.Duration(g.Info.TimerS) * time.Second
	}
	if k, ok := c.currentKey(g.ID); ok {
		out.KeyGeneration = k.Generation
	}
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

// GroupMembers lists the current members of group id, admins first.
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
	for _, e := range g.current() {
		m := GroupMember{Account: e.Account, Nickname: nicks[e.Account], Role: "member", State: GroupInvited}
		if e.Role == group.RoleAdmin {
			m.Role = "admin"
		}
		if e.State == group.StateJoined {
			m.State = GroupJoined
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b GroupMember) int {
		switch {
		case a.Role == b.Role:
			return 0
		case a.Role == "admin":
			return -1
		}
		return 1
	})
	return out, nil
}

func checkGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > group.MaxNameBytes || looksLikeID(name) {
		return "", fmt.Errorf("%w: %q (1 to %d bytes, not an ID)", ErrBadGroupName, name, group.MaxNameBytes)
	}
	return name, nil
}

// CreateGroup creates a group named name with this account as its admin
// and members invited: its info, member list and first key go to the
// group's swarm, and each member gets an invitation (sealed with
// protocol v2, shown as a request). Work the network cannot do now is
// retried by the background duties ([Client.Sync]). It returns
// [ErrGroupFull] for more than MaxGroupMembers members,
// [ErrBadGroupName] and [ErrBadAccountID].
func (c *Client) CreateGroup(ctx context.Context, name string, members []identity.AccountID) (Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return Group{}, err
	}
	self := c.acct.ID()
	var invite []identity.AccountID
	for _, m := range members {
		if _, err := m.X25519(); err != nil {
			return Group{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
		}
		if m != self && !slices.Contains(invite, m) {
			invite = append(invite, m)
		}
	}
	if 1+len(invite) > MaxGroupMembers {
		return Group{}, fmt.Errorf("%w: %d asked", ErrGroupFull, 1+len(invite))
	}
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	a, err := group.NewAdmin(seed)
	if err != nil {
		return Group{}, err
	}
	g := &groupState{ID: a.Group(), Status: GroupJoined, AdminSeed: seed, Publish: true,
		Info: groupInfo{Version: 1, Name: name}}
	es := []group.Entry{{Account: self, Role: group.RoleAdmin, State: group.StateJoined, Changed: 1}}
	for _, m := range invite {
		es = append(es, group.Entry{Account: m, Role: group.RoleMember, State: group.StateInvited, Changed: 1})
	}
	g.setEntries(group.MergeEntries(es))
	g.MemberSeed, g.Credential = c.issueCredential(g, self)
	k, err := c.newGroupKey(g.ID)
	if err != nil {
		return Group{}, err
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	if err := c.saveGroup(g); err != nil {
		return Group{}, err
	}
	if _, err := c.addGroupKey(g.ID, k, c.now()); err != nil {
		return Group{}, err
	}
	g.PendingGen, g.RotatedMS = k.Generation, c.now().UnixMilli()
	for _, m := range invite {
		if err := c.queueInvite(g, m); err != nil {
			return Group{}, err
		}
	}
	if err := c.saveGroup(g); err != nil {
		return Group{}, err
	}
	if _, err := c.db.EnsureConversation(g.ID.Account(), c.clock()); err != nil {
		return Group{}, err
	}
	if err := c.queueGroupSync(g); err != nil {
		return Group{}, err
	}
	out := c.toGroup(g)
	c.groupMu.Unlock()
	c.groupDuties(ctx, g.ID.Account())
	c.FlushOutbox(ctx)                  // the invitations
	c.groupPushNow(ctx, g.ID.Account()) // grouppush.go
	c.groupMu.Lock()
	return out, nil
}

// issueCredential draws a member key for account and signs its credential
// (read, write; delete for admins), recording the key for revocations.
// It returns the seed and the credential.
func (c *Client) issueCredential(g *groupState, account identity.AccountID) ([]byte, []byte) {
	a := g.admin()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	m, err := group.NewAdmin(seed) // only for its public key
	if err != nil || a == nil {
		return nil, nil
	}
	perms := group.PermRead | group.PermWrite
	if e, _ := g.member(account); e.Role == group.RoleAdmin {
		perms |= group.PermDelete
	}
	cred := a.Issue(group.Token{Perms: perms, Member: m.Ed25519Public()})
	g.MemberKeys = slices.DeleteFunc(g.MemberKeys, func(k groupMemberKey) bool { return k.Account == account && false })
	g.MemberKeys = append(g.MemberKeys, groupMemberKey{Account: account, Key: m.Ed25519Public()})
	return seed, cred.Marshal()
}

// adminChange runs fn on group id's state as an admin, then saves it,
// marks it for publishing and runs the group's duties. fn returns the
// accounts to invite.
func (c *Client) adminChange(ctx context.Context, id identity.AccountID, fn func(g *groupState) ([]identity.AccountID, error)) error {
	err := c.updateGroup(id, func(g *groupState) error {
		if g.Status != GroupJoined {
			return fmt.Errorf("%w: %s", ErrNotGroupMember, g.Status)
		}
		if !g.isAdmin() {
			return ErrNotGroupAdmin
		}
		invite, err := fn(g)
		if err != nil {
			return err
		}
		g.Publish = true
		for _, m := range invite {
			if err := c.queueInvite(g, m); err != nil {
				return err
			}
		}
		return c.queueGroupSync(g)
	})
	if err != nil {
		return err
	}
	c.groupDuties(ctx, id)
	c.FlushOutbox(ctx) // invitations, the own devices' sync
	return nil
}

// change returns the entries with account's entry set to role and state,
// stamped with the next change counter (docs/groups.md §5.4).
func (g *groupState) change(account identity.AccountID, role group.Role, state group.State) {
	es := g.entries()
	next := group.MaxChanged(es) + 1
	g.setEntries(group.MergeEntries(es, []group.Entry{{Account: account, Role: role, State: state, Changed: next}}))
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
		var added []identity.AccountID
		for _, m := range members {
			if _, in := g.member(m); !in && !slices.Contains(added, m) {
				added = append(added, m)
			}
		}
		if n := len(g.current()) + len(added); n > MaxGroupMembers {
			return nil, fmt.Errorf("%w: it would have %d", ErrGroupFull, n)
		}
		for _, m := range added {
			g.change(m, group.RoleMember, group.StateInvited)
			if !slices.Contains(g.Supplement, m) {
				g.Supplement = append(g.Supplement, m)
			}
		}
		return added, nil
	})
}

// RemoveFromGroup removes members from group id (admins only): a new
// member list, their credentials revoked at the nodes, and a new key for
// the remaining members, so they read nothing sent after. It returns
// [ErrGroupAdminFixed] for an admin, [ErrNotGroupAdmin],
// [ErrNotGroupMember].
func (c *Client) RemoveFromGroup(ctx context.Context, id identity.AccountID, members ...identity.AccountID) error {
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		for _, m := range members {
			e, in := g.member(m)
			if !in {
				return nil, fmt.Errorf("%w: %s is not in the group", ErrNotFound, m.Short())
			}
			if e.Role == group.RoleAdmin {
				return nil, fmt.Errorf("%w: %s", ErrGroupAdminFixed, m.Short())
			}
			g.change(m, group.RoleMember, group.StateRemoved)
			g.revoke(m)
		}
		g.Rotate = true
		return nil, nil
	})
}

// revoke puts account's member keys on the revocation list.
func (g *groupState) revoke(account identity.AccountID) {
	for _, k := range g.MemberKeys {
		if k.Account == account && !slices.Contains(g.Revoked, k.Key) {
			g.Revoked = append(g.Revoked, k.Key)
			g.PublishRevoked = true
		}
	}
	g.Supplement = slices.DeleteFunc(g.Supplement, func(a identity.AccountID) bool { return a == account })
}

// PromoteInGroup makes member an admin of group id: it receives the
// group's private key, which cannot be taken back (an admin can never be
// demoted). Admins only.
func (c *Client) PromoteInGroup(ctx context.Context, id, member identity.AccountID) error {
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		e, in := g.member(member)
		if !in {
			return nil, fmt.Errorf("%w: %s is not in the group", ErrNotFound, member.Short())
		}
		if e.Role == group.RoleAdmin {
			return nil, nil
		}
		g.change(member, group.RoleAdmin, e.State)
		// A new invitation carries the group key to the new admin.
		return []identity.AccountID{member}, nil
	})
}

// RenameGroup sets group id's name (admins only).
func (c *Client) RenameGroup(ctx context.Context, id identity.AccountID, name string) error {
	name, err := checkGroupName(name)
	if err != nil {
		return err
	}
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		g.Info.Name = name
		g.Info.Version++
		return nil, nil
	})
}

// SetGroupDisappearing sets group id's after-send timer (admins only;
// zero turns it off, else 30 s to 14 days in whole seconds).
func (c *Client) SetGroupDisappearing(ctx context.Context, id identity.AccountID, after time.Duration) error {
	if after != 0 && (after < group.MinTimer || after > group.MaxTimer || after%time.Second != 0) {
		return fmt.Errorf("%w: %v", ErrBadTimer, after)
	}
	return c.adminChange(ctx, id, func(g *groupState) ([]identity.AccountID, error) {
		g.Info.Disappear, g.Info.TimerS = 0, 0
		if after > 0 {
			g.Info.Disappear, g.Info.TimerS = uint8(group.DisappearAfterSend), uint32(after/time.Second)
		}
		g.Info.Version++
		return nil, nil
	})
}

// AcceptGroup accepts the invitation to group id: it moves from the
// requests to the chats, and its keys, member list and messages are
// fetched.
func (c *Client) AcceptGroup(ctx context.Context, id identity.AccountID) error {
	err := c.updateGroup(id, func(g *groupState) error {
		if g.Status != GroupInvited {
			return nil
		}
		g.Status, g.Invite = GroupJoined, nil
		return c.queueGroupSync(g)
	})
	if err != nil {
		return err
	}
	c.groupDuties(ctx, id)
	c.groupPushNow(ctx, id) // grouppush.go
	return nil
}

// LeaveGroup leaves group id: the admins are told (they remove this
// account and give the others a new key; with no admin online, the key
// changes when the next one is), this device and the account's others
// forget the group's keys and credential, and its chat stays. An
// invitation is declined so too. The notice waits in the outbox when
// the network is out of reach, with the one key that signs its store.
func (c *Client) LeaveGroup(ctx context.Context, id identity.AccountID) error {
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	if g.Status == GroupJoined {
		c.groupPushLeaving(ctx, g) // grouppush.go: its records go while the key is held
	}
	err = c.updateGroup(id, func(g *groupState) error {
		if g.Status == GroupJoined && g.memberSigner() != nil {
			// The notice is sealed now, under the current key, which
			// goes below; its store is signed with the member key, kept
			// until the outbox has sent it.
			queued, err := c.queueGroupControl(g, &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_LEAVE, GroupId: g.ID[:]})
			if err != nil {
				return err
			}
			if queued {
				g.LeaveSeed, g.LeaveCredential = g.MemberSeed, g.Credential
			}
		}
		return c.forgetGroup(g, GroupLeft)
	})
	if err != nil {
		return err
	}
	c.FlushOutbox(ctx)
	if err := c.groupLeaveDuties(id); err != nil {
		return err
	}
	c.groupPushNow(ctx, id) // grouppush.go: its push subscription goes
	return nil
}

// groupLeaveDuties forgets the key kept for group id's leave notice once
// the outbox holds nothing more for the group (sent, or given up).
func (c *Client) groupLeaveDuties(id identity.AccountID) error {
	ob, err := c.db.Outbox()
	if err != nil {
		return err
	}
	if slices.ContainsFunc(ob, func(it clientdb.OutboxItem) bool { return it.To == id }) {
		return nil
	}
	err = c.updateGroup(id, func(g *groupState) error {
		if len(g.LeaveSeed) == 0 && len(g.LeaveCredential) == 0 {
			return errNoChange
		}
		g.LeaveSeed, g.LeaveCredential = nil, nil
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// errNoChange tells updateGroup's caller that fn changed nothing to save.
var errNoChange = errors.New("no change")

// forgetGroup drops g's secrets and keys here, keeping the chat, tells the
// own devices, and sets the status to st. The caller saves g.
func (c *Client) forgetGroup(g *groupState, st string) error {
	g.Status, g.AdminSeed, g.MemberSeed, g.Credential, g.MemberKeys = st, nil, nil, nil, nil
	g.Publish, g.Rotate, g.PublishRevoked, g.PendingGen, g.Supplement, g.Invite = false, false, false, 0, nil, nil
	// Deleting the row drops every key with it; the caller's save
	// restores the state.
	if err := c.db.DeleteGroup(g.ID.Account()); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		return err
	}
	if err := c.saveGroup(g); err != nil {
		return err
	}
	return c.queueGroupSync(g)
}

// DeleteGroup deletes group id for everyone (admins only): what its
// swarm holds goes, the members are told, and the group and its chat are
// deleted here and on the account's other devices. A member can only
// leave ([Client.LeaveGroup]); it returns [ErrNotGroupAdmin] then.
func (c *Client) DeleteGroup(ctx context.Context, id identity.AccountID) error {
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	if !g.isAdmin() {
		return ErrNotGroupAdmin
	}
	if err := c.groupDeleteAll(ctx, id); err != nil { // groupnet.go
		return err
	}
	err = c.updateGroup(id, func(g *groupState) error { return c.forgetGroup(g, GroupDeleted) })
	if err != nil {
		return err
	}
	if err := c.db.DeleteGroup(id); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		return err
	}
	if _, err := c.db.DeleteConversation(id, c.clock()); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		return err
	}
	c.FlushOutbox(ctx)
	c.groupPushNow(ctx, id) // grouppush.go: its push subscription goes
	return nil
}

// SendGroup sends text to group id: one copy, encrypted under the current
// group key and signed by this account, stored in the group's swarm
// (never one per member). [Client.Send] to a group ID comes here. It
// returns [ErrNotGroupMember] unless this account is a member that
// accepted, and [ErrWaitingForKeys] before it holds a group key.
func (c *Client) SendGroup(ctx context.Context, id identity.AccountID, text string) (Message, error) {
	if strings.TrimSpace(text) == "" {
		return Message{}, ErrEmptyMessage
	}
	local, err := c.queueGroupData(id, c.withPreviews(ctx, &envelope.DataMessage{Body: text}), nil) // linkpreview.go
	if err != nil {
		return Message{}, err
	}
	c.FlushOutbox(ctx)
	return c.Message(local)
}

// queueGroupData stores a data message for group id and queues its
// sealed copy for the group swarm. It is sealed now, under the current
// key: a key rotated before the outbox sends it still opens for the
// members (keys are kept groupKeyKeep).
func (c *Client) queueGroupData(id identity.AccountID, data *envelope.DataMessage, atts []clientdb.Attachment) (int64, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return 0, err
	}
	self := c.acct.ID()
	if _, in := g.member(self); g.Status != GroupJoined || !in {
		return 0, ErrNotGroupMember
	}
	k, ok := c.currentKey(g.ID)
	if !ok {
		return 0, fmt.Errorf("%w: no key of the group yet", ErrWaitingForKeys)
	}
	now := c.signTime()
	ttl := groupMessageTTL
	d := clientdb.Disappearing{}
	if g.Info.Disappear != 0 && g.Info.TimerS > 0 {
		after := time.Duration(g.Info.TimerS) * time.Second
		data.Expiration = &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_SEND, Seconds: g.Info.TimerS}
		d = clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: after}
		ttl = max(min(ttl, after), time.Minute)
	}
	data.Profile = c.profile()
	var mid clientdb.MessageID
	rand.Read(mid[:])
	content := &envelope.Content{MessageId: mid[:], SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_Data{Data: data}}
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return 0, sizeErr(err)
	}
	sealed, err := group.SealMessage(g.ID, k, c.acct, now, encoded)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	local, _, err := c.db.InsertMessage(id, clientdb.Message{
		MessageID: mid, Direction: clientdb.Outgoing, Sender: self, SentAt: now, ReceivedAt: c.clock(),
		Body: data.GetBody(), Status: clientdb.StatusQueued, Disappearing: d, Attachments: atts, Quote: storedQuote(data.GetQuote()), Previews: storedPreviews(data),
	})
	if err != nil {
		return 0, err
	}
	it := clientdb.OutboxItem{Message: local, To: id, Namespace: int(group.NamespaceMessages), TTL: ttl, Payload: sealed}
	if _, err := c.db.EnqueueOutbox(it, c.clock()); err != nil {
		return 0, err
	}
	return int64(local), nil
}

// queueGroupControl queues a GroupUpdate for the group's messages
// namespace (a leave notice), sealed under the current key; queued is
// false without a key (nothing to seal it under).
func (c *Client) queueGroupControl(g *groupState, u *envelope.GroupUpdate) (queued bool, err error) {
	k, ok := c.currentKey(g.ID)
	if !ok {
		return false, nil
	}
	now := c.signTime()
	mid := make([]byte, envelope.MessageIDSize)
	rand.Read(mid)
	encoded, err := envelope.MarshalContent(&envelope.Content{MessageId: mid, SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
	if err != nil {
		return false, err
	}
	sealed, err := group.SealMessage(g.ID, k, c.acct, now, encoded)
	if err != nil {
		return false, err
	}
	_, err = c.db.EnqueueOutbox(clientdb.OutboxItem{To: g.ID.Account(), Namespace: int(group.NamespaceMessages), TTL: groupMessageTTL, Payload: sealed}, c.clock())
	return err == nil, err
}

// queueInvite queues an invitation to member (a new credential, and the
// group seed for an admin), sealed with protocol v2 to its inbox like a
// message. The member reads the current key from the keys namespace
// (the admin's duties add a supplement for it).
func (c *Client) queueInvite(g *groupState, member identity.AccountID) error {
	seed, cred := c.issueCredential(g, member)
	pc, err := group.ParseCredential(cred)
	if err != nil {
		return err
	}
	inv := &group.Invite{Group: g.ID, Credential: pc, Name: g.Info.Name}
	copy(inv.MemberSeed[:], seed)
	if e, _ := g.member(member); e.Role == group.RoleAdmin {
		inv.GroupSeed = g.AdminSeed
	}
	b, err := inv.Marshal()
	if err != nil {
		return err
	}
	g.Publish = true // the admin section names the new member key
	u := &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_INVITE, GroupId: g.ID[:], Invite: b}
	return c.queueControl(member, NamespaceInbox, InboxTTL, &envelope.Content{Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
}

// queueGroupSync queues g's state and keys for the account's other
// devices, as a protocol v2 Sync message (never through the
// seed-derived config, which has no forward secrecy).
func (c *Client) queueGroupSync(g *groupState) error {
	u := &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_SYNC, GroupId: g.ID[:]}
	switch g.Status {
	case GroupLeft, GroupRemoved, GroupDeleted:
		u.Left = true
	case GroupInvited:
		u.Invite, u.InvitedBy = g.Invite, g.InvitedBy[:]
	default:
		u.Info, u.Members = g.InfoCfg, g.MembersCfg
		u.AdminKey, u.MemberKey, u.Credential = g.AdminSeed, g.MemberSeed, g.Credential
		ks, err := c.db.GroupKeys(g.ID.Account())
		if err != nil {
			return err
		}
		for _, k := range ks {
			u.Keys = append(u.Keys, &envelope.GroupUpdate_Key{Id: k.KeyID, Generation: k.Generation, Key: k.Key[:], ExpiresAtMs: uint64(k.Expires.UnixMilli())})
		}
	}
	return c.queueControl(c.acct.ID(), NamespaceSync, InboxTTL, &envelope.Content{Body: &envelope.Content_GroupUpdate{GroupUpdate: u}})
}

// applyGroupUpdate handles a GroupUpdate that came sealed with protocol v2
// from sender: an invitation in the inbox (ns 0), or a sync from the own
// account (ns 1).
func (c *Client) applyGroupUpdate(ns int32, sender identity.AccountID, u *envelope.GroupUpdate) error {
	id, err := group.IDFromBytes(u.GetGroupId())
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	switch {
	case ns == NamespaceInbox && u.GetKind() == envelope.GroupUpdate_KIND_INVITE:
		if c.blocked(sender) {
			return nil
		}
		return c.applyInvite(id, sender, u.GetInvite())
	case ns == NamespaceSync && u.GetKind() == envelope.GroupUpdate_KIND_SYNC:
		if !sender.Equal(c.acct.ID()) {
			return fmt.Errorf("%w: group sync signed by another account", ErrDropped)
		}
		return c.applyGroupSync(id, u)
	}
	return fmt.Errorf("%w: group update of kind %v in namespace %d", ErrDropped, u.GetKind(), ns)
}

// applyInvite records an invitation from sender: a request until
// accepted. A promotion (an invitation with the group seed) to a group
// already joined makes this account an admin.
func (c *Client) applyInvite(id group.ID, sender identity.AccountID, b []byte) error {
	inv, err := group.ParseInvite(b)
	if err != nil || inv.Group != id {
		return fmt.Errorf("%w: %w: invitation: %w", ErrDropped, ErrBadGroupData, err)
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	g, err := c.loadGroup(id.Account())
	isNew := errors.Is(err, ErrUnknownGroup)
	switch {
	case isNew:
		g = &groupState{ID: id, Status: GroupInvited, InvitedBy: sender, Invite: b, Info: groupInfo{Name: inv.Name}}
	case err != nil:
		return err
	case g.Status == GroupJoined:
		// Already in: a promotion, or a fresh credential.
	default:
		g.Status, g.InvitedBy, g.Invite = GroupInvited, sender, b
		isNew = true
	}
	g.MemberSeed, g.Credential = inv.MemberSeed[:], inv.Credential.Marshal()
	if inv.GroupSeed != nil {
		g.AdminSeed = inv.GroupSeed
	}
	if err := c.saveGroup(g); err != nil {
		return err
	}
	if _, err := c.db.EnsureConversation(id.Account(), c.clock()); err != nil {
		return err
	}
	if !isNew {
		return c.queueGroupSync(g)
	}
	c.emit(Event{Kind: EventRequest, Message: Message{Peer: id.Account(), Sender: sender}})
	return nil
}

// applyGroupSync takes what another device of this account holds of a
// group.
func (c *Client) applyGroupSync(id group.ID, u *envelope.GroupUpdate) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	g, err := c.loadGroup(id.Account())
	isNew := errors.Is(err, ErrUnknownGroup)
	switch {
	case isNew:
		if u.GetLeft() {
			return nil
		}
		g = &groupState{ID: id, Status: GroupJoined}
	case err != nil:
		return err
	}
	if u.GetLeft() {
		if g.Status == GroupLeft || g.Status == GroupDeleted {
			return nil
		}
		return c.forgetGroup(g, GroupLeft)
	}
	if inv := u.GetInvite(); len(inv) > 0 {
		p, err := group.ParseInvite(inv)
		if err != nil || p.Group != id {
			return fmt.Errorf("%w: %w: synced invitation: %w", ErrDropped, ErrBadGroupData, err)
		}
		if isNew {
			g.Status, g.Invite, g.Info.Name = GroupInvited, inv, p.Name
			copy(g.InvitedBy[:], u.GetInvitedBy())
			g.MemberSeed, g.Credential = p.MemberSeed[:], p.Credential.Marshal()
		}
	} else if g.Status == GroupInvited {
		g.Status, g.Invite = GroupJoined, nil // accepted on another device
	}
	if s := u.GetAdminKey(); len(s) > 0 {
		if a, err := group.NewAdmin(s); err == nil && a.Group() == id {
			g.AdminSeed = s
		}
	}
	if len(u.GetMemberKey()) > 0 {
		g.MemberSeed, g.Credential = u.GetMemberKey(), u.GetCredential()
	}
	if err := c.saveGroup(g); err != nil {
		return err
	}
	for _, k := range u.GetKeys() {
		var secret [32]byte
		copy(secret[:], k.GetKey())
		gk := group.Key{Generation: k.GetGeneration(), Secret: secret}
		if kid := gk.ID(id); string(kid[:]) != string(k.GetId()) {
			continue
		}
		exp := time.UnixMilli(int64(k.GetExpiresAtMs()))
		if !exp.After(c.clock()) {
			continue
		}
		if _, err := c.db.AddGroupKey(id.Account(), clientdb.GroupKey{KeyID: k.GetId(), Generation: gk.Generation, Key: secret, Expires: exp}); err != nil {
			return err
		}
	}
	// The configs verify under the group key and open with the keys
	// just added, like configs fetched from the swarm.
	if b := u.GetInfo(); len(b) > 0 {
		c.takeInfo(g, b)
	}
	if b := u.GetMembers(); len(b) > 0 {
		c.takeMembers(g, b)
	}
	if err := c.saveGroup(g); err != nil {
		return err
	}
	_, err = c.db.EnsureConversation(id.Account(), c.clock())
	return err
}

// isGroupRequest reports whether peer is a group invitation not yet
// accepted, and ok whether peer is a group at all.
func (c *Client) groupRequest(peer identity.AccountID) (request, ok bool) {
	if !IsGroupID(peer) {
		return false, false
	}
	g, err := c.loadGroup(peer)
	if err != nil {
		return false, true
	}
	return g.Status == GroupInvited, true
}

// syncGroups sends every group's state and keys to the account's other
// devices (a new device among them), as [Client.ShareHistoryTo] does.
func (c *Client) syncGroups(ctx context.Context) error {
	rows, err := c.db.Groups()
	if err != nil {
		return err
	}
	c.groupMu.Lock()
	for _, r := range rows {
		g, err := c.loadGroup(r.ID)
		if err == nil {
			err = c.queueGroupSync(g)
		}
		if err != nil {
			c.groupMu.Unlock()
			return err
		}
	}
	c.groupMu.Unlock()
	if len(rows) > 0 {
		// Sealed to the records as they are now, the new device's
		// included, not to a cached set from before it.
		c.forgetRecords(recordCacheKey{c.acct.ID(), prekey.Sync})
		c.FlushOutbox(ctx)
	}
	return nil
}

package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The group swarm (docs/groups.md §2): admins publish revocation lists,
// key messages and configs; members poll keys, member and info configs
// and messages, signing with their member key and presenting its
// credential (or, as an admin, with the group key).

// groupSignerKey carries the signer of a group's requests in a context:
// the storage calls (store.go) sign with it instead of the account.
type groupSignerKey struct{}

func withGroupSigner(ctx context.Context, s rpc.Signer) context.Context {
	return context.WithValue(ctx, groupSignerKey{}, s)
}

// signerFor returns the signer ctx names, else the account.
func (c *Client) signerFor(ctx context.Context) rpc.Signer {
	if s, ok := ctx.Value(groupSignerKey{}).(rpc.Signer); ok && s != nil {
		return s
	}
	return c.acct
}

// groupCtx returns ctx with g's signer: the group key for an admin, else
// the member credential. ErrNotGroupMember without either.
func groupCtx(ctx context.Context, g *groupState) (context.Context, error) {
	if a := g.admin(); a != nil {
		return withGroupSigner(ctx, a), nil
	}
	if m := g.memberSigner(); m != nil {
		return withGroupSigner(ctx, m), nil
	}
	return ctx, ErrNotGroupMember
}

// withWriter prefixes a group message (the messages namespace) with the
// key that signs its store (docs/groups.md §7): nodes count it against
// that key's share of the group's quota. Added at send time, so a member
// promoted meanwhile writes as the admin it signs as.
func (c *Client) withWriter(ctx context.Context, it clientdb.OutboxItem, payload []byte) []byte {
	if it.Namespace != int(group.NamespaceMessages) || payload == nil {
		return payload
	}
	return group.WithWriter(c.signerFor(ctx).Ed25519Public(), payload)
}

// groupItemCtx is groupCtx for an outbox item to group id. After a leave
// it signs with the member key kept for the leave notice (LeaveGroup).
func (c *Client) groupItemCtx(ctx context.Context, id identity.AccountID) (context.Context, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return ctx, err
	}
	if g.Status != GroupJoined {
		if m := g.leaveSigner(); m != nil {
			return withGroupSigner(ctx, m), nil
		}
		return ctx, ErrNotGroupMember
	}
	return groupCtx(ctx, g)
}

// leaveSigner returns the signer kept for g's leave notice, nil when none
// is.
func (g *groupState) leaveSigner() *group.Member {
	cred, err := group.ParseCredential(g.LeaveCredential)
	if err != nil {
		return nil
	}
	m, err := group.NewMember(g.ID, g.LeaveSeed, cred)
	if err != nil {
		return nil
	}
	return m
}

// GroupDuties runs every group's background work once: an admin's
// pending publications and key rotations, and each joined group's poll.
// [Client.Sync] runs it. It returns the messages stored for the first
// time.
func (c *Client) GroupDuties(ctx context.Context) ([]Message, error) {
	rows, err := c.db.Groups()
	if err != nil {
		return nil, err
	}
	if _, err := c.db.PruneGroupKeys(c.clock()); err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		out  []Message
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 4)
	for _, r := range rows {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := c.groupDuties(ctx, r.ID)
			mu.Lock()
			out = append(out, got...)
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b Message) int { return a.SentAt.Compare(b.SentAt) })
	// Sync's group messages skip afterPoll (receipts are off in groups),
	// but their media downloads as a 1:1 chat's does.
	c.autoDownload(ctx, out) // media.go
	return out, errors.Join(errs...)
}

// groupDuties is one group's share of GroupDuties.
func (c *Client) groupDuties(ctx context.Context, id identity.AccountID) ([]Message, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return nil, err
	}
	if len(g.LeaveSeed) > 0 {
		if err := c.groupLeaveDuties(id); err != nil {
			return nil, err
		}
	}
	if g.Status != GroupJoined {
		return nil, nil
	}
	var errs []error
	if g.isAdmin() {
		errs = append(errs, c.groupAdminDuties(ctx, id))
	}
	got, err := c.pollGroup(ctx, id)
	errs = append(errs, err)
	if g.isAdmin() {
		// What the poll learnt (a member left) is acted on at once.
		errs = append(errs, c.groupAdminDuties(ctx, id))
	}
	return got, errors.Join(errs...)
}

// groupAdminDuties does an admin's pending work on group id, in the order
// of docs/groups.md §6 (revocations, keys, members, info): a due
// rotation, then the publications. Each step that succeeds is recorded,
// so a failure repeats only what is left.
func (c *Client) groupAdminDuties(ctx context.Context, id identity.AccountID) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	g, err := c.loadGroup(id)
	if err != nil || g.Status != GroupJoined {
		return err
	}
	a := g.admin()
	if a == nil {
		return nil
	}
	now := c.now()
	k, have := c.currentKey(g.ID)
	if g.Rotate || !have || (g.PendingGen == 0 && now.Sub(time.UnixMilli(g.RotatedMS)) >= c.groupRotation) {
		nk, err := c.newGroupKey(g.ID)
		if err != nil {
			return err
		}
		if _, err := c.addGroupKey(g.ID, nk, now); err != nil {
			return err
		}
		g.Rotate, g.Publish, g.PendingGen, g.RotatedMS, g.Supplement = false, true, nk.Generation, now.UnixMilli(), nil
		k = nk
		if err := c.saveGroup(g); err != nil {
			return err
		}
		if err := c.queueGroupSync(g); err != nil {
			return err
		}
	}
	gctx := withGroupSigner(ctx, a)
	// A revocation list lives revTTL; once it lapses, nodes serve the
	// revoked credentials again (docs/groups.md §4). So the union is
	// republished as a new version when the newest list seen is half
	// its life old: whichever admin comes first, and the others see it.
	// A new list rather than an expire of the old one: it covers lists
	// two admins published at once, and a node that lost the old one.
	if len(g.Revoked) > 0 && !g.PublishRevoked && now.Sub(time.UnixMilli(g.RevCreatedMS)) >= c.revTTL/2 {
		g.PublishRevoked = true
	}
	if g.PublishRevoked {
		r := &group.Revocations{Version: g.RevVersion + 1, Created: now, Revoked: g.Revoked}
		b, err := r.Sign(a)
		if err != nil {
			return err
		}
		if _, err := c.store(gctx, id, group.NamespaceRevocations, c.revTTL, b); err != nil {
			return fmt.Errorf("group revocations: %w", err)
		}
		// The same list where a revoked credential still reads: a
		// removed member learns its removal from the group key's
		// signature, never from one node's refusal.
		if _, err := c.store(gctx, id, group.NamespaceRevokedRetrievable, c.revTTL, b); err != nil {
			return fmt.Errorf("group revocations (revoked-retrievable): %w", err)
		}
		g.PublishRevoked, g.RevVersion, g.RevCreatedMS = false, r.Version, now.UnixMilli()
		if err := c.saveGroup(g); err != nil {
			return err
		}
	}
	if g.PendingGen != 0 || len(g.Supplement) > 0 {
		to := g.Supplement
		if g.PendingGen != 0 {
			to = nil
			for _, e := range g.current() {
				to = append(to, e.Account)
			}
		}
		if err := c.publishKey(gctx, g, a, k, to); err != nil {
			return fmt.Errorf("group key messages: %w", err)
		}
		g.PendingGen, g.Supplement = 0, nil
		if err := c.saveGroup(g); err != nil {
			return err
		}
	}
	if g.Publish {
		ms := &group.Members{Entries: g.entries()}
		keys := make([]group.MemberKey, 0, len(g.MemberKeys))
		for _, mk := range g.MemberKeys {
			keys = append(keys, group.MemberKey{Account: mk.Account, Key: mk.Key})
		}
		if ms.AdminSection, err = group.SealAdminSection(a, keys); err != nil {
			return err
		}
		payload, err := ms.Marshal()
		if err != nil {
			return err
		}
		mcfg, err := group.SealConfig(a, group.KindMembers, g.MembersVersion+1, now, k, payload)
		if err != nil {
			return err
		}
		info := g.Info
		info.Version++
		ipayload, err := info.payload().Marshal()
		if err != nil {
			return err
		}
		icfg, err := group.SealConfig(a, group.KindInfo, info.Version, now, k, ipayload)
		if err != nil {
			return err
		}
		if _, err := c.store(gctx, id, group.NamespaceMembers, groupKeyTTL, mcfg); err != nil {
			return fmt.Errorf("group members: %w", err)
		}
		if _, err := c.store(gctx, id, group.NamespaceInfo, groupKeyTTL, icfg); err != nil {
			return fmt.Errorf("group info: %w", err)
		}
		g.MembersVersion, g.MembersCfg, g.Info, g.InfoCfg, g.Publish = g.MembersVersion+1, mcfg, info, icfg, false
		if err := c.saveGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// publishKey stores key messages giving k to the accounts to: for each,
// a grant sealed with protocol v2 to its devices (Inbox prekeys; the own
// account's other devices through their Sync prekeys), packed into as
// few key messages as the store limit allows. An account whose keys are
// not at hand is left out; the error names how many.
func (c *Client) publishKey(ctx context.Context, g *groupState, a *group.Admin, k group.Key, to []identity.AccountID) error {
	now := c.now()
	grant := group.Grant{Group: g.ID, Key: k, Created: now}.Marshal()
	sealed, missing := c.sealGrants(ctx, to, grant)
	if len(sealed) > 0 {
		msgs, err := group.SplitKeyMessages(k.Generation, k.ID(g.ID), now, sealed)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			b, err := m.Sign(a)
			if err != nil {
				return err
			}
			if _, err := c.store(ctx, g.ID.Account(), group.NamespaceKeys, groupKeyTTL, b); err != nil {
				return err
			}
		}
	}
	if missing > 0 {
		c.log.Debug("group key: members without device records left out", "count", missing)
	}
	return nil
}

// sealGrants seals grant to each account, in parallel; accounts without
// usable records are counted as missing (they get the key at the next
// rotation, or as a supplement).
func (c *Client) sealGrants(ctx context.Context, to []identity.AccountID, grant []byte) (sealed [][]byte, missing int) {
	out := make([][]byte, len(to))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, acct := range to {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			recs, none, err := c.recipients(ctx, acct)
			if err != nil || none {
				return
			}
			ct, err := sealv2.Seal(c.acct, acct, devicerecord.Bundles(recs), c.signTime(), grant)
			if err == nil {
				out[i] = ct
			}
		})
	}
	wg.Wait()
	self := c.acct.ID()
	for i, s := range out {
		if s != nil {
			sealed = append(sealed, s)
		} else if to[i] != self {
			missing++
		}
	}
	return sealed, missing
}

// errGroupKeyPending: a fetched object is sealed under a key this device
// does not hold yet; it is read again while it is in the lookback.
var errGroupKeyPending = errors.New("group key not held yet")

// keyPending is errGroupKeyPending with the generation asked for.
type keyPending struct{ gen uint64 }

func (e *keyPending) Error() string {
	return fmt.Sprintf("%v (generation %d)", errGroupKeyPending, e.gen)
}
func (e *keyPending) Is(target error) bool { return target == errGroupKeyPending }

// pendingGenerations bounds how far ahead of this device's current key
// an object may be sealed and still hold the arrival marks (processGroup):
// a poll reads the keys namespace before the others, so a real rotation
// is at most a few generations ahead by then; a member's message that
// claims a generation far ahead (no admin issued it) must not pin the
// marks for ever. Such a one is still re-read while in the lookback.
const pendingGenerations = 8

// worthRetry reports whether an object pending generation gen of group
// id should keep the arrival marks where they are.
func (c *Client) worthRetry(id identity.AccountID, gen uint64) bool {
	cur, ok := c.currentKey(group.ID(id))
	return !ok || gen <= cur.Generation+pendingGenerations
}

// groupCursorName names the cursor of group id's namespace ns.
func groupCursorName(id identity.AccountID, ns int32) string {
	return fmt.Sprintf("group/%s/%d", id, ns)
}

// groupArrivalsName names the record of the arrival marks the nodes gave
// for group id's namespace ns (arrivalmarks.go). Marks are per (swarm,
// namespace, node): a node's counter for one swarm's namespace says
// nothing about another's.
func groupArrivalsName(id identity.AccountID, ns int32) string {
	return fmt.Sprintf("group/%s/arrived/%d", id, ns)
}

// groupArrivalMark is arrivalMark for group id's namespace ns.
func (c *Client) groupArrivalMark(id identity.AccountID, ns int32, n snapshot.Node) *arrival {
	ar := &arrival{node: n, asked: rpc.ArrivalMarkOnly}
	if m, ok := c.loadArrivalRecord(groupArrivalsName(id, ns))[n.Ed25519.String()]; ok && m >= 0 {
		ar.asked = m
	}
	return ar
}

// pollGroup fetches group id's keys, member and info configs and
// messages (and, for an admin, revocation lists) from two members of its
// swarm, in that order (a key before what it opens), and stores what is
// new. A node that refuses the credential as revoked means this account
// was removed.
func (c *Client) pollGroup(ctx context.Context, id identity.AccountID) ([]Message, error) {
	g, err := c.loadGroup(id)
	if err != nil {
		return nil, err
	}
	gctx, err := groupCtx(ctx, g)
	if err != nil {
		return nil, nil
	}
	gctx, cancel := context.WithTimeout(gctx, c.limits.poll)
	defer cancel()
	members, err := c.dir.SwarmFor(gctx, id)
	if err != nil {
		return nil, err
	}
	members = c.askOrder(members)
	namespaces := []int32{group.NamespaceKeys, group.NamespaceMembers, group.NamespaceInfo, group.NamespaceMessages}
	if g.isAdmin() {
		namespaces = append([]int32{group.NamespaceRevocations}, namespaces...)
	} else {
		// First: a signed revocation list naming this member's key is
		// how it learns its removal (acceptGroup).
		namespaces = append([]int32{group.NamespaceRevokedRetrievable}, namespaces...)
	}
	// The namespaces are fetched at once and handled in order: a key
	// before the configs and messages it opens.
	budget := c.pollBudget()
	res := make([]fetched, len(namespaces))
	curs := make([]clientdb.Cursor, len(namespaces))
	var wg sync.WaitGroup
	for i, ns := range namespaces {
		if curs[i], err = c.db.Cursor(groupCursorName(id, ns)); err != nil {
			return nil, err
		}
		from := curs[i].Resume(c.lookback)
		wg.Go(func() {
			res[i] = c.fetchWith(gctx, members, id, ns, from, func() *rpc.Retrieve {
				return &rpc.Retrieve{Namespace: ns, AfterTimestamp: from, AfterHash: lowHash}
			}, budget, func(n snapshot.Node) *arrival { return c.groupArrivalMark(id, ns, n) })
		})
	}
	wg.Wait()
	var out []Message
	for i, ns := range namespaces {
		f := res[i]
		if f.err != nil {
			// A refusal of the credential (revoked) is one node's word:
			// the removal itself is learnt from a list the group key
			// signed, read from the revoked-retrievable namespace above.
			return out, f.err
		}
		got, retry, err := c.processGroup(id, ns, curs[i], f)
		out = append(out, got...)
		if err != nil {
			return out, err
		}
		// As in poll: a mark moves only once what its node sent is
		// handled; one sealed under a key not held yet comes again from
		// the mark not moved (it may lie behind the lookback).
		if !retry {
			c.saveArrivalRecord(groupArrivalsName(id, ns), members, f.arrivals)
		}
	}
	return out, nil
}

// processGroup handles the new messages of f, fetched from group id's
// namespace ns, and moves the cursor past them (never past f.limit). One
// sealed under a key not held yet is not marked seen: the lookback reads
// it again, and retry reports it so that f's arrival marks stay (it may
// have arrived late, behind the lookback).
func (c *Client) processGroup(id identity.AccountID, ns int32, cur clientdb.Cursor, f fetched) (out []Message, retry bool, err error) {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	hashes := make([]string, len(f.msgs))
	for i, m := range f.msgs {
		hashes[i] = m.Hash
	}
	unseen, err := c.db.Unseen(hashes...)
	if err != nil {
		return nil, false, err
	}
	var advance *position
	for _, m := range f.msgs {
		p := posOf(m)
		if f.limit == nil || !f.limit.before(p) {
			advance = &p
		}
		if !slices.Contains(unseen, m.Hash) {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(m.Data)
		if err != nil {
			continue // fetch checked it
		}
		got, err := c.acceptGroup(id, ns, m.Hash, data)
		if kp := (*keyPending)(nil); errors.As(err, &kp) {
			retry = retry || c.worthRetry(id, kp.gen)
			continue
		}
		if err != nil {
			if errors.Is(err, clientdb.ErrClosed) {
				return out, retry, err
			}
			c.dropped.Add(1)
			c.log.Debug("dropped a group message", "namespace", ns, "err", err)
			c.emit(Event{Kind: EventDropped, Err: err})
		}
		if err := c.db.MarkSeen(c.seenUntil(), m.Hash); err != nil {
			return out, retry, err
		}
		for _, msg := range got {
			c.received.Add(1)
			c.emit(Event{Kind: EventReceived, Message: msg})
			out = append(out, msg)
		}
	}
	if advance != nil {
		if t := time.UnixMilli(advance.ms); t.After(cur.Time) {
			if err := c.db.SetCursor(groupCursorName(id, ns), clientdb.Cursor{Position: advance.hash, Time: t}); err != nil {
				return out, retry, err
			}
		}
	}
	return out, retry, nil
}

// acceptGroup handles one object of group id's namespace ns. An error
// wrapping ErrDropped means it was refused.
func (c *Client) acceptGroup(id identity.AccountID, ns int32, hash string, data []byte) ([]Message, error) {
	gid := group.ID(id)
	switch ns {
	case group.NamespaceKeys:
		return nil, c.takeKeyMessage(gid, data)
	case group.NamespaceMembers:
		return nil, c.updateGroup(id, func(g *groupState) error { return c.takeMembers(g, data) })
	case group.NamespaceInfo:
		return nil, c.updateGroup(id, func(g *groupState) error { return c.takeInfo(g, data) })
	case group.NamespaceRevokedRetrievable:
		// Revocation lists (the admins' copies) and, later, other
		// notices: what is not a list is left alone, not counted.
		r, err := group.ParseRevocations(data, gid)
		if err != nil {
			return nil, nil
		}
		return nil, c.updateGroup(id, func(g *groupState) error {
			if m := g.memberSigner(); m != nil && g.Status == GroupJoined && !g.isAdmin() && slices.Contains(r.Revoked, m.Ed25519Public()) {
				g.Status = GroupRemoved
			}
			return nil
		})
	case group.NamespaceRevocations:
		return nil, c.updateGroup(id, func(g *groupState) error {
			r, err := group.ParseRevocations(data, gid)
			if err != nil {
				return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
			}
			for _, k := range r.Revoked {
				if !slices.Contains(g.Revoked, k) {
					g.Revoked = append(g.Revoked, k)
				}
			}
			g.RevVersion = max(g.RevVersion, r.Version)
			g.RevCreatedMS = max(g.RevCreatedMS, r.Created.UnixMilli())
			return nil
		})
	case group.NamespaceMessages:
		return c.takeGroupMessage(gid, hash, data)
	}
	return nil, fmt.Errorf("%w: group namespace %d", ErrDropped, ns)
}

// takeKeyMessage opens the grant sealed to this device in a key message,
// if there is one, and keeps its key.
func (c *Client) takeKeyMessage(gid group.ID, data []byte) error {
	km, err := group.ParseKeyMessage(data, gid)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	if _, held := c.groupKey(gid, km.Generation, km.KeyID); held {
		return nil
	}
	for _, s := range km.Sealed {
		pt, _, _, err := c.seal.open(envelope.Envelope_TYPE_SESSION_MESSAGE_V2, s)
		if err != nil {
			continue // another member's, or not for this device
		}
		gr, err := group.ParseGrant(pt)
		if err != nil || gr.Group != gid || gr.Key.Generation != km.Generation || gr.Key.ID(gid) != km.KeyID {
			return fmt.Errorf("%w: %w: a grant that does not match its key message", ErrDropped, ErrBadGroupData)
		}
		// Kept only while still in the group: a poll that was on the
		// network when this account left (forgetGroup, under the same
		// lock) must not bring a key back.
		c.groupMu.Lock()
		defer c.groupMu.Unlock()
		if g, err := c.loadGroup(gid.Account()); errors.Is(err, ErrUnknownGroup) || err == nil && g.Status != GroupJoined {
			return nil
		} else if err != nil {
			return err
		}
		_, err = c.addGroupKey(gid, gr.Key, gr.Created)
		return err
	}
	return nil
}

// groupConfigKey returns the key a config is sealed under, or
// errGroupKeyPending.
func (c *Client) groupConfigKey(gid group.ID, cfg *group.Config) (group.Key, error) {
	k, ok := c.groupKey(gid, cfg.Generation, cfg.KeyID)
	if !ok {
		return group.Key{}, &keyPending{cfg.Generation}
	}
	return k, nil
}

// takeMembers merges a member config into g (the per-entry rule of
// docs/groups.md §5.4, so concurrent admin changes converge and a
// replayed old config rolls nothing back).
func (c *Client) takeMembers(g *groupState, data []byte) error {
	cfg, err := group.ParseConfig(data, g.ID)
	if err != nil || cfg.Kind != group.KindMembers {
		return fmt.Errorf("%w: %w: member config: %w", ErrDropped, ErrBadGroupData, err)
	}
	k, err := c.groupConfigKey(g.ID, cfg)
	if err != nil {
		return err
	}
	payload, err := cfg.Open(k)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	ms, err := group.ParseMembers(payload)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	g.setEntries(group.MergeEntries(g.entries(), ms.Entries))
	if cfg.Version >= g.MembersVersion {
		g.MembersVersion, g.MembersCfg = cfg.Version, data
	}
	if a := g.admin(); a != nil && len(ms.AdminSection) > 0 {
		if keys, err := group.OpenAdminSection(a, ms.AdminSection); err == nil {
			for _, mk := range keys {
				e := groupMemberKey{Account: mk.Account, Key: mk.Key}
				if !slices.Contains(g.MemberKeys, e) {
					g.MemberKeys = append(g.MemberKeys, e)
				}
			}
		}
		// A member another admin removed is revoked by this one too
		// (lists only grow: publishing the union is harmless).
		for _, e := range g.entries() {
			if !e.State.Current() {
				g.revoke(e.Account)
			}
		}
	}
	if _, in := g.member(c.acct.ID()); !in && g.Status == GroupJoined && !g.isAdmin() {
		g.Status = GroupRemoved
	}
	return nil
}

// takeInfo keeps an info config when it wins over the one held
// (last writer wins: higher version, then the larger signature).
func (c *Client) takeInfo(g *groupState, data []byte) error {
	cfg, err := group.ParseConfig(data, g.ID)
	if err != nil || cfg.Kind != group.KindInfo {
		return fmt.Errorf("%w: %w: info config: %w", ErrDropped, ErrBadGroupData, err)
	}
	if len(g.InfoCfg) > 0 {
		if held, err := group.ParseConfig(g.InfoCfg, g.ID); err == nil && !cfg.Newer(held) {
			return nil
		}
	}
	k, err := c.groupConfigKey(g.ID, cfg)
	if err != nil {
		return err
	}
	payload, err := cfg.Open(k)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	in, err := group.ParseInfo(payload)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	g.Info, g.InfoCfg = infoOf(cfg.Version, in), data
	if in.Deleted && g.Status == GroupJoined {
		g.Status = GroupDeleted
	}
	return nil
}

// takeGroupMessage opens a group message and stores what it carries. A
// message whose sender is not a current member is dropped (and counted
// by the caller).
func (c *Client) takeGroupMessage(gid group.ID, hash string, stored []byte) ([]Message, error) {
	// The writer prefix is the nodes' (quota); the sender is the signed
	// one inside.
	_, data, err := group.SplitWriter(stored)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	gen, kid, err := group.PeekKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	k, ok := c.groupKey(gid, gen, kid)
	if !ok {
		if cur, have := c.currentKey(gid); have && gen < cur.Generation {
			// Sealed before this device's first key (a newcomer) or under
			// a key deleted since: it will never open here.
			return nil, fmt.Errorf("%w: group message under a key not held (generation %d)", ErrDropped, gen)
		}
		return nil, &keyPending{gen}
	}
	m, err := group.OpenMessage(gid, k, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrDropped, ErrBadGroupData, err)
	}
	g, err := c.loadGroup(gid.Account())
	if err != nil {
		return nil, err
	}
	entry, member := g.member(m.Sender)
	if !member {
		// A member removed or gone since may have written it before,
		// under a key older than the current one (history read later);
		// anyone else, or a newer key, is refused.
		cur, _ := c.currentKey(gid)
		if !hasEntry(g, m.Sender) || gen >= cur.Generation {
			return nil, fmt.Errorf("%w: %w: group message from a non-member", ErrDropped, ErrBadGroupData)
		}
	}
	content, err := envelope.UnmarshalContent(m.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	verifyTime(content, m.Time)
	self := c.acct.ID()
	switch {
	case content.GetData() != nil:
		dir := clientdb.Incoming
		if m.Sender == self {
			dir = clientdb.Outgoing
		}
		msg, isNew, err := c.storeData(gid.Account(), m.Sender, content, hash, dir)
		if err != nil || !isNew {
			return nil, err
		}
		if g.isAdmin() && entry.State == group.StateInvited {
			// A member that writes has accepted.
			err = c.updateGroup(gid.Account(), func(g *groupState) error {
				if e, in := g.member(m.Sender); in && e.State == group.StateInvited {
					g.change(m.Sender, e.Role, group.StateJoined)
					g.Publish = true
				}
				return nil
			})
		}
		return []Message{msg}, err
	case content.GetReaction() != nil:
		return nil, c.applyReaction(gid.Account(), m.Sender, content) // reaction.go
	case content.GetTyping() != nil:
		return nil, c.applyGroupTyping(gid.Account(), m.Sender, content.GetTyping(), time.UnixMilli(int64(content.GetSentAtMs()))) // typing.go
	case content.GetGroupUpdate().GetKind() == envelope.GroupUpdate_KIND_LEAVE:
		if !g.isAdmin() || m.Sender == self {
			return nil, nil
		}
		return nil, c.updateGroup(gid.Account(), func(g *groupState) error {
			if e, in := g.member(m.Sender); in && e.Role != group.RoleAdmin {
				g.change(m.Sender, e.Role, group.StateLeft)
				g.revoke(m.Sender)
				g.Rotate, g.Publish = true, true
			}
			return nil
		})
	}
	return nil, nil
}

// groupDeleteAll deletes everything group id's swarm holds (as its
// admin), then stores an info config marked deleted, so members learn it.
// The deleted info is made from the state as it is after the deletion,
// under the group lock, and kept there: an info merged meanwhile (another
// admin's, by a poll) or published by the duties cannot outrank it.
func (c *Client) groupDeleteAll(ctx context.Context, id identity.AccountID) error {
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	a := g.admin()
	if a == nil {
		return ErrNotGroupAdmin
	}
	gctx := withGroupSigner(ctx, a)
	members, err := c.dir.SwarmFor(gctx, id)
	if err != nil {
		return err
	}
	ok := 0
	var lastErr error
	for _, n := range members {
		if _, err := c.signed(gctx, n, &rpc.DeleteAll{}); err != nil {
			lastErr = err
			continue
		}
		ok++
	}
	if ok == 0 {
		return lastErr
	}
	var cfg []byte
	err = c.updateGroup(id, func(g *groupState) error {
		k, have := c.currentKey(g.ID)
		if !have {
			return errNoChange
		}
		info := g.Info
		info.Version++
		info.Deleted = true
		payload, err := info.payload().Marshal()
		if err != nil {
			return err
		}
		if cfg, err = group.SealConfig(a, group.KindInfo, info.Version, c.now(), k, payload); err != nil {
			return err
		}
		g.Info, g.InfoCfg = info, cfg
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = c.store(gctx, id, group.NamespaceInfo, groupKeyTTL, cfg)
	return err
}

// groupHolds starts, in fast mode, a long-poll for every joined group not
// held yet (receiveFast calls it at each safety-net round, so a group
// joined meanwhile is held from the next).
type groupHolds struct {
	mu   sync.Mutex
	held map[identity.AccountID]bool
}

func (c *Client) startGroupHolds(ctx context.Context, hs *groupHolds, wg *sync.WaitGroup, out chan<- []Message) {
	rows, err := c.db.Groups()
	if err != nil {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.held == nil {
		hs.held = map[identity.AccountID]bool{}
	}
	for _, r := range rows {
		if hs.held[r.ID] {
			continue
		}
		if g, err := c.loadGroup(r.ID); err != nil || g.Status != GroupJoined {
			continue
		}
		hs.held[r.ID] = true
		wg.Go(func() {
			c.groupHoldLoop(ctx, r.ID, out)
			hs.mu.Lock()
			delete(hs.held, r.ID)
			hs.mu.Unlock()
		})
	}
}

// groupHoldLoop long-polls group id's message namespace on one member of
// its swarm at a time, from where the last answer ended, until ctx ends
// or the group is no longer joined. An answer with messages wakes the
// group's two-member poll (pollGroup), which stores what is new: the held
// member's answer is trusted for nothing but the wake-up. Its arrival
// marks (arrivalmarks.go, the group poll's own record) make a message
// that lands there behind the position wake it too: such a late one is
// stored from the answer at once, moving no cursor, as the account's
// long-poll does (hold.go), rather than waiting for the next safety-net
// poll.
func (c *Client) groupHoldLoop(ctx context.Context, id identity.AccountID, out chan<- []Message) {
	var after *position
	noMarks := false // a member refused arrived_after (a node from before marks)
	pause := map[identity.Ed25519PublicKey]time.Time{}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		g, err := c.loadGroup(id)
		if err != nil || g.Status != GroupJoined {
			return
		}
		gctx, err := groupCtx(ctx, g)
		if err != nil {
			return
		}
		members, err := c.dir.SwarmFor(gctx, id)
		if err != nil || len(members) == 0 {
			if !sleep(holdFailPause) {
				return
			}
			continue
		}
		var n *snapshot.Node
		for _, m := range c.askOrder(members) {
			if until, ok := pause[m.Ed25519]; !ok || time.Now().After(until) {
				n = &m
				break
			}
		}
		if n == nil {
			if !sleep(holdFailPause) {
				return
			}
			continue
		}
		req := &rpc.Retrieve{Namespace: group.NamespaceMessages, MaxSize: retrievePageSize, Wait: c.holdWait}
		cur, err := c.db.Cursor(groupCursorName(id, group.NamespaceMessages))
		if err != nil {
			return
		}
		from := position{ms: cur.Time.UnixMilli(), hash: cur.Position}
		if after != nil && (cur.Time.IsZero() || from.before(*after)) {
			from = *after
		}
		if from.ms > 0 {
			req.AfterTimestamp, req.AfterHash = time.UnixMilli(from.ms), from.hash
		}
		ar := c.groupArrivalMark(id, group.NamespaceMessages, *n)
		if !noMarks {
			req.ArrivedAfter = &ar.asked
		}
		hold := c.holdWait + holdSlack
		start := time.Now()
		hctx, cancel := context.WithTimeout(gctx, hold+c.limits.member)
		resp, err := c.signedHold(hctx, *n, hold, func(now time.Time) (rpc.Outgoing, error) {
			req.Stamp(now)
			return req, nil
		})
		cancel()
		if ctx.Err() != nil {
			return
		}
		var r rpc.RetrieveResult
		if err == nil {
			err = json.Unmarshal(resp, &r)
		}
		if err != nil {
			var ne *NodeError
			if req.ArrivedAfter != nil && refusedField(err, "arrived_after") {
				noMarks = true
				continue
			}
			if errors.As(err, &ne) && (ne.Code == rpc.CodeRevoked || ne.Code == rpc.CodeBadCredential) {
				// One node's word: the poll reads the group-signed list
				// that says whether this member was removed.
				c.pollGroup(ctx, id)
			}
			pause[n.Ed25519] = time.Now().Add(holdFailPause)
			continue
		}
		late, lerr := c.takeGroupLate(id, cur, *n, ar, req.ArrivedAfter != nil, &r)
		if lerr != nil {
			c.log.Debug("late group messages from a long-poll", "err", lerr)
		}
		if len(late) > 0 {
			select {
			case out <- late:
			case <-ctx.Done():
				return
			}
		}
		if len(r.Late) > 0 && len(r.Messages) == 0 {
			// Woken by a late arrival, which its mark now covers: hold
			// again at once.
			continue
		}
		// A member that answers at once, again and again (nothing, or
		// only what lies at or before the position asked for: a stale
		// node serving old objects), would make this loop spin and wake
		// the poll for nothing: it rests, and another member is held.
		last := position{ms: -1}
		if len(r.Messages) > 0 {
			last = posOf(r.Messages[len(r.Messages)-1])
		}
		if len(r.Messages) == 0 || (from.ms > 0 && !from.before(last)) {
			if time.Since(start) < c.holdWait*3/4 {
				if len(r.Messages) > 0 {
					c.markBad(*n, "it answered a group long-poll with nothing after the position asked for")
				}
				pause[n.Ed25519] = time.Now().Add(holdFailPause)
			}
			continue
		}
		if after == nil || after.before(last) {
			after = &last
		}
		got, err := c.pollGroup(ctx, id)
		if err != nil {
			c.log.Debug("group poll after a long-poll", "err", err)
		}
		if len(got) > 0 {
			select {
			case out <- got:
			case <-ctx.Done():
				return
			}
		}
	}
}

// takeGroupLate stores the late messages (behind the position) of a group
// long-poll's answer r from member n, moving no cursor, and keeps n's new
// arrival mark once they are handled (not when one waits for a key: it
// comes again then). withMarks says whether the request asked for marks.
func (c *Client) takeGroupLate(id identity.AccountID, cur clientdb.Cursor, n snapshot.Node, ar *arrival, withMarks bool, r *rpc.RetrieveResult) ([]Message, error) {
	if !withMarks {
		return nil, nil
	}
	ns := group.NamespaceMessages
	future := c.netc.Latest().Add(futureSlack).UnixMilli()
	var good []rpc.Message
	for _, m := range r.Late {
		if why := checkFetched(id, ns, m, future); why != "" {
			c.markBad(n, why)
			return nil, errors.New(why)
		}
		good = append(good, m)
	}
	var got []Message
	retry := false
	if len(good) > 0 {
		// The limit is the cursor itself: one member's word moves nothing.
		limit := position{ms: cur.Time.UnixMilli(), hash: cur.Position}
		if cur.Time.IsZero() {
			limit = position{ms: -1}
		}
		var err error
		if got, retry, err = c.processGroup(id, ns, cur, fetched{msgs: good, limit: &limit}); err != nil {
			return got, err
		}
	}
	if !retry {
		ar.mark = r.Arrived
		c.saveArrivalRecord(groupArrivalsName(id, ns), nil, []*arrival{ar})
	}
	return got, nil
}

// hasEntry reports whether account was ever in g's member list.
func hasEntry(g *groupState, account identity.AccountID) bool {
	return slices.ContainsFunc(g.Entries, func(e groupEntry) bool { return e.Account == account })
}

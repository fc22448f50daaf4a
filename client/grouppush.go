package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
)

// Push subscriptions for group swarms (docs/groups.md §12, DESIGN.md §7
// step 1). While this device holds a live account subscription (push
// mode), it holds one more per joined group: made for that group only and
// never reused (its own random sub_id, notify secret, payload key and
// management key), registered at the same push server through an onion
// path with the same provider target, and recorded in the group swarm's
// namespace 4, signed by the key this account signs the group's requests
// with (its per-group member key, or the group key for an admin), so the
// group's nodes learn no Account ID.
//
// The set is kept by reconciliation (groupPushDuties): what should exist
// (the account subscription is live, the group joined, a signer held) is
// compared with what does, and the difference is made, renewed or
// cancelled. The background duties run it after the account's own
// ([Client.Sync]); subscribing, unsubscribing, joining, leaving and
// deleting a group run it at once for what they changed. A cancel is a
// signed unsubscribe at the push server and the deletion of its records:
// an admin deletes any, a member those signed by the key it signs with
// (the nodes allow a member no other delete, §12), so that a member
// toggling push mode does not fill its key's record quota. Records it
// cannot delete (signed by a member key it no longer holds, or a removed
// member's, whose credential is revoked) lapse at their expiry; the push
// server, which no longer knows their sub_id, refuses the nodes' notifies
// meanwhile, and nodes skip a removed member's record as soon as the
// revocation list reaches them. Leaving a group cancels its subscription
// before the credential is forgotten (groupPushLeaving).
//
// The subscriptions' secrets are a setting of this device, in the
// encrypted client database next to the account's (never synced).

// groupPushSetting holds this device's groupPushState (JSON).
const groupPushSetting = "client/push/groups"

// groupPushRetry is how long the background duties wait before trying
// again to subscribe a group that failed (a full record quota, a push
// server that refused); the explicit triggers do not wait.
const groupPushRetry = 10 * time.Minute

// groupPushState is this device's group subscriptions.
type groupPushState struct {
	Subs []*groupSub `json:"subs,omitempty"`
	// RetryAt holds, per group, when the duties may try again to
	// subscribe it after a failure (ms).
	RetryAt map[group.ID]int64 `json:"retry_at,omitempty"`
	// Failed holds why each of those failed, for the status.
	Failed map[group.ID]string `json:"failed,omitempty"`
}

// groupSub is one group's subscription: a pushState (without a target of
// its own: the account's serves) plus what ties it to the group.
type groupSub struct {
	// Group is the group's ID (group.ID: its JSON takes the 03 prefix).
	Group group.ID `json:"group"`
	// Account is the sub_id of the account subscription it was made
	// under: a new account subscription (a new target) replaces it.
	Account hexKey `json:"account_sub"`
	// Signer is the key its record is signed with; a device whose
	// signer changed (a promotion, a new credential) stores the record
	// again.
	Signer hexKey `json:"signer"`
	pushState
}

// GroupPushStatus describes one group's push subscription on this device.
type GroupPushStatus struct {
	Group   identity.AccountID `json:"group"`
	SubID   string             `json:"sub_id"`
	Expires time.Time          `json:"expires"`
	// State is "active", "unsubscribing" (to be finished by the
	// duties) or "failed" (not subscribed: Problem says why; the duties
	// try again).
	State   string `json:"state"`
	Problem string `json:"problem,omitempty"`
}

func (c *Client) loadGroupPush() (*groupPushState, error) {
	b, err := c.db.Setting(groupPushSetting)
	if errors.Is(err, clientdb.ErrNotFound) || err == nil && len(b) == 0 {
		return &groupPushState{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s groupPushState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("group push subscriptions: %w", err)
	}
	return &s, nil
}

func (c *Client) saveGroupPush(s *groupPushState) error {
	if len(s.Subs) == 0 && len(s.RetryAt) == 0 {
		err := c.db.DeleteSetting(groupPushSetting)
		if errors.Is(err, clientdb.ErrNotFound) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return c.db.SetSetting(groupPushSetting, b)
}

// groupPushAll asks groupPushDuties for every group.
var groupPushAll identity.AccountID

// groupPushDuties reconciles this device's group subscriptions with its
// account subscription and its groups: for only (every group when zero),
// it cancels what should no longer be, subscribes what should and is
// not, stores a record again after a change of signer, renews at two
// thirds of the life and replaces a lapsed one. force ignores the
// pause after a failed subscribe. Failures are kept in the state (the
// status shows them) and retried at the next run.
func (c *Client) groupPushDuties(ctx context.Context, only identity.AccountID, force bool) error {
	c.groupPushMu.Lock()
	defer c.groupPushMu.Unlock()
	c.pushMu.Lock()
	acct, err := c.loadPush()
	c.pushMu.Unlock()
	if err != nil {
		return err
	}
	now := c.now()
	live := acct != nil && !acct.Cancel && !acct.Gone && now.Before(acct.expiry())
	st, err := c.loadGroupPush()
	if err != nil {
		return err
	}
	if !live && len(st.Subs) == 0 {
		if len(st.RetryAt) > 0 {
			st.RetryAt, st.Failed = nil, nil
			return c.saveGroupPush(st)
		}
		return nil
	}
	// The groups that should have a subscription.
	want := map[identity.AccountID]*groupState{}
	if live {
		rows, err := c.db.Groups()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !only.IsZero() && r.ID != only {
				continue
			}
			g, err := c.loadGroup(r.ID)
			if err != nil || g.Status != GroupJoined {
				continue
			}
			if _, err := groupCtx(ctx, g); err == nil {
				want[r.ID] = g
			}
		}
	}
	var errs []error
	// Cancel first: each cancelled one frees a place in the group's
	// record quota for its replacement.
	for _, s := range slices.Clone(st.Subs) {
		if !only.IsZero() && s.Group.Account() != only {
			continue
		}
		_, wanted := want[s.Group.Account()]
		if wanted && s.Account == acct.SubID && s.Server == acct.Server && !s.Cancel && now.Before(s.expiry()) {
			continue
		}
		s.Cancel = true
		if err := c.cancelGroupSub(ctx, st, s, nil); err != nil {
			errs = append(errs, fmt.Errorf("group %s: cancelling its push subscription: %w", s.Group.Account().Short(), err))
		}
	}
	for id, g := range want {
		gid := group.ID(id)
		i := slices.IndexFunc(st.Subs, func(s *groupSub) bool { return s.Group == gid && !s.Cancel })
		if i < 0 {
			if at, ok := st.RetryAt[gid]; ok && !force && now.Before(time.UnixMilli(at)) {
				continue
			}
			if err := c.subscribeGroup(ctx, st, acct, g); err != nil {
				if st.RetryAt == nil {
					st.RetryAt = map[group.ID]int64{}
				}
				st.RetryAt[gid] = now.Add(groupPushRetry).UnixMilli()
				if st.Failed == nil {
					st.Failed = map[group.ID]string{}
				}
				st.Failed[gid] = err.Error()
				if serr := c.saveGroupPush(st); serr != nil {
					return serr
				}
				errs = append(errs, fmt.Errorf("group %s: push subscription: %w", id.Short(), err))
				continue
			}
			if _, ok := st.RetryAt[gid]; ok {
				delete(st.RetryAt, gid)
				delete(st.Failed, gid)
				if err := c.saveGroupPush(st); err != nil {
					return err
				}
			}
			continue
		}
		if err := c.keepGroupSub(ctx, st, st.Subs[i], g); err != nil {
			errs = append(errs, fmt.Errorf("group %s: push subscription: %w", id.Short(), err))
		}
	}
	// Groups no longer wanted lose their pause.
	for id := range st.RetryAt {
		if _, ok := want[id.Account()]; !ok && (only.IsZero() || id.Account() == only) {
			delete(st.RetryAt, id)
			delete(st.Failed, id)
		}
	}
	if err := c.saveGroupPush(st); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// subscribeGroup makes a new subscription for g under the account
// subscription acct: registered at the push server with acct's target,
// its record stored in g's swarm. On failure nothing is kept (a
// registration whose record could not be stored is taken back).
func (c *Client) subscribeGroup(ctx context.Context, st *groupPushState, acct *pushState, g *groupState) error {
	gctx, err := groupCtx(ctx, g)
	if err != nil {
		return err
	}
	var req push.Request
	if err := requestTarget(acct.Target, &req); err != nil {
		return err
	}
	s := &groupSub{Group: g.ID, Account: acct.SubID}
	s.Server, s.Namespaces = acct.Server, []int32{group.NamespaceMessages}
	// Fresh secrets: never the account's, never another group's
	// (DESIGN.md §7 step 1), so the push server cannot tell which
	// subscriptions watch which swarm.
	for _, k := range []*hexKey{&s.SubID, &s.NotifySecret, &s.EncKey, &s.MgmtSeed} {
		rand.Read(k[:])
	}
	req.Op, req.SubID, req.SecretHash = push.OpRegister, s.SubID, push.SecretHash(s.NotifySecret)
	req.TS = c.pushTS(&s.pushState)
	req.Expiry = req.TS.Add(push.MaxLifetime)
	push.SignRequest(&req, s.mgmt())
	if _, err := c.pushCall(ctx, s.Server, &req); err != nil {
		return fmt.Errorf("registering at the push server: %w", err)
	}
	s.Created, s.Expiry = req.TS.UnixMilli(), req.Expiry.UnixMilli()
	if err := c.storeGroupRecord(gctx, s); err != nil {
		if uerr := c.unsubscribe(ctx, &s.pushState); uerr != nil {
			c.log.Debug("unsubscribing after a failed group record store", "err", uerr)
		}
		return fmt.Errorf("storing the push record in the group swarm: %w", err)
	}
	st.Subs = append(st.Subs, s)
	return c.saveGroupPush(st)
}

// storeGroupRecord signs s's record with gctx's signer and stores it in
// the group swarm's namespace 4, keeping the previous record's hash and
// signer in s.Old for deletion (keepGroupSub).
func (c *Client) storeGroupRecord(gctx context.Context, s *groupSub) error {
	signer := c.signerFor(gctx)
	r := &push.Record{Server: s.Server, SubID: s.SubID, NotifySecret: s.NotifySecret, EncKey: s.EncKey,
		Namespaces: slices.Clone(s.Namespaces), Expiry: s.expiry()}
	if err := push.SignGroupRecord(r, s.Group.Account(), signer); err != nil {
		return err
	}
	ttl := min(s.expiry().Sub(c.now()), rpc.MaxTTLPrivate)
	if ttl <= 0 {
		return fmt.Errorf("%w: expired", ErrNotSubscribed)
	}
	h, err := c.store(gctx, s.Group.Account(), push.Namespace, ttl, r.Marshal())
	if err != nil {
		return err
	}
	if s.RecordHash != "" && s.RecordHash != h {
		old := s.Signer
		s.Old = append(s.Old, pushOldRecords{Hash: s.RecordHash, Signer: &old})
	}
	s.RecordHash, s.Signer = h, hexKey(signer.Ed25519Public().Bytes())
	return nil
}

// keepGroupSub keeps s alive: a record again under a changed signer, a
// renewal at two thirds of its life, and the deletion of the records it
// superseded.
func (c *Client) keepGroupSub(ctx context.Context, st *groupPushState, s *groupSub, g *groupState) error {
	gctx, err := groupCtx(ctx, g)
	if err != nil {
		return err
	}
	var errs []error
	if signer := c.signerFor(gctx).Ed25519Public(); hexKey(signer.Bytes()) != s.Signer {
		// Promoted (now signing as the group) or given a new credential:
		// the old key may be revoked, and nodes skip a revoked key's
		// records.
		if err := c.storeGroupRecord(gctx, s); err != nil {
			s.Problem = "storing the record under a new key: " + err.Error()
			errs = append(errs, err)
		} else {
			s.Problem = ""
		}
		if err := c.saveGroupPush(st); err != nil {
			return err
		}
	}
	if !c.now().Before(s.renewAt()) {
		errs = append(errs, c.renewGroupSub(ctx, gctx, st, s))
	}
	if len(s.Old) > 0 {
		if err := c.deleteGroupRecords(gctx, s.Group.Account(), c.oldHashes(gctx, s, g)); err != nil {
			c.log.Debug("deleting superseded group push records", "err", err)
		} else {
			// Those this device may not delete lapse.
			s.Old = nil
			if err := c.saveGroupPush(st); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

// renewGroupSub extends s at the push server and stores a record with the
// new expiry. A push server that forgot s, or moved, gets s cancelled:
// the next reconciliation makes a new one.
func (c *Client) renewGroupSub(ctx, gctx context.Context, st *groupPushState, s *groupSub) error {
	req := &push.Request{Op: push.OpRenew, SubID: s.SubID, TS: c.pushTS(&s.pushState)}
	req.Expiry = req.TS.Add(push.MaxLifetime)
	push.SignRequest(req, s.mgmt())
	_, err := c.pushCall(ctx, s.Server, req)
	var pe *push.Error
	switch {
	case errors.As(err, &pe) && (pe.Code == push.CodeNotFound || pe.Code == push.CodeGone), errors.Is(err, errServerMoved):
		s.Cancel, s.Problem = true, "the push server no longer knows it; replaced at the next duties"
		return c.saveGroupPush(st)
	case err != nil:
		s.Problem = "renewing: " + err.Error()
		if serr := c.saveGroupPush(st); serr != nil {
			return serr
		}
		return err
	}
	s.Created, s.Expiry, s.Problem = req.TS.UnixMilli(), req.Expiry.UnixMilli(), ""
	if err := c.storeGroupRecord(gctx, s); err != nil {
		s.Problem = "storing the renewed record: " + err.Error()
		if serr := c.saveGroupPush(st); serr != nil {
			return serr
		}
		return err
	}
	return c.saveGroupPush(st)
}

// cancelGroupSub unsubscribes s at the push server and, where this device
// is still in the group (g, or loaded when nil), deletes the records it
// may (oldHashes); then forgets it. On failure s stays (marked) for the
// next run.
func (c *Client) cancelGroupSub(ctx context.Context, st *groupPushState, s *groupSub, g *groupState) error {
	var errs []error
	if c.now().Before(s.expiry()) {
		if err := c.unsubscribe(ctx, &s.pushState); err != nil {
			errs = append(errs, fmt.Errorf("unsubscribing: %w", err))
		}
	}
	if g == nil {
		g, _ = c.loadGroup(s.Group.Account())
	}
	if g != nil && g.Status == GroupJoined {
		if gctx, err := groupCtx(ctx, g); err == nil {
			hs := c.oldHashes(gctx, s, g)
			if s.RecordHash != "" && (g.isAdmin() || s.Signer == hexKey(c.signerFor(gctx).Ed25519Public().Bytes())) {
				hs = append(hs, s.RecordHash)
			}
			if err := c.deleteGroupRecords(gctx, s.Group.Account(), hs); err != nil {
				c.log.Debug("deleting a cancelled group push record", "err", err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.Problem = err.Error()
		if serr := c.saveGroupPush(st); serr != nil {
			return serr
		}
		return err
	}
	st.Subs = slices.DeleteFunc(st.Subs, func(o *groupSub) bool { return o == s })
	return c.saveGroupPush(st)
}

// oldHashes returns the superseded records of s that gctx's signer may
// delete in g's swarm: all of them for an admin; for a member those its
// own key signed, since the nodes refuse a member's delete naming any
// other message.
func (c *Client) oldHashes(gctx context.Context, s *groupSub, g *groupState) []string {
	admin := g.isAdmin()
	mine := hexKey(c.signerFor(gctx).Ed25519Public().Bytes())
	var hs []string
	for _, o := range s.Old {
		if admin || o.Signer != nil && *o.Signer == mine {
			hs = append(hs, o.Hash)
		}
	}
	return hs
}

// deleteGroupRecords deletes hashes from group id's swarm with gctx's
// signer (the group key, or a member key deleting its own records, §12):
// done when one member took it, as deleteOwn.
func (c *Client) deleteGroupRecords(gctx context.Context, id identity.AccountID, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	members, err := c.dir.SwarmFor(gctx, id)
	if err != nil {
		return err
	}
	ok := 0
	var lastErr error
	for _, n := range members {
		_, err := c.signed(gctx, n, &rpc.Delete{Hashes: hashes[:min(len(hashes), rpc.MaxHashes)]})
		var ne *NodeError
		if err == nil || errors.As(err, &ne) && ne.Code == rpc.CodeReplayed {
			ok++
			continue
		}
		lastErr = err
	}
	if ok == 0 {
		return lastErr
	}
	return nil
}

// openGroupPush opens payload with the group subscriptions' keys.
func (c *Client) openGroupPush(payload []byte) (PushInner, bool, error) {
	st, err := c.loadGroupPush()
	if err != nil {
		return PushInner{}, false, err
	}
	for _, s := range st.Subs {
		if in, err := push.OpenPayload(s.EncKey, payload); err == nil {
			return PushInner{Namespace: in.Namespace, Hash: in.Hash, Count: in.Count, Group: s.Group.Account()}, true, nil
		}
	}
	return PushInner{}, len(st.Subs) > 0, nil
}

// groupPushStatus lists the group subscriptions for the status.
func (c *Client) groupPushStatus() ([]GroupPushStatus, error) {
	st, err := c.loadGroupPush()
	if err != nil {
		return nil, err
	}
	var out []GroupPushStatus
	for _, s := range st.Subs {
		gs := GroupPushStatus{Group: s.Group.Account(), SubID: hex.EncodeToString(s.SubID[:]), Expires: s.expiry().UTC(), State: "active", Problem: s.Problem}
		if s.Cancel {
			gs.State = "unsubscribing"
		}
		out = append(out, gs)
	}
	for id, why := range st.Failed {
		out = append(out, GroupPushStatus{Group: id.Account(), State: "failed", Problem: why})
	}
	return out, nil
}

// groupPushLeaving cancels g's subscriptions as this device leaves g,
// while it still holds the key that signed their records and so may
// delete them; what fails is finished by the duties (the records then
// lapse).
func (c *Client) groupPushLeaving(ctx context.Context, g *groupState) {
	c.groupPushMu.Lock()
	defer c.groupPushMu.Unlock()
	st, err := c.loadGroupPush()
	if err != nil {
		c.log.Debug("group push subscriptions", "err", err)
		return
	}
	for _, s := range slices.Clone(st.Subs) {
		if s.Group != g.ID {
			continue
		}
		s.Cancel = true
		if err := c.cancelGroupSub(ctx, st, s, g); err != nil {
			c.log.Debug("cancelling a left group's push subscription", "err", err)
		}
	}
}

// groupPushNow reconciles group id's subscription at once (joined, left,
// deleted here), when this device is in push mode; failures are left to
// the duties.
func (c *Client) groupPushNow(ctx context.Context, id identity.AccountID) {
	if err := c.groupPushDuties(ctx, id, true); err != nil {
		c.log.Debug("group push subscription", "err", err)
	}
}

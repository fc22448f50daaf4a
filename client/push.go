package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Push mode (DESIGN.md §7, issue 16). A subscription is made for this
// device and this account's swarm and never reused: random sub_id,
// notify secret, payload key and management key. The client registers it
// at the network file's push server through an onion path (the server
// learns no Account ID and no IP), then stores the signed record
// (protocol/push) in its own swarm's owner-only namespace 4, from where
// the swarm's nodes notify. The subscription lives push.MaxLifetime; the
// background duties ([Client.Sync], so every receive loop) renew it at
// two thirds of that, and in push mode the receive loop still polls, but
// rarely (Options.PushSafetyNetInterval), in case a push is lost.
// Leaving push mode unsubscribes (signed) and deletes the record; when
// the network is not reachable then, the duties finish it later.
//
// The subscription's secrets live in the encrypted client database, as a
// setting of this device (never synced: each device has its own).

// pushSetting holds this device's pushState (JSON).
const pushSetting = "client/push"

// DefaultPushSafetyNetInterval is how often Receive polls in push mode,
// in case a push was lost on the way.
const DefaultPushSafetyNetInterval = 15 * time.Minute

// pushNamespaces are the namespaces a subscription wakes the device for:
// messages to it. Its own sync copies come from its other devices, which
// need not wake it.
var pushNamespaces = []int32{NamespaceInbox}

// pushRenewFraction: a subscription is renewed once this much of its
// lifetime has passed (two thirds), leaving days for retries.
const pushRenewNum, pushRenewDen = 2, 3

// Push errors.
var (
	// ErrNoPushServer: the network file names no push server, or the
	// client does not reach the network through onion paths.
	ErrNoPushServer = errors.New("no push server: the network file names none, or onion paths are off")
	// ErrBadPushTarget: [Client.SubscribePush] was given no target, two,
	// or one of the wrong form.
	ErrBadPushTarget = errors.New("bad push target")
	// ErrNotSubscribed: the device has no live push subscription.
	ErrNotSubscribed = errors.New("no push subscription on this device")
	// ErrBadPush: [Client.OpenPush] was given a payload that does not
	// open with this device's subscription key.
	ErrBadPush = errors.New("push payload does not open with this device's subscription")
)

// WebPushTarget is what a browser's PushSubscription or a UnifiedPush
// distributor hands an application: the endpoint URL (https) and the
// subscriber's keys, in base64url (padding and the standard alphabet are
// accepted too).
type WebPushTarget struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// PushTarget is where the push server delivers: exactly one of a Web
// Push subscription, an APNs device token (hex) or an FCM registration
// token.
type PushTarget struct {
	WebPush *WebPushTarget `json:"webpush,omitempty"`
	APNs    string         `json:"apns,omitempty"`
	FCM     string         `json:"fcm,omitempty"`
}

// PushInner is what a push says once opened ([Client.OpenPush]): a
// message landed in the own swarm. Test is set for a push sent by
// [Client.TestPush], which names no message.
type PushInner struct {
	Namespace int32  `json:"namespace"`
	Hash      string `json:"hash,omitempty"`
	Count     int    `json:"count"`
	Test      bool   `json:"test,omitempty"`
	// Group is set for a push of a group's subscription (grouppush.go):
	// a message landed in that group's swarm (Namespace is then its
	// messages namespace, 11).
	Group identity.AccountID `json:"group,omitzero"`
}

// PushStatus describes this device's push subscription.
type PushStatus struct {
	// Provider is webpush, apns or fcm; Target the endpoint's host or a
	// token's first characters, for recognising it.
	Provider string `json:"provider"`
	Target   string `json:"target"`
	// Server is the push server's X25519 key, hex.
	Server string `json:"server"`
	// SubID is the subscription's random ID (hex), which the push server
	// and the swarm's nodes see.
	SubID   string    `json:"sub_id"`
	Expires time.Time `json:"expires"`
	// RenewAt is when the background duties renew it.
	RenewAt time.Time `json:"renew_at"`
	// State is "active", "unsubscribing" (leaving push mode, to be
	// finished when the network is reachable) or "gone" (the provider
	// said the token no longer works: subscribe again with a new one).
	State string `json:"state"`
	// Problem is the last failure of a renewal or unsubscribe, if any.
	Problem string `json:"problem,omitempty"`
	// Groups are the subscriptions of the joined groups' swarms, one
	// each, made with the same target (grouppush.go).
	Groups []GroupPushStatus `json:"groups,omitempty"`
}

// pushState is a subscription as this device keeps it.
type pushState struct {
	Server       hexKey           `json:"server"`
	SubID        hexKey           `json:"sub_id"`
	NotifySecret hexKey           `json:"notify_secret"`
	EncKey       hexKey           `json:"enc_key"`
	MgmtSeed     hexKey           `json:"mgmt_seed"`
	Namespaces   []int32          `json:"namespaces"`
	Target       PushTarget       `json:"target"`
	Created      int64            `json:"created_ms"`
	Expiry       int64            `json:"expiry_ms"`
	LastTS       int64            `json:"last_ts_ms"`
	RecordHash   string           `json:"record_hash,omitempty"`
	Cancel       bool             `json:"cancel,omitempty"`
	Gone         bool             `json:"gone,omitempty"`
	Problem      string           `json:"problem,omitempty"`
	Old          []pushOldRecords `json:"old,omitempty"`
}

// pushOldRecords are record hashes left to delete from the own swarm.
type pushOldRecords struct {
	Hash string `json:"hash"`
	// Signer is the key that signed a group swarm's record: a member
	// deletes only those of the key it signs with (docs/groups.md §12).
	Signer *hexKey `json:"signer,omitempty"`
}

type hexKey [32]byte

func (k hexKey) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k[:])), nil }
func (k *hexKey) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	if err != nil || len(d) != 32 {
		return errors.New("want 64 hex digits")
	}
	copy(k[:], d)
	return nil
}

func (s *pushState) mgmt() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(s.MgmtSeed[:]) }

func (s *pushState) expiry() time.Time { return time.UnixMilli(s.Expiry) }

func (s *pushState) renewAt() time.Time {
	life := s.Expiry - s.Created
	return time.UnixMilli(s.Created + life*pushRenewNum/pushRenewDen)
}

// pushTransport is a transport that reaches a steward server as an onion
// destination: paths.Manager.
type pushTransport interface {
	DoServer(ctx context.Context, target onion.ServerTarget, serverKey snapshot.X25519Key, body []byte) (int, []byte, error)
}

// pushServer returns the push service and a transport to it.
func (c *Client) pushServer() (*netfile.Service, pushTransport, error) {
	tr, ok := c.tr.(pushTransport)
	if !ok || c.pushSvc == nil || c.pushSvc.X25519 == nil {
		return nil, nil, ErrNoPushServer
	}
	return c.pushSvc, tr, nil
}

// pushCall sends req to the push server and returns its answer; a
// refusal is a *push.Error.
func (c *Client) pushCall(ctx context.Context, server [32]byte, req *push.Request) (*push.Answer, error) {
	svc, tr, err := c.pushServer()
	if err != nil {
		return nil, err
	}
	if *svc.X25519 != snapshot.X25519Key(server) {
		return nil, errServerMoved
	}
	_, body, err := tr.DoServer(ctx, svc.OnionTarget(push.Target), *svc.X25519, req.Marshal())
	if err != nil {
		return nil, fmt.Errorf("push server: %w", err)
	}
	a, err := push.ParseAnswer(body)
	if err != nil {
		return nil, err
	}
	return a, a.Err()
}

// pushTS returns a timestamp for a management request: the network's
// time in milliseconds, after every one this subscription used (the
// server refuses one not newer than the last).
func (c *Client) pushTS(s *pushState) time.Time {
	ms := max(c.now().UnixMilli(), s.LastTS+1)
	s.LastTS = ms
	return time.UnixMilli(ms)
}

func (c *Client) loadPush() (*pushState, error) {
	b, err := c.db.Setting(pushSetting)
	if errors.Is(err, clientdb.ErrNotFound) || err == nil && len(b) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s pushState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("push subscription state: %w", err)
	}
	return &s, nil
}

func (c *Client) savePush(s *pushState) error {
	if s == nil {
		return c.db.SetSetting(pushSetting, nil)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return c.db.SetSetting(pushSetting, b)
}

// requestTarget fills req's provider fields from t, normalised and
// checked. It returns ErrBadPushTarget.
func requestTarget(t PushTarget, req *push.Request) error {
	n := 0
	if t.WebPush != nil {
		n++
	}
	if t.APNs != "" {
		n++
	}
	if t.FCM != "" {
		n++
	}
	if n != 1 {
		return fmt.Errorf("%w: give exactly one of a Web Push subscription, an APNs token or an FCM token", ErrBadPushTarget)
	}
	switch {
	case t.WebPush != nil:
		wp := &push.WebPushTarget{Endpoint: t.WebPush.Endpoint, P256dh: rawURL(t.WebPush.P256dh), Auth: rawURL(t.WebPush.Auth)}
		if err := wp.Check(); err != nil {
			return fmt.Errorf("%w: web push: %w", ErrBadPushTarget, err)
		}
		req.Provider, req.WebPush = push.ProviderWebPush, wp
	case t.APNs != "":
		tok := strings.ToLower(strings.TrimSpace(t.APNs))
		if err := push.CheckAPNsToken(tok); err != nil {
			return fmt.Errorf("%w: apns: %w", ErrBadPushTarget, err)
		}
		req.Provider, req.APNs = push.ProviderAPNs, tok
	default:
		tok := strings.TrimSpace(t.FCM)
		if err := push.CheckFCMToken(tok); err != nil {
			return fmt.Errorf("%w: fcm: %w", ErrBadPushTarget, err)
		}
		req.Provider, req.FCM = push.ProviderFCM, tok
	}
	return nil
}

// rawURL turns base64 in any common spelling (padded, standard alphabet)
// into the unpadded base64url the push protocol uses.
func rawURL(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	return strings.NewReplacer("+", "-", "/", "_").Replace(s)
}

// SubscribePush subscribes this device to pushes at target through the
// network file's push server, stores the subscription's record in the
// own swarm and makes push this device's notification mode. A previous
// subscription is replaced (a subscription is never reused): cancelled
// and its record deleted once the new one is in place. It
// returns [ErrBadPushTarget], [ErrNoPushServer], or the push server's
// refusal as a *push.Error.
//
// Each joined group gets a subscription of its own too (grouppush.go); a
// group that cannot be subscribed now is retried by the background
// duties and shown in the status, without failing the call.
func (c *Client) SubscribePush(ctx context.Context, target PushTarget) error {
	err := func() error {
		c.pushMu.Lock()
		defer c.pushMu.Unlock()
		if err := c.subscribe(ctx, target); err != nil {
			return err
		}
		if err := c.db.SetSetting(notificationSetting, []byte(NotifyPush)); err != nil {
			return err
		}
		c.noteModeChange() // run.go
		return nil
	}()
	if err != nil {
		return err
	}
	if err := c.groupPushDuties(ctx, groupPushAll, true); err != nil {
		c.log.Debug("group push subscriptions", "err", err)
	}
	return nil
}

// subscribe is SubscribePush without the mode, under pushMu.
func (c *Client) subscribe(ctx context.Context, target PushTarget) error {
	var req push.Request
	if err := requestTarget(target, &req); err != nil {
		return err
	}
	svc, _, err := c.pushServer()
	if err != nil {
		return err
	}
	old, err := c.loadPush()
	if err != nil {
		return err
	}
	s := &pushState{Server: hexKey(*svc.X25519), Namespaces: slices.Clone(pushNamespaces), Target: target}
	for _, k := range []*hexKey{&s.SubID, &s.NotifySecret, &s.EncKey, &s.MgmtSeed} {
		rand.Read(k[:])
	}
	if target.WebPush != nil {
		s.Target.WebPush = &WebPushTarget{Endpoint: req.WebPush.Endpoint, P256dh: req.WebPush.P256dh, Auth: req.WebPush.Auth}
	}
	s.Target.APNs, s.Target.FCM = req.APNs, req.FCM
	req.Op, req.SubID, req.SecretHash = push.OpRegister, s.SubID, push.SecretHash(s.NotifySecret)
	req.TS = c.pushTS(s)
	req.Expiry = req.TS.Add(push.MaxLifetime)
	push.SignRequest(&req, s.mgmt())
	if _, err := c.pushCall(ctx, s.Server, &req); err != nil {
		return fmt.Errorf("registering at the push server: %w", err)
	}
	s.Created, s.Expiry = req.TS.UnixMilli(), req.Expiry.UnixMilli()
	if err := c.storePushRecord(ctx, s); err != nil {
		// Without its record no node notifies: take the registration
		// back. The record may have reached a member that was too slow to
		// confirm it and replicates it now, and the unsubscribe may fail
		// too: then the registration lives on at the server with a record
		// in the swarm, and every message would push twice once the user
		// subscribes again. So it is kept as an orphan for the duties to
		// cancel (finishOrphans) until both are gone.
		s.Cancel = true
		if uerr := c.unsubscribe(ctx, s); uerr != nil {
			c.log.Debug("unsubscribing after a failed record store", "err", uerr)
		} else {
			s.Gone = true // nothing left at the server
		}
		if oerr := c.addOrphan(s); oerr != nil {
			return errors.Join(fmt.Errorf("storing the push record in the own swarm: %w", err), oerr)
		}
		return fmt.Errorf("storing the push record in the own swarm: %w", err)
	}
	// The previous subscription goes only now, so that a failure above
	// leaves the device with the one it had. Its unsubscribe is best
	// effort (it expires by itself at the server); its records are
	// deleted like superseded ones, since each counts against the
	// per-account cap until it expires.
	if old != nil {
		if !old.Gone && c.now().Before(old.expiry()) {
			if err := c.unsubscribe(ctx, old); err != nil {
				c.log.Debug("cancelling the previous push subscription", "err", err)
			}
		}
		for _, h := range old.recordHashes() {
			s.Old = append(s.Old, pushOldRecords{Hash: h})
		}
	}
	if err := c.savePush(s); err != nil {
		return err
	}
	if err := c.deleteOldRecords(ctx, s); err != nil {
		c.log.Debug("deleting the previous push records", "err", err)
	}
	return nil
}

// pushOrphansSetting holds subscriptions whose record store failed
// during a subscribe: each is cancelled at the server and its record
// deleted from the own swarm by the duties, then forgotten.
const pushOrphansSetting = "client/push-orphans"

// addOrphan adds s to the orphans, under pushMu.
func (c *Client) addOrphan(s *pushState) error {
	return c.db.UpdateSetting(pushOrphansSetting, func(b []byte) ([]byte, error) {
		var os []*pushState
		if len(b) > 0 {
			if err := json.Unmarshal(b, &os); err != nil {
				return nil, fmt.Errorf("push orphans: %w", err)
			}
		}
		return json.Marshal(append(os, s))
	})
}

// finishOrphans cancels what it can of the orphaned subscriptions and
// keeps the rest for the next run, under pushMu. An orphan past its
// expiry has lapsed at the server and in the swarm by itself.
func (c *Client) finishOrphans(ctx context.Context) error {
	b, err := c.db.Setting(pushOrphansSetting)
	if errors.Is(err, clientdb.ErrNotFound) || err == nil && len(b) == 0 {
		return nil
	} else if err != nil {
		return err
	}
	var os []*pushState
	if err := json.Unmarshal(b, &os); err != nil {
		return fmt.Errorf("push orphans: %w", err)
	}
	var left []*pushState
	var errs []error
	for _, o := range os {
		if !c.now().Before(o.expiry()) {
			continue
		}
		if !o.Gone {
			if err := c.unsubscribe(ctx, o); err != nil {
				errs = append(errs, fmt.Errorf("unsubscribing an orphaned subscription: %w", err))
				left = append(left, o)
				continue
			}
			o.Gone = true
		}
		if err := c.deleteOwn(ctx, o.recordHashes()); err != nil {
			errs = append(errs, fmt.Errorf("deleting an orphaned push record: %w", err))
			left = append(left, o)
		}
	}
	nb := []byte(nil)
	if len(left) > 0 {
		if nb, err = json.Marshal(left); err != nil {
			return err
		}
	}
	return errors.Join(append(errs, c.db.SetSetting(pushOrphansSetting, nb))...)
}

// storePushRecord signs s's record and stores it in the own swarm,
// keeping the previous record's hash in s.Old for deletion. A record
// whose store failed may still have reached a member: its hash goes to
// s.Old too, to be deleted.
func (c *Client) storePushRecord(ctx context.Context, s *pushState) error {
	r := &push.Record{Server: s.Server, SubID: s.SubID, NotifySecret: s.NotifySecret, EncKey: s.EncKey,
		Namespaces: slices.Clone(s.Namespaces), Expiry: s.expiry()}
	if err := push.SignRecord(r, c.acct); err != nil {
		return err
	}
	ttl := min(s.expiry().Sub(c.now()), rpc.MaxTTLPrivate)
	if ttl <= 0 {
		return fmt.Errorf("%w: expired", ErrNotSubscribed)
	}
	data := r.Marshal()
	h, err := c.store(ctx, c.acct.ID(), push.Namespace, ttl, data)
	if err != nil {
		s.Old = append(s.Old, pushOldRecords{Hash: rpc.MessageHash(c.acct.ID(), push.Namespace, data)})
		return err
	}
	if s.RecordHash != "" && s.RecordHash != h {
		s.Old = append(s.Old, pushOldRecords{Hash: s.RecordHash})
	}
	s.RecordHash = h
	return nil
}

// unsubscribe sends s's signed unsubscribe. A server that no longer knows
// the subscription (not_found, gone) counts as done, and so does one this
// client can no longer reach (the network file names another push server,
// or none): the subscription expires there by itself, and retrying could
// never succeed.
func (c *Client) unsubscribe(ctx context.Context, s *pushState) error {
	req := &push.Request{Op: push.OpUnsubscribe, SubID: s.SubID, TS: c.pushTS(s)}
	push.SignRequest(req, s.mgmt())
	_, err := c.pushCall(ctx, s.Server, req)
	var pe *push.Error
	if errors.As(err, &pe) && (pe.Code == push.CodeNotFound || pe.Code == push.CodeGone) || errors.Is(err, ErrNoPushServer) {
		return nil
	}
	return err
}

// finishCancel unsubscribes s and deletes its records, then forgets it.
// It keeps s (saved) on failure, for the duties to retry.
func (c *Client) finishCancel(ctx context.Context, s *pushState) error {
	var errs []error
	if !s.Gone && c.now().Before(s.expiry()) {
		if err := c.unsubscribe(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("unsubscribing: %w", err))
		}
	}
	if err := c.deleteOwn(ctx, s.recordHashes()); err != nil {
		errs = append(errs, fmt.Errorf("deleting the push record: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		s.Problem = err.Error()
		if serr := c.savePush(s); serr != nil {
			return serr
		}
		return err
	}
	return c.savePush(nil)
}

func (s *pushState) recordHashes() []string {
	var hs []string
	if s.RecordHash != "" {
		hs = append(hs, s.RecordHash)
	}
	for _, o := range s.Old {
		hs = append(hs, o.Hash)
	}
	return hs
}

// UnsubscribePush cancels this device's push subscription now: a signed
// unsubscribe at the push server and the record's deletion from the own
// swarm. When that fails the subscription stays marked for cancelling and
// the background duties retry. It does not change the notification mode
// ([Client.SetNotifications] does, and cancels a subscription too). The
// groups' subscriptions are cancelled with it.
func (c *Client) UnsubscribePush(ctx context.Context) error {
	err := func() error {
		c.pushMu.Lock()
		defer c.pushMu.Unlock()
		s, err := c.loadPush()
		if err != nil || s == nil {
			return err
		}
		s.Cancel = true
		if err := c.savePush(s); err != nil {
			return err
		}
		return c.finishCancel(ctx, s)
	}()
	return errors.Join(err, c.groupPushDuties(ctx, groupPushAll, true))
}

// pushDuties is push mode's share of the background duties: finish a
// cancel, renew a subscription at two thirds of its life, delete
// superseded records. Failures are kept in the state for the status and
// retried at the next run. The groups' subscriptions follow the
// account's (grouppush.go).
func (c *Client) pushDuties(ctx context.Context) error {
	err := c.accountPushDuties(ctx)
	return errors.Join(err, c.groupPushDuties(ctx, groupPushAll, false))
}

// accountPushDuties is pushDuties for the account's own subscription.
func (c *Client) accountPushDuties(ctx context.Context) error {
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	orphanErr := c.finishOrphans(ctx)
	s, err := c.loadPush()
	if err != nil || s == nil {
		return errors.Join(orphanErr, err)
	}
	if orphanErr != nil {
		c.log.Debug("orphaned push subscriptions", "err", orphanErr)
	}
	if s.Cancel {
		return c.finishCancel(ctx, s)
	}
	if s.Gone {
		return nil
	}
	now := c.now()
	if !now.Before(s.expiry()) {
		// Lapsed (the device was off for days): a new subscription with
		// the same target, as a renewal would have kept it.
		return c.resubscribe(ctx, s)
	}
	if err := c.deleteOldRecords(ctx, s); err != nil {
		c.log.Debug("deleting superseded push records", "err", err)
	}
	if now.Before(s.renewAt()) {
		return nil
	}
	return c.renew(ctx, s)
}

// renew extends s at the push server and stores a record with the new
// expiry.
func (c *Client) renew(ctx context.Context, s *pushState) error {
	req := &push.Request{Op: push.OpRenew, SubID: s.SubID, TS: c.pushTS(s)}
	req.Expiry = req.TS.Add(push.MaxLifetime)
	push.SignRequest(req, s.mgmt())
	_, err := c.pushCall(ctx, s.Server, req)
	var pe *push.Error
	switch {
	case errors.As(err, &pe) && pe.Code == push.CodeGone:
		s.Gone, s.Problem = true, "the provider said the push token no longer works; subscribe again with a new one"
		return c.savePush(s)
	case errors.As(err, &pe) && pe.Code == push.CodeNotFound, errors.Is(err, errServerMoved):
		// The server forgot it, or the network moved to another push
		// server: subscribe afresh.
		return c.resubscribe(ctx, s)
	case err != nil:
		s.Problem = "renewing: " + err.Error()
		if serr := c.savePush(s); serr != nil {
			return serr
		}
		return err
	}
	s.Created, s.Expiry, s.Problem = req.TS.UnixMilli(), req.Expiry.UnixMilli(), ""
	if err := c.storePushRecord(ctx, s); err != nil {
		s.Problem = "storing the renewed record: " + err.Error()
		if serr := c.savePush(s); serr != nil {
			return serr
		}
		return err
	}
	if err := c.savePush(s); err != nil {
		return err
	}
	return c.deleteOldRecords(ctx, s)
}

// deleteOldRecords deletes the records s superseded from the own swarm.
// Failing, they stay listed for the next duties (they expire anyway, but
// each counts against push.MaxRecordsPerAccount until then).
func (c *Client) deleteOldRecords(ctx context.Context, s *pushState) error {
	if len(s.Old) == 0 {
		return nil
	}
	var old []string
	for _, o := range s.Old {
		old = append(old, o.Hash)
	}
	if err := c.deleteOwn(ctx, old); err != nil {
		return err
	}
	s.Old = nil
	return c.savePush(s)
}

// errServerMoved: the network file names another push server than the
// subscription's.
var errServerMoved = fmt.Errorf("%w: the subscription's push server is no longer in the network file", ErrNoPushServer)

// resubscribe replaces s by a fresh subscription to the same target.
func (c *Client) resubscribe(ctx context.Context, s *pushState) error {
	// subscribe replaces s only once the new one is registered and
	// stored, so a failure here is retried at the next duties.
	return c.subscribe(ctx, s.Target)
}

// TestPush sends a push to this device through the push server, as a
// node would for a new message: the provider delivers a payload that
// [Client.OpenPush] opens with Test set.
func (c *Client) TestPush(ctx context.Context) error {
	c.pushMu.Lock()
	s, err := c.loadPush()
	c.pushMu.Unlock()
	if err != nil {
		return err
	}
	if s == nil || s.Cancel || s.Gone {
		return ErrNotSubscribed
	}
	// A test names no message: a random hash in namespace 4, which no
	// subscription covers, so the device can tell.
	var h [32]byte
	rand.Read(h[:])
	hash := base64.RawStdEncoding.EncodeToString(h[:])
	payload, err := push.SealPayload(s.EncKey, push.Inner{Namespace: push.Namespace, Hash: hash, Count: 1})
	if err != nil {
		return err
	}
	req := &push.Request{Op: push.OpNotify, SubID: s.SubID, NotifySecret: s.NotifySecret, Tag: push.Tag(s.EncKey, hash), Payload: payload}
	_, err = c.pushCall(ctx, s.Server, req)
	return err
}

// OpenPush opens a push payload this device received (the bytes the
// provider delivered) with its subscriptions' keys: the account's, then
// each group's, whose push it reports with [PushInner.Group] set. It
// returns [ErrNotSubscribed] or [ErrBadPush].
func (c *Client) OpenPush(payload []byte) (PushInner, error) {
	// Reads only: each setting is read whole, so no lock (a group
	// subscription's duties may hold theirs across network calls).
	s, err := c.loadPush()
	if err != nil {
		return PushInner{}, err
	}
	var in push.Inner
	if s != nil {
		in, err = push.OpenPayload(s.EncKey, payload)
	}
	if s == nil || err != nil {
		gin, haveGroups, gerr := c.openGroupPush(payload)
		switch {
		case gerr != nil:
			return PushInner{}, gerr
		case !gin.Group.IsZero():
			return gin, nil
		case s == nil && !haveGroups:
			return PushInner{}, ErrNotSubscribed
		case s == nil:
			err = errors.New("opens with no subscription's key")
		}
		return PushInner{}, fmt.Errorf("%w: %w", ErrBadPush, err)
	}
	if in.Namespace == push.Namespace {
		return PushInner{Namespace: in.Namespace, Count: in.Count, Test: true}, nil
	}
	return PushInner{Namespace: in.Namespace, Hash: in.Hash, Count: in.Count}, nil
}

// FetchPushed runs the background duties ([Client.Sync]) after a push
// and reports whether the message it named is among the new messages
// (false for a test push, or one already fetched).
func (c *Client) FetchPushed(ctx context.Context, in PushInner) ([]Message, bool, error) {
	got, err := c.Sync(ctx)
	found := false
	for _, m := range got {
		if slices.Contains(m.SwarmHashes, in.Hash) && in.Hash != "" {
			found = true
		}
	}
	return got, found, err
}

// pushStatus returns the subscription's status, nil for none.
func (c *Client) pushStatus() (*PushStatus, error) {
	s, err := c.loadPush()
	if err != nil || s == nil {
		return nil, err
	}
	st := &PushStatus{Server: hex.EncodeToString(s.Server[:]), SubID: hex.EncodeToString(s.SubID[:]),
		Expires: s.expiry().UTC(), RenewAt: s.renewAt().UTC(), State: "active", Problem: s.Problem}
	switch t := s.Target; {
	case t.WebPush != nil:
		st.Provider, st.Target = push.ProviderWebPush, t.WebPush.Endpoint
		if i := strings.Index(st.Target[len("https://"):], "/"); strings.HasPrefix(st.Target, "https://") && i >= 0 {
			st.Target = st.Target[:len("https://")+i]
		}
	case t.APNs != "":
		st.Provider, st.Target = push.ProviderAPNs, t.APNs[:min(8, len(t.APNs))]+"…"
	default:
		st.Provider, st.Target = push.ProviderFCM, t.FCM[:min(8, len(t.FCM))]+"…"
	}
	switch {
	case s.Cancel:
		st.State = "unsubscribing"
	case s.Gone:
		st.State = "gone"
	}
	st.Groups, err = c.groupPushStatus()
	return st, err
}

// receivePush is Receive in push mode: the device is woken by pushes, so
// the loop polls only as a safety net, and keeps the outbox's pace.
func (c *Client) receivePush(ctx context.Context, fn func([]Message) error) error {
	poll := func() error {
		got, err := c.Sync(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("poll failed", "err", err)
		}
		if fn != nil && len(got) > 0 {
			return fn(got)
		}
		return nil
	}
	if err := poll(); err != nil || ctx.Err() != nil {
		return err
	}
	net := time.NewTicker(c.pushSafetyNet)
	defer net.Stop()
	outbox := time.NewTicker(c.interval)
	defer outbox.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-net.C:
			if err := poll(); err != nil {
				return err
			}
		case <-c.groupJoined:
			// A group joined while this loop runs (on another device, or
			// in another command): its subscription now, not at the next
			// safety-net poll (grouppush.go).
			if err := c.groupPushDuties(ctx, groupPushAll, false); err != nil && ctx.Err() == nil {
				c.log.Debug("group push subscriptions", "err", err)
			}
		case <-outbox.C:
			if _, err := c.FlushOutbox(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("outbox", "err", err)
			}
		}
	}
}

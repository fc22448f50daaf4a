package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// Disappearing modes as the client names them.
const (
	DisappearOff       = "off"
	DisappearAfterSend = "after-send"
	DisappearAfterRead = "after-read"
)

// Timer is a conversation's disappearing-message setting and who set it.
type Timer struct {
	Mode  string        `json:"mode"`
	After time.Duration `json:"after_ns,omitempty"`
	// ChangedBy is the account that set it last (zero if never set) and
	// ChangedAt that change's signed time.
	ChangedBy identity.AccountID `json:"changed_by,omitzero"`
	ChangedAt time.Time          `json:"changed_at,omitzero"`
}

func toDB(mode string, after time.Duration) (clientdb.Disappearing, error) {
	switch mode {
	case DisappearOff:
		return clientdb.Disappearing{}, nil
	case DisappearAfterSend, DisappearAfterRead:
		if after < time.Second || after%time.Second != 0 || after > rpc.MaxTTLPublic {
			return clientdb.Disappearing{}, fmt.Errorf("%w: the timer must be whole seconds from 1s to %v", ErrBadTimer, rpc.MaxTTLPublic)
		}
		m := clientdb.DisappearAfterSend
		if mode == DisappearAfterRead {
			m = clientdb.DisappearAfterRead
		}
		return clientdb.Disappearing{Mode: m, After: after}, nil
	}
	return clientdb.Disappearing{}, fmt.Errorf("%w: mode %q (want off, after-send or after-read)", ErrBadTimer, mode)
}

func modeName(m clientdb.DisappearMode) string {
	switch m {
	case clientdb.DisappearAfterSend:
		return DisappearAfterSend
	case clientdb.DisappearAfterRead:
		return DisappearAfterRead
	}
	return DisappearOff
}

// fromWire reads an ExpirationSettings; nil means off.
func fromWire(x *envelope.ExpirationSettings) clientdb.Disappearing {
	secs := time.Duration(x.GetSeconds()) * time.Second
	switch {
	case secs <= 0:
	case x.GetMode() == envelope.ExpirationSettings_MODE_AFTER_SEND:
		return clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: secs}
	case x.GetMode() == envelope.ExpirationSettings_MODE_AFTER_READ:
		return clientdb.Disappearing{Mode: clientdb.DisappearAfterRead, After: secs}
	}
	return clientdb.Disappearing{}
}

func toWire(d clientdb.Disappearing) *envelope.ExpirationSettings {
	switch d.Mode {
	case clientdb.DisappearAfterSend:
		return &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_SEND, Seconds: uint32(d.After / time.Second)}
	case clientdb.DisappearAfterRead:
		return &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_READ, Seconds: uint32(d.After / time.Second)}
	}
	return &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_OFF}
}

// timerChange is the last change of a conversation's setting, kept as a
// sealed setting per peer: the setting itself is the conversation's
// column in clientdb, which the config sync reads.
type timerChange struct {
	By identity.AccountID `json:"by"`
	At time.Time          `json:"at"`
}

func timerSetting(peer identity.AccountID) string { return "disappear/changed/" + peer.String() }

func (c *Client) lastChange(peer identity.AccountID) timerChange {
	var tc timerChange
	if b, err := c.db.Setting(timerSetting(peer)); err == nil {
		json.Unmarshal(b, &tc)
	}
	return tc
}

// SetTimer sets the conversation with peer to mode ("off", "after-send",
// "after-read") with timer after, and tells peer with a signed
// ExpirationSettings naming the user as the one who changed it; later
// messages carry it too, so both sides agree. It returns [ErrBadTimer].
func (c *Client) SetTimer(ctx context.Context, peer identity.AccountID, mode string, after time.Duration) (Timer, error) {
	d, err := toDB(mode, after)
	if err != nil {
		return Timer{}, err
	}
	if _, err := peer.X25519(); err != nil {
		return Timer{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	self := c.acct.ID()
	err = func() error {
		c.lockTimer()
		defer c.timerMu.Unlock()
		if err := c.db.SetDisappearing(peer, d, c.clock()); err != nil {
			return err
		}
		return c.recordChange(peer, timerChange{By: self, At: c.now()})
	}()
	if err != nil {
		return Timer{}, err
	}
	if c.IsNoteToSelf(peer) { // notetoself.go: the config sync alone carries it
		return c.Timer(peer)
	}
	x := toWire(d)
	x.ChangedBy = self[:]
	if err := c.queueControl(peer, NamespaceInbox, InboxTTL, &envelope.Content{Body: &envelope.Content_ExpirationSettings{ExpirationSettings: x}}); err != nil {
		return Timer{}, err
	}
	c.FlushOutbox(ctx) // a failure leaves it queued for the next command
	return c.Timer(peer)
}

// lockTimer takes timerMu.
func (c *Client) lockTimer() {
	if c.timerTestHook != nil {
		c.timerTestHook("lock")
	}
	c.timerMu.Lock()
}

func (c *Client) recordChange(peer identity.AccountID, tc timerChange) error {
	b, _ := json.Marshal(tc)
	return c.db.SetSetting(timerSetting(peer), b)
}

// Timer returns the conversation's disappearing setting; off for a
// conversation that does not exist.
func (c *Client) Timer(peer identity.AccountID) (Timer, error) {
	cv, err := c.db.Conversation(peer)
	if errors.Is(err, clientdb.ErrNotFound) {
		return Timer{Mode: DisappearOff}, nil
	} else if err != nil {
		return Timer{}, err
	}
	tc := c.lastChange(peer)
	return Timer{Mode: modeName(cv.Disappearing.Mode), After: cv.Disappearing.After, ChangedBy: tc.By, ChangedAt: tc.At}, nil
}

// adoptTimer applies a setting sender stated at signed time at (in a
// timer change, or attached to a message) to the conversation with
// sender, unless a later change is known: messages can arrive out of
// order.
func (c *Client) adoptTimer(sender identity.AccountID, d clientdb.Disappearing, at time.Time) error {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	last := c.lastChange(sender)
	if !at.After(last.At) {
		return nil
	}
	cv, err := c.db.EnsureConversation(sender, c.clock())
	if err != nil {
		return err
	}
	if cv.Disappearing == d {
		return nil // no change, so no one to name as its author
	}
	if c.timerTestHook != nil {
		c.timerTestHook("adopt")
	}
	if err := c.db.SetDisappearing(sender, d, c.clock()); err != nil {
		return err
	}
	return c.recordChange(sender, timerChange{By: sender, At: at})
}

// applyTimerChange handles an ExpirationSettings body from sender, which
// must name sender as the one who changed it.
func (c *Client) applyTimerChange(sender identity.AccountID, x *envelope.ExpirationSettings, at time.Time) error {
	by, err := identity.AccountIDFromBytes(x.GetChangedBy())
	if err != nil || !by.Equal(sender) {
		return fmt.Errorf("%w: timer change on behalf of another account", ErrDropped)
	}
	return c.adoptTimer(sender, fromWire(x), at)
}

// pendingExpiries is the setting holding own-swarm hashes to shorten, with
// their new expiry (unix ms), until a member accepted it.
const pendingExpiries = "client/pending-expiries"

func (c *Client) loadExpiries() (map[string]int64, error) {
	b, err := c.db.Setting(pendingExpiries)
	if errors.Is(err, clientdb.ErrNotFound) {
		return map[string]int64{}, nil
	} else if err != nil {
		return nil, err
	}
	return decodeExpiries(b)
}

func decodeExpiries(b []byte) (map[string]int64, error) {
	m := map[string]int64{}
	if b == nil {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: pending expiries: %w", clientdb.ErrCorrupt, err)
	}
	return m, nil
}

// updateExpiries changes the pending expiries in one transaction: reads
// (receipts), arrivals and the duties' retry change them at once.
func (c *Client) updateExpiries(fn func(map[string]int64)) error {
	return c.db.UpdateSetting(pendingExpiries, func(old []byte) ([]byte, error) {
		m, err := decodeExpiries(old)
		if err != nil {
			return nil, err
		}
		fn(m)
		if len(m) == 0 {
			return nil, nil
		}
		b, _ := json.Marshal(m)
		return b, nil
	})
}

func (c *Client) addPendingExpiries(hashes []string, at time.Time) error {
	if len(hashes) == 0 {
		return nil
	}
	return c.updateExpiries(func(m map[string]int64) {
		for _, h := range hashes {
			if cur, ok := m[h]; !ok || at.UnixMilli() < cur {
				m[h] = at.UnixMilli()
			}
		}
	})
}

// retryExpires shortens the pending hashes' expiry in the own swarm, on
// every member, as deleteOwn deletes. Hashes whose expiry has passed need
// no call: the node has dropped them, or the local deadline's deletion
// will.
func (c *Client) retryExpires(ctx context.Context) error {
	m, err := c.loadExpiries()
	if err != nil || len(m) == 0 {
		return err
	}
	byExpiry := map[int64][]string{}
	now := c.now().UnixMilli()
	for h, at := range m {
		if at > now {
			byExpiry[at] = append(byExpiry[at], h)
		}
	}
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return err
	}
	done := map[string]bool{}
	var lastErr error
	for at, hs := range byExpiry {
		slices.Sort(hs)
		for start := 0; start < len(hs); start += rpc.MaxHashes {
			chunk := hs[start:min(start+rpc.MaxHashes, len(hs))]
			ok := false
			for _, n := range members {
				_, err := c.signed(ctx, n, &rpc.Expire{Hashes: chunk, Expiry: time.UnixMilli(at), Mode: rpc.ExpireShorten})
				var ne *NodeError
				if err == nil || errors.As(err, &ne) && ne.Code == rpc.CodeReplayed {
					ok = true
				} else {
					lastErr = err
				}
			}
			if ok {
				for _, h := range chunk {
					done[h] = true
				}
			}
		}
	}
	// Keep entries added meanwhile, and the ones that failed.
	err = c.updateExpiries(func(cur map[string]int64) {
		for h, at := range cur {
			if done[h] || at <= now {
				delete(cur, h)
			}
		}
	})
	return errors.Join(err, lastErr)
}

// expireLocal deletes the messages whose deadline passed and queues
// their own-swarm copies for deletion: the local half of the background
// duties, run by commands that do not reach the network too.
func (c *Client) expireLocal() error {
	e, err := c.db.ExpireDue(c.clock())
	if err != nil {
		return err
	}
	c.emitUnsent(e.Gone...)
	return c.dropDeleted(e.Deleted)
}

// Flush runs the sending half of the background duties: the outbox,
// pending deletions and pending expiry changes. Commands call it after
// reading messages, so receipts and after-read timers reach the network.
func (c *Client) Flush(ctx context.Context) error {
	_, err := c.FlushOutbox(ctx)
	if err != nil && !errors.Is(err, ErrUnreachable) {
		return err
	}
	return errors.Join(err, c.retryDeletes(ctx), c.retryExpires(ctx))
}

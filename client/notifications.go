package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/hushnet/hush/internal/clientdb"
)

// NotificationMode is how an online client learns of new messages
// (DESIGN.md §7). It is a setting of this device, kept in the home and
// never synced: another device of the account may choose differently.
type NotificationMode string

const (
	// NotifySlow polls the own swarm through onion paths at an interval.
	NotifySlow NotificationMode = "slow"
	// NotifyFast holds a long-poll (a retrieve with a wait) through an
	// onion path on one swarm member at a time, with a slower poll as a
	// safety net: a message arrives within one onion round trip.
	NotifyFast NotificationMode = "fast"
	// NotifyPush lets the network file's push server wake the device
	// through its provider (Web Push, APNs, FCM), with a rare poll as a
	// safety net (push.go). It is chosen with [Client.SubscribePush].
	NotifyPush NotificationMode = "push"
)

// DefaultNotificationMode is the mode of a home that never chose one.
const DefaultNotificationMode = NotifyFast

// notificationSetting holds this device's NotificationMode (a string).
const notificationSetting = "client/notifications"

// NotificationStatus is the notification mode with what it exposes, in
// plain words for the user to read before choosing.
type NotificationStatus struct {
	Mode NotificationMode `json:"mode"`
	// Explanation says who learns what in this mode.
	Explanation string `json:"explanation"`
	// Push describes the push subscription, when there is one (in push
	// mode, or one being cancelled after leaving it).
	Push *PushStatus `json:"push,omitempty"`
}

// explanations say, for each mode, what each party learns (DESIGN.md §7,
// issue 15).
var explanations = map[NotificationMode]string{
	NotifySlow: "Slow: hush asks your swarm for new messages through onion paths every few seconds. " +
		"This exposes nothing new: your guard node sees your IP address and that you poll, " +
		"the nodes of your swarm see requests for your Account ID but not your IP address, " +
		"and no server sees both.",
	NotifyFast: "Fast: hush keeps one long-lived request open through an onion path to one node of your swarm, " +
		"which answers as soon as a message arrives. No server learns anything new: " +
		"your swarm's nodes still see your Account ID but not your IP address, and your guard node still sees " +
		"your IP address but not your Account ID. But the guard sees a long-lived request whose answer time " +
		"tells it when a message arrived, so anyone who can both message you and watch your guard can link " +
		"your IP address to your Account ID by timing. Polling (slow) leaks the same, with coarser timing.",
	NotifyPush: "Push: the push server wakes this device through its provider when a message arrives; " +
		"hush still polls now and then in case a push is lost. " +
		"The provider (Apple, Google or your distributor) sees your device's IP address, its push token " +
		"and when pushes come. The push server sees a random subscription ID, the token and the times of pushes: " +
		"no Account ID, no IP address, and not which swarm the subscription belongs to. " +
		"Your swarm's nodes learn the subscription ID. " +
		"What this does not prevent: anyone who can message you and watch pushes (the push server, the provider) " +
		"can link your Account ID to your token by timing, and the push server together with one node of your swarm " +
		"can link them directly.",
}

// NotificationModes returns every mode with what it exposes, in the
// order a user compares them (slowest first), for a choice made after
// reading them all.
func NotificationModes() []NotificationStatus {
	out := make([]NotificationStatus, 0, len(explanations))
	for _, m := range []NotificationMode{NotifySlow, NotifyFast, NotifyPush} {
		out = append(out, NotificationStatus{Mode: m, Explanation: explanations[m]})
	}
	return out
}

// ParseNotificationMode returns the mode named s, or
// [ErrBadNotificationMode].
func ParseNotificationMode(s string) (NotificationMode, error) {
	m := NotificationMode(s)
	if _, ok := explanations[m]; !ok {
		return "", fmt.Errorf("%w %q (want slow, fast or push)", ErrBadNotificationMode, s)
	}
	return m, nil
}

// SetNotifications makes mode this device's notification mode, kept in
// the home. [Client.Receive] reads it when it starts: a loop already
// running (here or in another process on the home) keeps its mode until
// it is started again. It returns [ErrBadNotificationMode] for an
// unknown mode, and for push without a subscription
// ([Client.SubscribePush] subscribes and chooses push).
//
// Leaving push marks the subscription for cancelling, which needs the
// network: [Client.UnsubscribePush] does it at once, and otherwise the
// background duties do it at their next run.
func (c *Client) SetNotifications(mode NotificationMode) error {
	if _, err := ParseNotificationMode(string(mode)); err != nil {
		return err
	}
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	s, err := c.loadPush()
	if err != nil {
		return err
	}
	if mode == NotifyPush && (s == nil || s.Cancel) {
		return fmt.Errorf("%w: push needs a subscription (hush notifications push)", ErrBadNotificationMode)
	}
	if mode != NotifyPush && s != nil && !s.Cancel {
		s.Cancel = true
		if err := c.savePush(s); err != nil {
			return err
		}
	}
	if err := c.db.SetSetting(notificationSetting, []byte(mode)); err != nil {
		return err
	}
	c.noteModeChange() // run.go
	return nil
}

// SwitchNotifications is SetNotifications followed, when it left push
// mode, by the subscription's cancelling ([Client.UnsubscribePush]). The
// mode is set even when the cancelling fails (it is then retried).
func (c *Client) SwitchNotifications(ctx context.Context, mode NotificationMode) error {
	if err := c.SetNotifications(mode); err != nil {
		return err
	}
	if mode == NotifyPush {
		return nil
	}
	return c.UnsubscribePush(ctx)
}

// Notifications returns this device's notification mode and what it
// exposes. (Fast mode needs a transport that can hold a request,
// [HoldTransport]; a client without one polls.)
func (c *Client) Notifications() (NotificationStatus, error) {
	mode, err := c.notificationMode()
	if err != nil {
		return NotificationStatus{}, err
	}
	st := NotificationStatus{Mode: mode, Explanation: explanations[mode]}
	st.Push, err = c.pushStatus()
	return st, err
}

func (c *Client) notificationMode() (NotificationMode, error) {
	b, err := c.db.Setting(notificationSetting)
	if errors.Is(err, clientdb.ErrNotFound) {
		return DefaultNotificationMode, nil
	}
	if err != nil {
		return "", err
	}
	mode, err := ParseNotificationMode(string(b))
	if err != nil {
		// Written by a later version that knows more modes: poll.
		return NotifySlow, nil
	}
	return mode, nil
}

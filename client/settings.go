package client

import "errors"

// NotificationContent is what a desktop notification of a new message
// shows (Session's setting). It is local to the device: never synced.
type NotificationContent string

// The notification contents.
const (
	// NotifyNameAndContent shows the sender's name and the text (the
	// default).
	NotifyNameAndContent NotificationContent = "name_and_content"
	// NotifyNameOnly shows the sender's name only.
	NotifyNameOnly NotificationContent = "name_only"
	// NotifyNothing shows that a message arrived, nothing more.
	NotifyNothing NotificationContent = "nothing"
)

// ErrBadNotificationContent: [Client.SetNotificationContent] was given a
// content it does not know.
var ErrBadNotificationContent = errors.New("unknown notification content")

// settingNotificationContent and settingCalls are local settings.
const (
	settingNotificationContent = "local/notification-content"
	settingCalls               = "local/calls"
)

// SetNotificationContent sets what desktop notifications show. It returns
// [ErrBadNotificationContent].
func (c *Client) SetNotificationContent(nc NotificationContent) error {
	switch nc {
	case NotifyNameAndContent, NotifyNameOnly, NotifyNothing:
	default:
		return ErrBadNotificationContent
	}
	return c.db.SetSetting(settingNotificationContent, []byte(nc))
}

// NotificationContent returns what desktop notifications show;
// [NotifyNameAndContent] unless set.
func (c *Client) NotificationContent() (NotificationContent, error) {
	b, err := c.db.Setting(settingNotificationContent)
	if errors.Is(err, ErrNotFound) {
		return NotifyNameAndContent, nil
	}
	if err != nil {
		return "", err
	}
	return NotificationContent(b), nil
}

// CallsWarning is what a user reads before turning calls on ([Client.SetCalls]).
const CallsWarning = "Calls reveal your IP address to someone. By default (relay-only) your call goes through a TURN relay server: the other party never learns your IP address, but the relay server does. In direct mode, the other party learns your IP address."

// SetCalls turns calls on or off; they are off until the user turns them
// on after reading [CallsWarning]. Local to the device. On is relay-only
// ([CallsRelay]); [Client.SetCallMode] also chooses direct calls.
func (c *Client) SetCalls(on bool) error {
	if on {
		return c.SetCallMode(CallsRelay)
	}
	return c.SetCallMode(CallsOff)
}

// Calls reports whether calls are on, relay-only or direct (off unless
// set).
func (c *Client) Calls() (bool, error) {
	m, err := c.CallMode()
	return m != CallsOff, err
}

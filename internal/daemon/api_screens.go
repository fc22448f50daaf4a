package daemon

import (
	"time"

	"github.com/hushnet/hush/client"
)

// What the web UI's settings, path, contacts, devices and storage screens
// need beyond the CLI's nouns lives here.

// timerBody is a disappearing setting in a request: a conversation's
// (PUT /conversations/{peer}/timer) or the default one new conversations
// start with (PATCH /settings, default_timer).
type timerBody struct {
	Mode  string        `json:"mode"`
	After time.Duration `json:"after_ns"`
}

// check refuses a bad setting before anything changes (nil: none given).
func (b *timerBody) check() error {
	if b == nil {
		return nil
	}
	return client.CheckTimer(b.Mode, b.After)
}

package daemon

import (
	"context"

	"github.com/hushnet/hush/client"
)

// runDuties runs the client's background duties (fast-mode receive, the
// outbox, prekey duties, timers, downloads, push renewal) until ctx ends.
func runDuties(ctx context.Context, c *client.Client) error { return c.Run(ctx) }

// runningDaemon reports a live daemon on h (its claim is the truth).
func runningDaemon(h *client.Home) (client.DaemonInfo, bool, error) {
	info, ok, err := h.RunningDaemon()
	if err == nil && ok {
		return info, ok, &client.DaemonRunningError{Info: info}
	}
	return info, ok, err
}

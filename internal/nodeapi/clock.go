package nodeapi

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/protocol/rpc"
)

// clockWatch warns when clients' signed timestamps keep disagreeing with
// this node's clock. One client with a bad clock is noise; most clients
// being off in the same direction means the node's clock is wrong, which
// would make it refuse every signed request.
type clockWatch struct {
	logger *slog.Logger

	mu sync.Mutex // guards the fields below
	// Counts of time checks since start, reset every clockWindow.
	start             time.Time
	ok, ahead, behind int
	lastWarn          time.Time
}

const (
	clockWindow  = time.Minute
	clockMinSkew = 10 // skewed requests in a window before judging
)

func newClockWatch(l *slog.Logger) *clockWatch { return &clockWatch{logger: l} }

// record counts one time check; it reads the wall clock itself only to
// pace its windows, never to judge requests.
func (c *clockWatch) record(err error) {
	var e *rpc.Error
	skew := errors.As(err, &e) && (e.Code == rpc.CodeClockSkew || e.Code == rpc.CodeBadTimestamp)
	if err != nil && !skew {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.start) > clockWindow {
		c.start, c.ok, c.ahead, c.behind = now, 0, 0, 0
	}
	switch {
	case !skew:
		c.ok++
	case strings.Contains(e.Message, "ahead of"):
		c.ahead++
	default:
		c.behind++
	}
	worst, dir := c.ahead, "behind" // clients ahead: node behind
	if c.behind > c.ahead {
		worst, dir = c.behind, "ahead"
	}
	if worst >= clockMinSkew && worst > 2*c.ok && now.Sub(c.lastWarn) > 10*time.Minute {
		c.lastWarn = now
		c.logger.Warn("most clients' timestamps disagree with this node's clock; the node clock looks "+dir+"; check NTP",
			"skewed", worst, "ok", c.ok)
	}
}

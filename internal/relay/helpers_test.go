package relay_test

import (
	"log/slog"
	"time"

	"github.com/hushnet/hush/internal/ratelimit"
)

var discard = slog.New(slog.DiscardHandler)

// unlimited is a rate no test reaches.
var unlimited = ratelimit.Rate{Burst: 1 << 30, PerSecond: 1 << 30}

type nopReplay struct{}

func (nopReplay) Seen([32]byte, time.Time) bool { return false }

package relay_test

import (
	"log/slog"
	"time"
)

var discard = slog.New(slog.DiscardHandler)

type nopReplay struct{}

func (nopReplay) Seen([32]byte, time.Time) bool { return false }

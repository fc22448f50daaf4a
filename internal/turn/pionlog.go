package turn

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/pion/logging"

	"github.com/hushnet/hush/internal/logfilter"
)

// usernameRE matches a TURN REST username (protocol/turn): pion quotes
// them, and one links a call's allocations.
var usernameRE = regexp.MustCompile(`\b\d{1,19}:[A-Za-z0-9_-]{22}\b`)

// sizeRE matches a datagram's size as pion quotes it ("Received 136
// bytes"): logs hold no message sizes.
var sizeRE = regexp.MustCompile(`\b\d+ bytes\b`)

// pionLogs routes pion's log lines into the server's logger. Its trace
// and debug lines (one per datagram, naming the peer and the size) are
// dropped unless private; info goes out at debug (pion's info is per
// allocation), warnings and errors at warn. Addresses, usernames and
// sizes are filtered out unless private.
type pionLogs struct {
	logger  *slog.Logger
	private bool
}

func newPionLogs(logger *slog.Logger, private bool) logging.LoggerFactory {
	return &pionLogs{logger: logger, private: private}
}

func (f *pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{f: f, l: f.logger.With("pion", scope)}
}

type pionLogger struct {
	f *pionLogs
	l *slog.Logger
}

func (p *pionLogger) log(level slog.Level, msg string) {
	if !p.l.Enabled(context.Background(), level) {
		return
	}
	if !p.f.private {
		msg = sizeRE.ReplaceAllString(usernameRE.ReplaceAllString(logfilter.Redact(msg), "[username]"), "[size]")
	}
	p.l.Log(context.Background(), level, msg)
}

// perPacket logs pion's per-datagram lines (trace and debug), in
// private mode only.
func (p *pionLogger) perPacket(msg func() string) {
	if p.f.private {
		p.log(slog.LevelDebug, msg())
	}
}

func (p *pionLogger) Trace(msg string) { p.perPacket(func() string { return msg }) }
func (p *pionLogger) Tracef(format string, args ...any) {
	p.perPacket(func() string { return fmt.Sprintf(format, args...) })
}
func (p *pionLogger) Debug(msg string) { p.perPacket(func() string { return msg }) }
func (p *pionLogger) Debugf(format string, args ...any) {
	p.perPacket(func() string { return fmt.Sprintf(format, args...) })
}
func (p *pionLogger) Info(msg string) { p.log(slog.LevelDebug, msg) }
func (p *pionLogger) Infof(format string, args ...any) {
	p.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (p *pionLogger) Warn(msg string) { p.log(slog.LevelWarn, msg) }
func (p *pionLogger) Warnf(format string, args ...any) {
	p.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (p *pionLogger) Error(msg string) { p.log(slog.LevelWarn, msg) }
func (p *pionLogger) Errorf(format string, args ...any) {
	p.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}

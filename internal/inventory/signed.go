package inventory

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/protocol/transparency"
)

// Requests is the steward's statement, from its requests file:
//
//	period_start = "2026-10-01"
//	period_end = "2026-12-31"
//	text = """
//	No requests for user data were received in this period.
//	"""
//
// The server signs it as it is; the steward edits the file and the next
// report (within a minute) carries the change.
type Requests struct {
	PeriodStart string `toml:"period_start"`
	PeriodEnd   string `toml:"period_end"`
	Text        string `toml:"text"`
}

// LoadRequests reads the requests file at path. An empty path or a
// missing file is no statement; a file that does not parse, or whose
// period or text the report format refuses, is an error.
func LoadRequests(path string) (Requests, error) {
	var r Requests
	if path == "" {
		return r, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err := config.Load(path, &r); err != nil {
		return Requests{}, err
	}
	if err := r.check(); err != nil {
		return Requests{}, fmt.Errorf("requests file %s: %w", path, err)
	}
	return r, nil
}

func (r Requests) check() error {
	s := transparency.Statement{Period: transparency.Period{Start: r.PeriodStart, End: r.PeriodEnd}, Requests: r.Text}
	if err := s.Period.Validate(); err != nil {
		return err
	}
	if len(r.Text) > transparency.MaxRequests {
		return fmt.Errorf("text longer than %d bytes", transparency.MaxRequests)
	}
	return nil
}

// Signer makes a steward server's signed report.
type Signer struct {
	NetworkID    string
	Server       string // "registry", "push", "files", "turn"
	Key          ed25519.PrivateKey
	RequestsFile string
	// Report reads the live state.
	Report func(ctx context.Context) (*transparency.Report, error)
	Clock  func() time.Time

	mu     sync.Mutex // guards the fields below
	cached []byte
	at     time.Time
}

// cacheFor is how long a signed report is served before it is rebuilt:
// building reads every table, and the report is public, so anyone could
// otherwise make the server count its database in a loop.
const cacheFor = time.Minute

// Signed returns the current signed report.
func (s *Signer) Signed(ctx context.Context) ([]byte, error) {
	now := s.Clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && now.Sub(s.at) < cacheFor && !now.Before(s.at) {
		return s.cached, nil
	}
	b, err := s.sign(ctx, now)
	if err != nil {
		return nil, err
	}
	s.cached, s.at = b, now
	return b, nil
}

func (s *Signer) sign(ctx context.Context, now time.Time) ([]byte, error) {
	rep, err := s.Report(ctx)
	if err != nil {
		return nil, err
	}
	req, err := LoadRequests(s.RequestsFile)
	if err != nil {
		return nil, err
	}
	st := &transparency.Statement{
		Format: transparency.Format, NetworkID: s.NetworkID, Server: s.Server, Key: identity.Ed25519PublicKeyOf(s.Key),
		Issued: now.UnixMilli(), Period: transparency.Period{Start: req.PeriodStart, End: req.PeriodEnd},
		Requests: req.Text, Report: *rep,
	}
	return transparency.Sign(st, s.Key)
}

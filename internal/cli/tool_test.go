package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// TestFetchUntilFound: the receiver's --open fetches again after a fetch
// that failed (a path that timed out on a busy devnet ended the open with
// that error, and webpush.txt waited in vain for "The message it names
// arrived"), and a fetch that found the message counts even when the
// other duties it ran failed.
func TestFetchUntilFound(t *testing.T) {
	errPath := errors.New("path timed out")
	msg := func(text string) client.Message { return client.Message{Text: text} }
	type step struct {
		got   []client.Message
		found bool
		err   error
	}
	tests := []struct {
		name      string
		wait      time.Duration
		steps     []step
		wantCalls int
		wantFound bool
		wantErr   error
		wantMsgs  int
	}{
		{"failed, then found", time.Minute, []step{{err: errPath}, {got: []client.Message{msg("a")}, found: true}}, 2, true, nil, 1},
		{"found with a duties error", time.Minute, []step{{got: []client.Message{msg("a")}, found: true, err: errPath}}, 1, true, nil, 1},
		{"not yet, then found", time.Minute, []step{{got: []client.Message{msg("a")}}, {got: []client.Message{msg("b")}, found: true}}, 2, true, nil, 2},
		{"once without wait", 0, []step{{err: errPath}, {found: true}}, 1, false, errPath, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, found, err := fetchUntilFound(context.Background(), tt.wait, func(context.Context) ([]client.Message, bool, error) {
				s := tt.steps[calls]
				calls++
				return s.got, s.found, s.err
			})
			if calls != tt.wantCalls || found != tt.wantFound || !errors.Is(err, tt.wantErr) || len(got) != tt.wantMsgs {
				t.Fatalf("%d calls, found %v, err %v, %d messages; want %d, %v, %v, %d", calls, found, err, len(got), tt.wantCalls, tt.wantFound, tt.wantErr, tt.wantMsgs)
			}
		})
	}
}

// TestFetchReports: a transparency report lost on its way is asked for
// again, the ones that came are kept, and a server with no report to give
// is not asked again.
func TestFetchReports(t *testing.T) {
	errPath := errors.New("path failed")
	rounds := [][]client.StewardReport{
		{{Server: "registry", Err: errPath}, {Server: "push", Address: "first"}, {Server: "turn", Err: client.ErrNoReport}},
		{{Server: "registry", Err: errPath}, {Server: "push", Err: errPath}, {Server: "turn", Err: client.ErrNoReport}},
		{{Server: "registry", Address: "third"}, {Server: "push", Err: errPath}, {Server: "turn", Err: client.ErrNoReport}},
	}
	calls := 0
	reps, err := fetchReports(context.Background(), func(context.Context) ([]client.StewardReport, error) {
		calls++
		return rounds[calls-1], nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("%d fetches, err %v; want 3, nil", calls, err)
	}
	if reps[0].Err != nil || reps[0].Address != "third" || reps[1].Err != nil || reps[1].Address != "first" || !errors.Is(reps[2].Err, client.ErrNoReport) {
		t.Fatalf("reports %+v", reps)
	}

	calls = 0
	fetchReports(context.Background(), func(context.Context) ([]client.StewardReport, error) {
		calls++
		return []client.StewardReport{{Server: "turn", Err: client.ErrNoReport}}, nil
	})
	if calls != 1 {
		t.Fatalf("%d fetches with no report to give, want 1", calls)
	}
}

// TestWriteFileAtomic: the file is replaced whole, readable by its owner
// only, and no temporary file is left beside it.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, callFile)
	for _, want := range []string{`{"pid":1}`, `{"pid":1,"id":"x"}`} {
		if err := writeFileAtomic(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != want {
			t.Fatalf("read %q, %v; want %q", b, err, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v", fi.Mode(), err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Fatalf("%d files in the folder, want 1", len(es))
	}
}

package cli

import (
	"context"
	"errors"
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

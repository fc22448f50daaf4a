package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hushnet/hush/client"
)

func TestTransferView(t *testing.T) {
	events := []client.Transfer{
		{Index: 0, Up: true, Done: 100, Total: 1000},
		{Index: 0, Up: true, Done: 1200, Total: 1200},
		{MessageID: 7, Index: 1, Done: 10, Total: 50, Err: errors.New("attachment expired")},
	}
	t.Run("not a terminal, no --json: nothing", func(t *testing.T) {
		if v := newTransferView(&bytes.Buffer{}, false, false); v != nil {
			t.Fatal("a view where nothing is to be shown")
		}
	})
	t.Run("--json: one object per event", func(t *testing.T) {
		var buf bytes.Buffer
		v := newTransferView(&buf, true, true)
		for _, e := range events {
			v.show(e)
		}
		v.finish()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(events) {
			t.Fatalf("%d lines: %q", len(lines), buf.String())
		}
		var last struct {
			Event   string `json:"event"`
			ID      int64  `json:"local_id"`
			Up      bool   `json:"up"`
			Done    int64  `json:"done"`
			Total   int64  `json:"total"`
			Message string `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[2]), &last); err != nil {
			t.Fatal(err)
		}
		if last.Event != "transfer" || last.ID != 7 || last.Up || last.Done != 10 || last.Total != 50 || last.Message != "attachment expired" {
			t.Fatalf("last event %+v", last)
		}
	})
	t.Run("terminal: bars", func(t *testing.T) {
		var buf bytes.Buffer
		v := newTransferView(&buf, false, true)
		v.names[0] = "photo.jpg"
		for _, e := range events {
			v.show(e)
		}
		v.finish()
		out := buf.String()
		if !strings.Contains(out, "upload photo.jpg") || !strings.Contains(out, `download "file 2"`) || !strings.Contains(out, "attachment expired") {
			t.Fatalf("bars: %q", out)
		}
	})
}

func TestAttachmentLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   client.Attachment
		want string
	}{
		{"ready photo", client.Attachment{Index: 0, FileName: "cat.jpg", Size: 123456, State: client.MediaReady, HasThumbnail: true},
			"    + cat.jpg, 123.5 kB, ready, thumbnail [media 9/0]"},
		{"expired", client.Attachment{Index: 1, FileName: "a b.pdf", Size: 12, State: client.MediaExpired},
			`    + "a b.pdf", 12 bytes, attachment expired, no thumbnail [media 9/1]`},
		{"cleared", client.Attachment{Index: 2, FileName: "x", Size: 2_000_000, State: client.MediaCleared},
			"    + x, 2.0 MB, media cleared, no thumbnail [media 9/2]"},
		{"control characters", client.Attachment{Index: 3, FileName: "evil\x1b[2J.txt", State: client.MediaPending},
			`    + "evil\x1b[2J.txt", 0 bytes, not downloaded, no thumbnail [media 9/3]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attachmentLine(9, tc.at); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

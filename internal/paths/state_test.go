package paths

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

func TestFlushPersistsLastOK(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "paths.json")
	now := time.Unix(1_800_000_000, 0)
	m := &Manager{opts: Options{StateFile: file, Clock: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)},
		fails: map[identity.Ed25519PublicKey]int{}}
	p := &path{nodes: []snapshot.Node{{Address: "127.0.0.1:1"}, {Address: "127.0.0.1:2"}, {Address: "127.0.0.1:3"}}}
	m.paths = []*path{p}
	m.save() // as after building paths: savedAt = now
	m.succeeded(p)
	if ps, _ := ReadPaths(file); len(ps) != 1 || ps[0].LastOK != nil {
		t.Fatalf("a success within 30 s of the last save was written at once: %+v", ps)
	}
	m.Flush()
	ps, err := ReadPaths(file)
	if err != nil || len(ps) != 1 || ps[0].LastOK == nil || !ps[0].LastOK.Equal(now) {
		t.Fatalf("after Flush: %+v, %v", ps, err)
	}
}

// TestBadNodesSaved: nodes the client marks bad reach the state file, so
// `hush path --json` in another process lists them, newest first, one
// entry per node.
func TestBadNodesSaved(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paths.json")
	now := time.Unix(1_800_000_000, 0).UTC()
	m, err := New(Options{StateFile: file, Clock: func() time.Time { return now }, Snapshot: func() *snapshot.Snapshot { return nil }, Transport: &infoPoster{}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := identity.Ed25519PublicKeyFromRaw32([32]byte{1}), identity.Ed25519PublicKeyFromRaw32([32]byte{2})
	m.MarkBad(a, "garbled data", now)
	m.MarkBad(b, "clock far off", now.Add(time.Second))
	m.MarkBad(a, "endless paging", now.Add(2*time.Second))
	r, err := ReadReport(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.BadNodes) != 2 || r.BadNodes[0].Ed25519 != a || r.BadNodes[0].Reason != "endless paging" || r.BadNodes[1].Ed25519 != b {
		t.Fatalf("saved %+v", r.BadNodes)
	}
	var out strings.Builder
	if err := WriteJSON(&out, r.Paths, r.BadNodes...); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"bad_nodes"`) || !strings.Contains(out.String(), a.String()) {
		t.Fatalf("JSON: %s", out.String())
	}
}

package paths

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/snapshot"
)

func TestFlushPersistsLastOK(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "paths.json")
	now := time.Unix(1_800_000_000, 0)
	m := &Manager{opts: Options{StateFile: file, Clock: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)},
		fails: map[snapshot.Ed25519Key]int{}}
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

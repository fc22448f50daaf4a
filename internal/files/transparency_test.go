package files

import (
	"bytes"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/transparency"
)

// TestTransparencyAndPrivacy fills a server through its real flow
// (uploads, downloads, an extend, a delete, an expired sweep), with debug
// logs on, then checks that the transparency report names every table and
// every file the data directory holds, and that neither the data nor the
// logs hold a client address, a blob ID or a size.
func TestTransparencyAndPrivacy(t *testing.T) {
	h := start(t, nil)
	var ids []string
	for i, n := range []int{100, 12_345, 54_321} {
		up := h.upload(t, bytes.Repeat([]byte{byte('a' + i)}, n), time.Duration(i+1)*time.Hour)
		ids = append(ids, up.ID)
		h.call(t, wire.Request{Op: wire.OpDownload, ID: up.ID, Length: 1000})
		if i == 1 {
			h.call(t, wire.Request{Op: wire.OpExtend, ID: up.ID, Token: up.Token, TTL: 24 * time.Hour})
		}
		if i == 2 {
			h.call(t, wire.Request{Op: wire.OpDelete, ID: up.ID, Token: up.Token})
		}
	}
	h.call(t, wire.Request{Op: wire.OpInfo, ID: wire.EncodeID(make([]byte, 32))})
	h.clock.Add(90 * time.Minute)
	h.s.Store().Sweep(t.Context(), h.clock.Now())

	cfg := config.DefaultFiles()
	cfg.LogLevel = "debug"
	rep, err := Transparency(t.Context(), h.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	js, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transparency.ParseReport(js); err != nil {
		t.Fatal(err)
	}
	byName := map[string]transparency.Record{}
	var files int64
	for _, k := range rep.Records {
		byName[k.Name] = k
		if k.Description == inventory.Undocumented || k.Retention == inventory.Undocumented {
			t.Errorf("undocumented: %+v", k)
		}
		if k.Kind == transparency.KindFiles {
			files += k.Count
		}
	}
	if k := byName["blobs"]; k.Kind != "table" || k.Count != 1 || strings.Join(k.Fields, ",") != "id,size,expires_ms,token_hash" {
		t.Fatalf("table blobs: %+v", k)
	}
	if k := byName[BlobDir+"/ab/cd/<blob id in hex>"]; k.Count != 1 || k.Bytes != 12_345 {
		t.Fatalf("blob files: %+v", k)
	}
	if k, ok := byName["other"]; ok {
		t.Fatalf("files of no known kind: %+v", k)
	}
	if k := byName[KeyFile]; k.Count != 1 {
		t.Fatalf("key file: %+v", k)
	}
	// Complete: every file of the directory is counted, every table listed.
	var onDisk int64
	filepath.WalkDir(h.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk++
		}
		return err
	})
	if files != onDisk {
		t.Errorf("the report counts %d files, the directory holds %d", files, onDisk)
	}
	rows, err := h.s.Store().db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		if k, ok := byName[n]; !ok || k.Kind != transparency.KindTable {
			t.Errorf("table %s is not in the report", n)
		}
	}
	rows.Close()
	if text := rep.Text(); !strings.Contains(text, "table blobs: 1\n") || !strings.Contains(text, "logs at level debug") {
		t.Fatalf("report:\n%s", text)
	}

	// Nothing names a client, a blob or a size.
	logs := h.logs.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatal("no debug logs were written")
	}
	secrets := []string{"127.0.0.2", "12345", "54321", "12_345"}
	for _, id := range ids {
		raw, _ := decodeID(id)
		secrets = append(secrets, id, hex.EncodeToString(raw))
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	// The relay connects from 127.0.0.1, the server's own address too; no
	// file of the data directory holds an address.
	filepath.Walk(h.dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{"127.0.0.1", ids[0], ids[1]} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
}

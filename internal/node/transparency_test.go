package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/transparency"
)

// lockedBuffer is a log sink the node's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTransparencyComplete fills a node through the storage RPC (stores
// for two accounts, a delete, retrieves) with debug logs through the
// production filter, then checks that the export lists every table of
// the database with its real row count and every file of the data
// directory, that each kind is described, and that the logs hold no
// Account ID and no client address (the client connects from 127.0.0.1;
// the node listens on 127.0.0.3).
func TestTransparencyComplete(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Listen = "127.0.0.3:0"
	cfg.LogLevel = "debug"
	var logs lockedBuffer
	h := logfilter.Handler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}), "listen", "advertise")
	n, err := New(cfg, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-n.Ready()
	c, err := nodeclient.New("https://"+n.Addr().String(), n.Identity().Ed25519Public())
	if err != nil {
		t.Fatal(err)
	}
	accts := []*identity.Account{identity.NewAccount(), identity.NewAccount()}
	var hashes []string
	for i, a := range accts {
		for j := range 2 + i {
			data := base64.StdEncoding.EncodeToString([]byte{byte(i), byte(j), 'x'})
			body, err := c.Signed(ctx, a, rpc.MethodStore, json.RawMessage(`{"namespace":0,"ttl":60000,"data":"`+data+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Hash string `json:"hash"`
			}
			json.Unmarshal(body, &res)
			hashes = append(hashes, res.Hash)
		}
		if _, err := c.Signed(ctx, a, rpc.MethodRetrieve, json.RawMessage(`{"namespace":0}`)); err != nil {
			t.Fatal(err)
		}
	}
	d := &rpc.Delete{Hashes: hashes[:1]}
	if _, err := c.Signed(ctx, accts[0], rpc.MethodDelete, d.Params()); err != nil {
		t.Fatal(err)
	}

	rep, err := Transparency(ctx, cfg.Data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rep.Marshal(); err != nil {
		t.Fatal(err)
	}
	got := map[string]transparency.Record{}
	var files int64
	for _, k := range rep.Records {
		got[k.Kind+" "+k.Name] = k
		if k.Description == inventory.Undocumented || k.Name == inventory.OtherName {
			t.Errorf("not described: %+v", k)
		}
		if k.Kind == transparency.KindFiles {
			files += k.Count
		}
	}
	// Every table, with the count the database itself gives.
	db, err := inventory.OpenReadOnly(filepath.Join(cfg.Data, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 4 {
		t.Fatalf("tables %v", tables)
	}
	for _, name := range tables {
		var count int64
		db.QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&count)
		k, ok := got["table "+name]
		if !ok || k.Count != count {
			t.Errorf("table %s: %d rows, report %+v", name, count, k)
		}
	}
	if got["table messages"].Count != 4 || got["table tombstones"].Count != 1 {
		t.Errorf("messages %+v tombstones %+v", got["table messages"], got["table tombstones"])
	}
	// Every file.
	var onDisk int64
	filepath.WalkDir(cfg.Data, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk++
		}
		return err
	})
	if files != onDisk {
		t.Errorf("the report counts %d files, the directory holds %d", files, onDisk)
	}
	if rep.Logs.Level != "debug" || len(rep.Logs.Streams) != 2 {
		t.Errorf("logs %+v", rep.Logs)
	}

	cancel()
	<-done
	// The node's own addresses are public and logged as listen and
	// advertise (the filter lets those keys through); nothing else may
	// name an address.
	out := regexp.MustCompile(`(listen|advertise)=\S+`).ReplaceAllString(logs.String(), "")
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatal("no debug line was logged; the check saw nothing")
	}
	for _, secret := range []string{accts[0].ID().String(), accts[1].ID().String(), "127.0.0.1"} {
		if i := strings.Index(out, secret); i >= 0 {
			t.Errorf("the logs hold %q: %s", secret, out[max(0, i-200):min(len(out), i+100)])
		}
	}
	// The data directory is a node's: it holds the accounts (its job), but
	// no client address.
	filepath.WalkDir(cfg.Data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("127.0.0.1")) {
			t.Errorf("%s holds the client address", p)
		}
		return nil
	})
}

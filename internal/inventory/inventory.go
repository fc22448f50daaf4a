package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushnet/hush/internal/schema"
	"github.com/hushnet/hush/protocol/transparency"
)

// Doc describes one kind of record in plain words.
type Doc struct {
	Description string
	Retention   string
}

// Undocumented is the description and retention of a table or file kind
// the server's code does not describe.
const Undocumented = "undocumented"

// OpenReadOnly opens the SQLite database at path for reading only, so an
// export cannot change a live server's data.
func OpenReadOnly(path string) (*sql.DB, error) {
	return sql.Open("sqlite", schema.FileURI(path, url.Values{"_pragma": {"query_only(1)", "busy_timeout(5000)"}}))
}

// Tables lists every table of db with its columns and row count,
// described by docs (keyed by table name).
func Tables(ctx context.Context, db *sql.DB, docs map[string]Doc) ([]transparency.Record, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []transparency.Record{}
	for _, n := range names {
		d, ok := docs[n]
		if !ok {
			d = Doc{Undocumented, Undocumented}
		}
		k := transparency.Record{Kind: transparency.KindTable, Name: n, Description: d.Description, Retention: d.Retention, Fields: []string{}}
		// n comes from sqlite_schema, not from input; quoted all the same.
		q := `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+q).Scan(&k.Count); err != nil {
			return nil, fmt.Errorf("inventory: counting %s: %w", n, err)
		}
		cols, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", n)
		if err != nil {
			return nil, err
		}
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				cols.Close()
				return nil, err
			}
			k.Fields = append(k.Fields, c)
		}
		cols.Close()
		out = append(out, k)
	}
	return out, nil
}

// FileKind is one kind of file in a data directory.
type FileKind struct {
	// Name is the pattern shown, e.g. "blobs/ab/cd/<id>".
	Name string
	// Match reports whether a file (its slash-separated path relative to
	// the directory) is of this kind.
	Match  func(rel string) bool
	Fields []string // what one file holds
	Doc
}

// Prefix matches files whose relative path starts with p.
func Prefix(p string) func(string) bool {
	return func(rel string) bool { return strings.HasPrefix(rel, p) }
}

// Exactly matches the one file at p.
func Exactly(p string) func(string) bool {
	return func(rel string) bool { return rel == p }
}

// OtherName is the kind of a file no FileKind matches.
const OtherName = "other"

// Files walks dir and counts every file into the first kind that matches
// it, or into "other" (listed only when not empty). Every kind is listed,
// with 0 when the directory has none. A missing dir has no files.
func Files(dir string, kinds []FileKind) ([]transparency.Record, error) {
	out := make([]transparency.Record, len(kinds)+1)
	for i, k := range kinds {
		out[i] = transparency.Record{Kind: transparency.KindFiles, Name: k.Name, Description: k.Description, Retention: k.Retention, Fields: k.Fields}
	}
	other := &out[len(kinds)]
	*other = transparency.Record{Kind: transparency.KindFiles, Name: OtherName, Description: "files the server did not write (or its code does not describe): " + Undocumented,
		Retention: Undocumented, Fields: []string{Undocumented}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (an expired blob)
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		k := other
		for i := range kinds {
			if kinds[i].Match(rel) {
				k = &out[i]
				break
			}
		}
		k.Count++
		k.Bytes += info.Size()
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if other.Count == 0 {
		out = out[:len(kinds)]
	}
	return out, nil
}

// Stderr is the log stream every hushd server writes: slog text lines
// on standard error, with the fields a line may carry at level (the
// caller's list for that level and those below it).
func Stderr(fields []string) transparency.LogStream {
	return transparency.LogStream{
		Name:        "stderr",
		Description: "text log lines on standard error (the systemd journal under the shipped units); addresses and Account IDs are filtered out unless debug_log_private is on",
		Fields:      append([]string{"time", "level", "msg"}, fields...),
		Retention:   "not kept by the server; as long as the operator's journal keeps it",
	}
}

// Metrics is the Prometheus stream of a server whose metrics listener is
// on: counters and histograms labelled by operation and result only.
func Metrics(names []string) transparency.LogStream {
	return transparency.LogStream{
		Name:        "metrics",
		Description: "Prometheus metrics on the metrics listener, when configured: totals labelled by operation and result, no per-client, per-account or per-relay label",
		Fields:      names,
		Retention:   "not kept by the server; as long as the operator's scraper keeps it",
	}
}

// OnionReplayCache is the memory record of a steward server that is an
// onion destination: the replay cache of its layers' ephemeral keys.
var OnionReplayCache = transparency.Record{
	Kind: transparency.KindMemory, Name: "replay cache", Count: 0,
	Description: "ephemeral keys of recent onion layers, to refuse a replayed request (not counted by this export)",
	Fields:      []string{"ephemeral X25519 public key", "time seen"}, Retention: "one minute, in memory only",
}

// Store is what one server keeps in its data directory and memory: the
// part of a transparency report every server builds the same way.
type Store struct {
	Server string                // the report's server kind
	DB     string                // the SQLite file's name in the directory; "" for none
	Tables map[string]Doc        // its tables, by name
	Files  []FileKind            // every kind of file in the directory
	Memory []transparency.Record // what it keeps only in memory
}

// Report lists every table of the database in dir, every file of dir and
// what s keeps in memory, with logs. It only reads, so it may run beside
// the live server. A directory without the database lists no tables.
func (s Store) Report(ctx context.Context, dir string, logs transparency.Logs) (*transparency.Report, error) {
	rep := &transparency.Report{Format: transparency.Format, Server: s.Server, AsOf: time.Now().UnixMilli(), Records: []transparency.Record{}}
	path := filepath.Join(dir, s.DB)
	if _, err := os.Stat(path); err == nil && s.DB != "" { // a server without a database (turn) names none
		db, err := OpenReadOnly(path)
		if err != nil {
			return nil, err
		}
		tables, err := Tables(ctx, db, s.Tables)
		db.Close()
		if err != nil {
			return nil, err
		}
		rep.Records = append(rep.Records, tables...)
	}
	files, err := Files(dir, s.Files)
	if err != nil {
		return nil, err
	}
	rep.Records = append(rep.Records, files...)
	for _, m := range s.Memory {
		m.Fields = append([]string(nil), m.Fields...)
		rep.Records = append(rep.Records, m)
	}
	rep.Logs = logs
	return rep, nil
}

package files

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hushnet/hush/internal/schema"
)

// Report is what a file server holds (DESIGN §10): every kind of record
// in its data directory, how many, and what each carries. It is built
// from the live state, so a kind nobody thought to describe still shows
// up: every table of the database and every file of the directory is in
// exactly one kind.
type Report struct {
	Dir   string       `json:"dir"`
	Kinds []RecordKind `json:"kinds"`
}

// RecordKind is one kind of record.
type RecordKind struct {
	Kind   string   `json:"kind"`  // "table", "files"
	Name   string   `json:"name"`  // the table, or the files' pattern
	Count  int64    `json:"count"` // rows or files
	Bytes  int64    `json:"bytes,omitempty"`
	Fields []string `json:"fields"` // columns, or what a file holds
}

// fileKinds classify the files of a data directory; the first match wins.
var fileKinds = []struct {
	name   string
	match  func(rel string) bool
	fields []string
}{
	{BlobDir + "/ab/cd/<blob id in hex>", func(r string) bool { return strings.HasPrefix(r, BlobDir+"/") },
		[]string{"blob bytes: what the client uploaded, encrypted before upload and opaque to the server"}},
	{TempDir + "/upload-*", func(r string) bool { return strings.HasPrefix(r, TempDir+"/") },
		[]string{"an upload being written (removed at start if a crash left it)"}},
	{DBFile + "*", func(r string) bool { return strings.HasPrefix(r, DBFile) },
		[]string{"the metadata database and its journal (tables listed above)"}},
	{KeyFile, func(r string) bool { return r == KeyFile },
		[]string{"the server's Ed25519 seed (its TLS identity; the onion key derives from it)"}},
	{SnapshotFile + "*", func(r string) bool { return strings.HasPrefix(r, SnapshotFile) },
		[]string{"the network's newest signed snapshot: public node list, no client data"}},
}

// Transparency reports what the data directory dir holds. It reads the
// database without changing it, so it may run beside a live server.
func Transparency(dir string) (*Report, error) {
	rep := &Report{Dir: dir}
	db := filepath.Join(dir, DBFile)
	if _, err := os.Stat(db); err == nil {
		tables, err := tableKinds(db)
		if err != nil {
			return nil, err
		}
		rep.Kinds = append(rep.Kinds, tables...)
	}
	files := make([]RecordKind, len(fileKinds)+1)
	for i, k := range fileKinds {
		files[i] = RecordKind{Kind: "files", Name: k.name, Fields: k.fields}
	}
	other := &files[len(fileKinds)]
	*other = RecordKind{Kind: "files", Name: "other", Fields: []string{"not written by the file server"}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		kind := other
		for i, k := range fileKinds {
			if k.match(rel) {
				kind = &files[i]
				break
			}
		}
		kind.Count++
		kind.Bytes += info.Size()
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, k := range files {
		if k.Count > 0 || k.Name != "other" {
			rep.Kinds = append(rep.Kinds, k)
		}
	}
	return rep, nil
}

// tableKinds lists every table of the database at path with its columns
// and row count.
func tableKinds(path string) ([]RecordKind, error) {
	c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{"_pragma": {"query_only(1)", "busy_timeout(5000)"}}))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rows, err := c.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("transparency: %w", err)
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
	var out []RecordKind
	for _, n := range names {
		k := RecordKind{Kind: "table", Name: n}
		q := `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
		if err := c.QueryRow("SELECT count(*) FROM " + q).Scan(&k.Count); err != nil {
			return nil, err
		}
		cols, err := c.Query("SELECT name FROM pragma_table_info(?)", n)
		if err != nil {
			return nil, err
		}
		for cols.Next() {
			var col string
			if err := cols.Scan(&col); err != nil {
				cols.Close()
				return nil, err
			}
			k.Fields = append(k.Fields, col)
		}
		cols.Close()
		out = append(out, k)
	}
	return out, nil
}

// Print writes rep for people, or as JSON.
func (rep *Report) Print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "file server data in %s\n", rep.Dir)
	for _, k := range rep.Kinds {
		switch k.Kind {
		case "table":
			fmt.Fprintf(w, "table %s: %d records; fields: %s\n", k.Name, k.Count, strings.Join(k.Fields, ", "))
		default:
			fmt.Fprintf(w, "files %s: %d files, %d bytes; each: %s\n", k.Name, k.Count, k.Bytes, strings.Join(k.Fields, "; "))
		}
	}
	return nil
}

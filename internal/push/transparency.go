package push

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report is what `hushd push transparency` prints: every kind of record
// the server holds (every table of its database, read from the database
// itself, so a table added later cannot be left out), how many, and
// their fields.
type Report struct {
	Server  string       `json:"server"`
	Records []RecordKind `json:"records"`
}

// RecordKind is one table.
type RecordKind struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Count       int64    `json:"count"`
	Fields      []string `json:"fields"`
}

// tableDescriptions say, in plain words, what each table is for. A table
// without one is still listed ("undocumented"), and a test fails.
var tableDescriptions = map[string]string{
	"subscriptions": "one per device subscription: a random ID, the hash of its notify secret, the provider and its token or Web Push endpoint and keys, its management public key, its expiry and last management time; no Account ID, no IP address, no swarm",
	"tags":          "tags of recent notifies (HMACs the server cannot link to a message), kept a few minutes to send one push per message",
	"server_keys":   "the server's own VAPID signing key",
}

// Transparency reads the report from the live database.
func (s *Store) Transparency(ctx context.Context) (*Report, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
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
	r := &Report{Server: "hushd push"}
	for _, n := range names {
		k := RecordKind{Name: n, Description: tableDescriptions[n]}
		if k.Description == "" {
			k.Description = "undocumented"
		}
		// n comes from sqlite_schema, not from input; quoted all the same.
		q := `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+q).Scan(&k.Count); err != nil {
			return nil, err
		}
		cols, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
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
		r.Records = append(r.Records, k)
	}
	return r, nil
}

// WriteText prints r for a person.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s holds %d kinds of record:\n", r.Server, len(r.Records))
	for _, k := range r.Records {
		fmt.Fprintf(w, "\n%s: %d\n  %s\n  fields: %s\n", k.Name, k.Count, k.Description, strings.Join(k.Fields, ", "))
	}
	_, err := fmt.Fprintln(w, "\nNothing else is stored; logs hold no Account ID or IP address.")
	return err
}

// WriteJSON prints r as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

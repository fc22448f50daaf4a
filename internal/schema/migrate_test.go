package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"
)

const testAppID = 0x74657374 // "test"

// testScripts is a schema of three versions; the third changes a table the
// first made, so a partially migrated file must keep its rows through it.
var testScripts = fstest.MapFS{
	"sql/0001-a.sql": {Data: []byte("CREATE TABLE a (x INTEGER PRIMARY KEY);")},
	"sql/0002-b.sql": {Data: []byte("CREATE TABLE b (y INTEGER REFERENCES a(x));")},
	"sql/0003-z.sql": {Data: []byte("ALTER TABLE a ADD COLUMN z TEXT;")},
}

func testSchema() Schema {
	return Schema{ApplicationID: testAppID, Files: testScripts, Glob: "sql/*.sql"}
}

func openTestDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	c, err := sql.Open("sqlite", FileURI(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	c.SetMaxOpenConns(1)
	t.Cleanup(func() { c.Close() })
	return c
}

func exec(t *testing.T, path, script string) {
	t.Helper()
	c := openTestDB(t, path)
	if _, err := c.Exec(script); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// dump describes everything a migration could change: the header fields,
// the schema and the rows of table a.
func dump(t *testing.T, path string) string {
	t.Helper()
	c := openTestDB(t, path)
	defer c.Close()
	var b strings.Builder
	var app, version int64
	c.QueryRow("PRAGMA application_id").Scan(&app)
	c.QueryRow("PRAGMA user_version").Scan(&version)
	fmt.Fprintf(&b, "application_id %#x user_version %d\n", app, version)
	rows, err := c.Query("SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	var hasA bool
	for rows.Next() {
		var typ, name, s string
		rows.Scan(&typ, &name, &s)
		hasA = hasA || name == "a"
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, s)
	}
	rows.Close()
	if hasA {
		rows, err := c.Query("SELECT x FROM a ORDER BY x")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var x int
			rows.Scan(&x)
			fmt.Fprintf(&b, "row %d\n", x)
		}
		rows.Close()
	}
	return b.String()
}

// migrateTo builds a file as a binary that knew only the first version
// scripts left it.
func migrateTo(t *testing.T, path string, version int) {
	t.Helper()
	s := testSchema()
	s.Target = version
	if err := Migrate(context.Background(), openTestDB(t, path), s); err != nil {
		t.Fatal(err)
	}
}

func TestMigrate(t *testing.T) {
	errCheck := errors.New("check refused")
	broken := fstest.MapFS{
		"sql/0001-a.sql": testScripts["sql/0001-a.sql"],
		"sql/0002-b.sql": testScripts["sql/0002-b.sql"],
		"sql/0003-z.sql": {Data: []byte("ALTER TABLE a ADD COLUMN z TEXT; THIS IS NOT SQL;")},
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) // builds the file before Migrate; nil: no file
		tune  func(s *Schema)
		err   error  // nil: success
		msg   string // in the error
		// Wanted after a successful Migrate: the version, and lines of the
		// dump (rows kept, tables made).
		version int
		has     []string
	}{
		{
			name:    "fresh file",
			version: 3,
			has:     []string{"application_id 0x74657374 user_version 3", "table a", "table b"},
		},
		{
			name:    "empty unmarked file",
			setup:   func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) },
			version: 3,
			has:     []string{"application_id 0x74657374 user_version 3"},
		},
		{
			name: "unmarked legacy file",
			setup: func(t *testing.T, path string) {
				exec(t, path, "CREATE TABLE a (x INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)")
			},
			err: ErrForeignDatabase,
			msg: "unmarked file with 1 schema objects",
		},
		{
			name:  "unmarked file with a version",
			setup: func(t *testing.T, path string) { exec(t, path, "PRAGMA user_version = 2; CREATE TABLE t (x)") },
			err:   ErrForeignDatabase,
			msg:   "application_id 0x0",
		},
		{
			name:  "other application",
			setup: func(t *testing.T, path string) { exec(t, path, "PRAGMA application_id = 7; CREATE TABLE t (x)") },
			err:   ErrForeignDatabase,
			msg:   "application_id 0x7",
		},
		{
			name: "partially migrated",
			setup: func(t *testing.T, path string) {
				migrateTo(t, path, 1)
				exec(t, path, "INSERT INTO a VALUES (1), (2)")
			},
			version: 3,
			has:     []string{"user_version 3", "table b", "z TEXT", "row 1", "row 2"},
		},
		{
			name: "newer than known",
			setup: func(t *testing.T, path string) {
				exec(t, path, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = 9; CREATE TABLE a (x INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)", testAppID))
			},
			err: ErrNewerSchema,
			msg: "version 9, this binary knows 3",
		},
		{
			name:  "check refuses",
			setup: func(t *testing.T, path string) { migrateTo(t, path, 1) },
			tune:  func(s *Schema) { s.Check = func(*sql.Tx) error { return errCheck } },
			err:   errCheck,
		},
		{
			name: "script fails midway",
			setup: func(t *testing.T, path string) {
				migrateTo(t, path, 1)
				exec(t, path, "INSERT INTO a VALUES (1)")
			},
			tune: func(s *Schema) { s.Files = broken },
			msg:  "migration sql/0003-z.sql",
		},
		{
			name: "row without its parent",
			setup: func(t *testing.T, path string) {
				migrateTo(t, path, 2)
				// A row without its parent, as foreign_keys(0) lets in.
				exec(t, path, "INSERT INTO b VALUES (5)")
			},
			msg: "referencing a missing a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.db")
			if tt.setup != nil {
				tt.setup(t, path)
			}
			var before string
			if _, err := os.Stat(path); err == nil {
				before = dump(t, path)
			}
			s := testSchema()
			if tt.tune != nil {
				tt.tune(&s)
			}
			err := Migrate(context.Background(), openTestDB(t, path), s)
			if tt.err != nil || tt.msg != "" {
				if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("Migrate = %v, want %v containing %q", err, tt.err, tt.msg)
				}
				// A refused or failed migration changes nothing.
				if after := dump(t, path); after != before {
					t.Fatalf("the file changed:\n%s\nwas\n%s", after, before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, path)
			if !strings.Contains(got, fmt.Sprintf("user_version %d\n", tt.version)) {
				t.Errorf("not at version %d:\n%s", tt.version, got)
			}
			for _, h := range tt.has {
				if !strings.Contains(got, h) {
					t.Errorf("no %q in\n%s", h, got)
				}
			}
			// Migrating a current file again writes nothing.
			st, _ := os.Stat(path)
			if err := Migrate(context.Background(), openTestDB(t, path), testSchema()); err != nil {
				t.Fatal(err)
			}
			if again := dump(t, path); again != got {
				t.Fatalf("a second Migrate changed the file:\n%s", again)
			}
			if st2, _ := os.Stat(path); !st2.ModTime().Equal(st.ModTime()) || st2.Size() != st.Size() {
				t.Fatal("a second Migrate wrote to the file")
			}
		})
	}
}

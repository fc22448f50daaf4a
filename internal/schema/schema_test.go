package schema

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMigrations(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE t (x);")}
	tests := []struct {
		name  string
		files []string
		want  []int
		err   string
	}{
		{"ordered", []string{"sql/0002-b.sql", "sql/0001-a.sql", "sql/0003-c.sql"}, []int{1, 2, 3}, ""},
		{"none", nil, nil, ""},
		{"gap", []string{"sql/0001-a.sql", "sql/0003-c.sql"}, nil, "expected version 2"},
		{"unnumbered", []string{"sql/first.sql"}, nil, "must start with its version number"},
		{"zero", []string{"sql/0000-a.sql"}, nil, "must start with its version number"},
		{"duplicate", []string{"sql/0001-a.sql", "sql/0001-b.sql"}, nil, "expected version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys[f] = file
			}
			ms, err := Migrations(fsys, "sql/*.sql")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(tt.want) {
				t.Fatalf("%d migrations, want %d", len(ms), len(tt.want))
			}
			for i, m := range ms {
				if m.Version != tt.want[i] || !strings.HasPrefix(m.Name, "sql/") {
					t.Errorf("migration %d = %+v", i, m)
				}
			}
		})
	}
}

func TestFileURI(t *testing.T) {
	got := FileURI("/tmp/a?b#c/node.db", url.Values{"_pragma": {"journal_mode(WAL)"}})
	want := "file:///tmp/a%3Fb%23c/node.db?_pragma=journal_mode%28WAL%29"
	if got != want {
		t.Fatalf("FileURI = %s, want %s", got, want)
	}
}

func TestFileURIRelative(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	got := FileURI(filepath.Join("data", "node.db"), nil)
	want := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(wd, "data", "node.db"))}).String()
	if got != want {
		t.Fatalf("FileURI = %s, want %s", got, want)
	}
}

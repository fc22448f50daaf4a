// Package schema holds what hush's SQLite databases (the node's message
// store and the client's local database) share: the file DSN, and the list
// of numbered migration scripts embedded in each package (syncthing's
// internal/db/sqlite/basedb.go is the model). Each database runs its own
// migrations, since each has its own checks around them; this package only
// finds and orders the scripts.
package schema

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered script: sql/0001-name.sql is version 1.
type Migration struct {
	Version int
	Name    string // the script's path in its file system
}

// Migrations lists the scripts matching glob in fsys, ordered by version.
// Versions must run 1, 2, 3, … without gaps, so a missing or misnamed
// script is an error at start-up rather than a silently skipped schema.
func Migrations(fsys fs.FS, glob string) ([]Migration, error) {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, err
	}
	var list []Migration
	for _, n := range names {
		num, _, ok := strings.Cut(path.Base(n), "-")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with its version number", n)
		}
		list = append(list, Migration{Version: v, Name: n})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	for i, m := range list {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.Name, i+1)
		}
	}
	return list, nil
}

// FileURI builds a file: DSN for the modernc.org/sqlite driver, as
// syncthing's basedb.go does, so that a path with '?' or '#' in it is not
// taken for parameters. The path is made absolute first: net/url writes a
// relative path as file://dir/name, and SQLite reads "dir" as the URI's
// host and refuses it.
func FileURI(path string, q url.Values) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		if filepath.IsAbs(path) {
			p = "/" + p // a Windows drive letter: file:///C:/dir/name
		} else {
			// Abs failed (no working directory): keep the path relative
			// and out of the authority, as file:dir/name.
			return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
		}
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

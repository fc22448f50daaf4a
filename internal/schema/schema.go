// Package schema holds what hush's SQLite databases (the node's message
// store and the client's local database) share: the file DSN, and the one
// migration runner, [Migrate], over numbered scripts embedded in each
// database's package (syncthing's internal/db/sqlite/basedb.go is the
// model).
//
// # Files
//
// A database file is marked as a hush one by its PRAGMA application_id and
// records the last migration it ran in PRAGMA user_version. Migrate claims
// only a file that is new (unmarked and without any table), refuses every
// other unmarked or foreign file and one written by a newer binary, and
// leaves each refused file exactly as it found it. A database's own checks
// (the client database's key check) run inside the migration transaction
// through [Schema.Check] and [Schema.Init].
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Errors returned by [Migrate].
var (
	// ErrNewerSchema: the file was written by a newer version of hush; it
	// is left untouched rather than used with a schema this binary does not
	// know.
	ErrNewerSchema = errors.New("database schema is newer than this binary")
	// ErrForeignDatabase: the file is a SQLite database of another
	// application, or an unmarked one that already holds tables (nothing
	// tells whose they are, so none is migrated over).
	ErrForeignDatabase = errors.New("database belongs to another application")
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

// Schema describes one kind of database for [Migrate].
type Schema struct {
	// ApplicationID marks a file as this kind of database in the SQLite
	// header, so that opening another application's database (or the other
	// hush database) fails instead of migrating it.
	ApplicationID int32
	// Files holds the scripts, one per version, matching Glob (as
	// [Migrations] reads them). A released script is never edited: a change
	// of schema is a new script.
	Files fs.FS
	Glob  string
	// Target stops migrations at this version, so that tests can build a
	// file as an older binary left it; 0 means the newest.
	Target int
	// Check, when set, runs in the migration transaction on a file this
	// kind of database already marked, before any write; an error leaves
	// the file as it was.
	Check func(tx *sql.Tx) error
	// Init, when set, runs on a new file after its migrations, in the same
	// transaction.
	Init func(tx *sql.Tx) error
	// Logger, when set, logs each script run.
	Logger *slog.Logger
}

// Migrate brings the database behind c up to s's newest version (or
// s.Target). It runs, in one transaction, every script newer than the
// file's user_version and then sets it, so a crash in the middle leaves the
// file at its old version and the next Migrate starts over; a file already
// at the version is not written to at all. It returns [ErrForeignDatabase]
// for a file of another application or an unmarked one holding tables, and
// [ErrNewerSchema] for a version newer than s knows; the file is then left
// as it was.
//
// c should hold one connection, opened with the same pragmas as the
// database's writer (busy_timeout, foreign keys); Migrate checks foreign
// keys after the scripts ran.
func Migrate(ctx context.Context, c *sql.DB, s Schema) error {
	ms, err := Migrations(s.Files, s.Glob)
	if err != nil {
		return err
	}
	target := len(ms)
	if s.Target > 0 {
		target = min(s.Target, len(ms))
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var appID int32
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	fresh := appID == 0 && version == 0
	switch {
	case fresh:
		// Unmarked: new, or an empty file another program left, which is
		// as good as new. One holding tables is somebody's data.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%w: unmarked file with %d schema objects", ErrForeignDatabase, n)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", s.ApplicationID)); err != nil {
			return err
		}
	case appID != s.ApplicationID:
		return fmt.Errorf("%w: application_id %#x", ErrForeignDatabase, appID)
	case version > len(ms):
		return fmt.Errorf("%w: version %d, this binary knows %d", ErrNewerSchema, version, len(ms))
	case s.Check != nil:
		if err := s.Check(tx); err != nil {
			return err
		}
	}
	if version >= target && !fresh {
		// Nothing to change: end the transaction without a commit, so a
		// plain reopen writes nothing.
		return nil
	}
	for _, m := range ms[min(version, target):target] {
		script, err := fs.ReadFile(s.Files, m.Name)
		if err != nil {
			return err
		}
		// The driver runs every statement of a multi-statement script.
		if _, err := tx.ExecContext(ctx, string(script)); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if s.Logger != nil {
			s.Logger.Info("applied schema migration", "script", m.Name)
		}
	}
	if fresh && s.Init != nil {
		if err := s.Init(tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", target)); err != nil {
		return err
	}
	if err := foreignKeyCheck(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// foreignKeyCheck fails if any row references a missing parent, which a
// script that rebuilt a table could leave behind.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("migration left a row of %s referencing a missing %s", table, parent)
	}
	return rows.Err()
}

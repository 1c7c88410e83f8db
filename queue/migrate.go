package queue

import (
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// migration is one numbered file of the embedded migrations directory,
// "NNNN_name.sql"; its number becomes PRAGMA user_version once applied.
// Its text is read only to apply it: a daemon that starts on an up to date
// database reads none (24 kB of start-up garbage, kept by the idle daemon
// until a collection).
type migration struct {
	version int
	name    string
	fsys    fs.FS
	path    string
}

func (m migration) sql() (string, error) {
	b, err := fs.ReadFile(m.fsys, m.path)
	return string(b), err
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", n)
		}
		ms = append(ms, migration{version: v, name: base, fsys: fsys, path: n})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations newer than the database's user_version,
// each in its own transaction with the version bump, so a crash leaves the
// database at a whole version. A database newer than this build is refused:
// an old binary must not write rows a newer schema would misread.
func migrate(db *sql.DB) error {
	return migrateTo(db, -1)
}

// migrateTo migrates up to version target (-1: the latest); tests use it
// to build a database as an older bridged left it.
func migrateTo(db *sql.DB, target int) error {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if target >= 0 && target < len(ms) {
		ms = ms[:target]
	}
	var current int
	if err := db.QueryRow("PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) && target < 0 {
		return fmt.Errorf("schema version %d, this build knows up to %d: %w", current, len(ms), ErrSchemaTooNew)
	}
	if current >= len(ms) {
		return nil
	}
	for _, m := range ms[current:] {
		text, err := m.sql()
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(text); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		// PRAGMA takes no parameters; the version is our own integer.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: set version: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: commit: %w", m.name, err)
		}
	}
	return nil
}

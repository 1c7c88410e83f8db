package queue

import (
	"database/sql"
	"embed"
	"fmt"
	"net/url"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// driverName is the database/sql driver of mattn/go-sqlite3.
const driverName = "sqlite3"

// migrations are the schema's numbered steps; see migrate.
//
//go:embed migrations/*.sql
var migrations embed.FS

// dsn is the connection string of the database at path: the writer's, or
// with readOnly the read pool's.
func dsn(path string, opts Options, readOnly bool) string {
	v := url.Values{}
	// WAL: readers never block the writer and a commit is one append
	// plus one fsync of the WAL, not a rewrite of the database file.
	v.Set("_journal_mode", "WAL")
	// FULL: in WAL mode, NORMAL fsyncs only at checkpoints, so a power
	// cut can lose the last commits, i.e. messages the API already
	// answered 202 for. FULL fsyncs the WAL at every commit; group
	// commit makes that one fsync per batch rather than per message.
	v.Set("_synchronous", "FULL")
	v.Set("_busy_timeout", fmt.Sprint(opts.BusyTimeout.Milliseconds()))
	v.Set("_foreign_keys", "on")
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never
	// fails half-way with SQLITE_BUSY when upgrading a read lock.
	v.Set("_txlock", "immediate")
	if !readOnly {
		// The driver keeps each statement prepared after its first
		// use, per connection: parsing and planning once saves SQLite
		// that work on thousands of writes a second, and a statement
		// never run costs no memory (0.4 MB at idle against preparing
		// them all at Open, bench/README.md). Larger than the number
		// of distinct writer statements, so none is evicted.
		v.Set("_stmt_cache_size", "128")
		// The driver sets this before journal_mode, whose switch to
		// WAL writes the header of a new database: only then does a
		// new database take the mode without the VACUUM that
		// ensureIncrementalVacuum runs for an older one. On an
		// existing database it changes nothing by itself.
		v.Set("_auto_vacuum", "incremental")
	}
	if readOnly {
		v.Set("_query_only", "1")
		v.Set("_txlock", "deferred")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
}

// checkDurability proves, on the writer connection before migrations, that
// the connection string took: a database on a file system without WAL
// support, or a driver that ignored a parameter, must not run with less
// durability than the API promises.
func checkDurability(db *sql.DB) error {
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("enable wal: journal mode is %q", mode)
	}
	var sync int
	if err := db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("read synchronous: %w", err)
	}
	if sync != 2 {
		return fmt.Errorf("set synchronous=FULL: it is %d", sync)
	}
	return nil
}

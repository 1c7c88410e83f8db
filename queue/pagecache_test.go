package queue

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"bridged/queue/internal/sqlitemem"
)

// TestNoBulkPageCache checks that a new connection to a small database
// allocates the cache pages it reads, not SQLite's default block of 20
// (86 kB with 4 KiB pages): the package's init turned the block off.
// Measured: 70 kB with the setting, 148 kB without.
func TestNoBulkPageCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pc.db")
	db, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	fresh, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	// The count is process-wide: nothing else in this test uses SQLite
	// meanwhile (db's one connection is idle).
	before := sqlitemem.Used()
	conn, err := fresh.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count: %d, %v", n, err)
	}
	const limit = 100 << 10
	if grew := sqlitemem.Used() - before; grew > limit {
		t.Errorf("a connection and its first read allocated %d bytes in SQLite, want under %d (no block of 20 cache pages)", grew, limit)
	}
}

// TestOpenReleasesStartupCache checks that Open leaves the writer's page
// cache empty of what start-up read: on a new database the migrations
// touch every page, 150-250 kB that an idle daemon keeps otherwise.
// Measured: a later shrink frees 0 bytes with the release in Open,
// 210 kB without.
func TestOpenReleasesStartupCache(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	before := sqlitemem.Used()
	if _, err := s.wdb.Exec("PRAGMA shrink_memory"); err != nil {
		t.Fatal(err)
	}
	const limit = 32 << 10
	if freed := before - sqlitemem.Used(); freed > limit {
		t.Errorf("a shrink after Open freed %d bytes of SQLite's memory, want under %d: Open kept start-up's page cache", freed, limit)
	}
}

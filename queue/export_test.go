package queue

import (
	"context"
	"fmt"
)

// Hooks for the package's tests and benchmarks: what they measure or look
// at that no feature of the daemon asks the store for.

// stats counts the writer's work since Open.
type stats struct {
	// Commits is the number of transactions committed (one fsync each with
	// synchronous=FULL); Writes the number of writes they carried.
	Commits, Writes uint64
}

// Stats returns the writer's counters: Writes/Commits is the group-commit factor.
func (s *Store) Stats() stats {
	return stats{Commits: s.commits.Load(), Writes: s.written.Load()}
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return 0
	}
	return len(ms)
}

// space describes the database file.
type space struct {
	// Pages and FreePages are the database's pages and those unused,
	// PageSize their size in bytes.
	Pages, FreePages, PageSize int64
	// Incremental is true when freed pages can be given back to the file
	// system (auto_vacuum=INCREMENTAL).
	Incremental bool
}

// Space returns the database's page counts.
func (s *Store) Space(ctx context.Context) (space, error) {
	var sp space
	var mode int
	err := s.rdb.QueryRowContext(ctx, "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size, pragma_auto_vacuum").
		Scan(&sp.Pages, &sp.FreePages, &sp.PageSize, &mode)
	if err != nil {
		return space{}, fmt.Errorf("space: %w", err)
	}
	sp.Incremental = mode == autoVacuumIncremental
	return sp, nil
}

// PINAttempts returns every recorded attempt, by key.
func (s *Store) PINAttempts(ctx context.Context) ([]PINAttempt, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT sim_key, modem, iccid, salt, pin_hash, refused, attempts_left, at
		FROM pin_attempts ORDER BY sim_key`)
	if err != nil {
		return nil, fmt.Errorf("list PIN attempts: %w", err)
	}
	return collect(rows, func(r rowScanner) (PINAttempt, error) { return scanPIN(r) })
}

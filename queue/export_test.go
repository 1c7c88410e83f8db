package queue

import (
	"context"
	"fmt"
	"time"
)

// Hooks for the package's tests and benchmarks: what they measure or look
// at that no feature of the daemon asks the store for.

// stats counts the writer's work since Open.
type stats struct {
	// Commits is the number of transactions committed (one fsync each with
	// synchronous=FULL); Writes the number of writes they carried.
	Commits, Writes uint64
	// Statements is the number of SQL statements the writer ran.
	Statements uint64
}

// Stats returns the writer's counters: Writes/Commits is the group-commit factor.
func (s *Store) Stats() stats {
	return stats{Commits: s.commits.Load(), Writes: s.written.Load(), Statements: s.statements.Load()}
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

// The one-outcome forms of SettleWebhooks, for tests that drive the outbox
// a step at a time.

// ClaimWebhooks returns up to limit due deliveries for endpoint, oldest due
// first, each counted as an attempt and held for lease: unless
// WebhookDelivered or WebhookFailed is called within it, the delivery comes
// due again. A delivery is not due while an earlier one of the same
// subject (one message's status changes) is pending, claimed or not, so
// that one subject's deliveries are sent one after the other, in order.
func (s *Store) ClaimWebhooks(ctx context.Context, endpoint string, limit int, lease time.Duration) ([]*WebhookDelivery, error) {
	r, err := s.SettleWebhooks(ctx, endpoint, nil, max(limit, 1), lease)
	return r.Claimed, err
}

// WebhookDelivered marks a delivery done. ErrNotFound if it is not pending.
func (s *Store) WebhookDelivered(ctx context.Context, id int64) error {
	r, err := s.SettleWebhooks(ctx, "", []WebhookOutcome{{ID: id}}, 0, 0)
	if err != nil {
		return err
	}
	return r.Settled[0].Err
}

// WebhookFailed records a failed attempt: the delivery comes due again
// after an exponential backoff with jitter, capped by its endpoint's
// MaxBackoff, or after retryAfter (the receiver's Retry-After) when that is
// longer, within the same cap; once it has had the endpoint's MaxAttempts
// attempts it moves to the dead letters (dead true). next is when it comes
// due again.
func (s *Store) WebhookFailed(ctx context.Context, id int64, reason string, retryAfter time.Duration) (dead bool, next time.Time, err error) {
	if reason == "" {
		reason = "failed" // "" would record it delivered
	}
	r, err := s.SettleWebhooks(ctx, "", []WebhookOutcome{{ID: id, Failure: reason, RetryAfter: retryAfter}}, 0, 0)
	if err != nil {
		return false, time.Time{}, err
	}
	st := r.Settled[0]
	return st.Dead, st.Next, st.Err
}

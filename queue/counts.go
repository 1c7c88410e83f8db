package queue

import (
	"context"
	"fmt"
)

// Counts is what monitoring asks of the store: how many messages are in
// each status and how many webhook deliveries wait, read together.
type Counts struct {
	// Messages has an entry for every status with at least one message.
	Messages map[Status]int64
	// WebhooksPending counts deliveries not yet delivered nor dead.
	WebhooksPending int64
}

// The message counts are kept by the triggers of migration 0008, so
// reading them costs seven rows however many messages there are; the
// pending deliveries are counted on the (state, id) index, and few are
// pending unless an endpoint is down.
const (
	qCountByStatus     = `SELECT status, n FROM message_counts WHERE n != 0`
	qCountWebhookState = `SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`
)

// Counts reads the message counts by status and the pending webhook
// deliveries in one read transaction, so that the two agree. It fails with
// ErrClosed after Close, or with the database's error.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	if s.closed.Load() {
		return Counts{}, fmt.Errorf("counts: %w", ErrClosed)
	}
	c := Counts{Messages: map[Status]int64{}}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, qCountByStatus)
	if err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return Counts{}, fmt.Errorf("counts: %w", err)
		}
		c.Messages[Status(status)] = n
	}
	if err := rows.Err(); err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	if err := tx.QueryRowContext(ctx, qCountWebhookState).Scan(&c.WebhooksPending); err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// WriteFailures is how many writes have failed for a storage reason (a
// full disk, a read-only file or mount, a lock held elsewhere, an I/O
// error) since Open: the writes whose failure CheckWritable reports too.
// A write refused for its content (ErrNotFound, ErrInvalid, ...) is not
// counted.
func (s *Store) WriteFailures() uint64 { return s.writeFailures.Load() }

package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The earliest moment something becomes claimable for a modem: a queued
// message's due time (its send_at or its next retry) or a claim's lease end
// (recovered by the next Claim).
const qNextDue = `SELECT MIN(t) FROM (
	SELECT MIN(due_at) AS t FROM messages WHERE status = 'queued' AND (modem IS NULL OR modem = ?)
	UNION ALL
	SELECT MIN(lease_until) AS t FROM messages WHERE status = 'sending')`

// NextDue returns when Claim for modem may next find work without anything
// new being enqueued, so that an idle worker sleeps until then instead of
// polling; ok is false when nothing is waiting. The time may already be
// past (a message restricted to a busy route), which the caller treats as
// "try now".
func (s *Store) NextDue(ctx context.Context, modem string) (t time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, qNextDue, modem).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(v.Int64), true, nil
}

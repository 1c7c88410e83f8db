package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RawPart is a received PDU that did not decode, kept as the modem gave it.
type RawPart struct {
	ID      int64
	Modem   string
	Storage string
	// Slot is nil for a direct +CMT.
	Slot       *int
	PDU        string
	ReceivedAt time.Time
	// Error is why it did not decode (a *pdu.DecodeError's text: field and
	// octet offset).
	Error string
}

// ListUndecoded returns received PDUs that did not decode, oldest first,
// after the id after (0 for the start), at most limit (0 means
// DefaultPageSize). Nothing removes them but Prune.
func (s *Store) ListUndecoded(ctx context.Context, after int64, limit int) ([]RawPart, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, qUndecoded, after, pageSize(limit))
	if err != nil {
		return nil, fmt.Errorf("list undecoded: %w", err)
	}
	defer rows.Close()
	var out []RawPart
	for rows.Next() {
		var (
			p    RawPart
			slot sql.NullInt64
			at   int64
		)
		if err := rows.Scan(&p.ID, &p.Modem, &p.Storage, &slot, &p.PDU, &at, &p.Error); err != nil {
			return nil, fmt.Errorf("list undecoded: %w", err)
		}
		if slot.Valid {
			n := int(slot.Int64)
			p.Slot = &n
		}
		p.ReceivedAt = fromNanos(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list undecoded: %w", err)
	}
	return out, nil
}

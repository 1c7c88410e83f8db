package queue

// Reading the outbox: one message with its parts and history (Get), and
// pages of messages, newest first (List).

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"bridged/pdu"
)

// Get returns a message with its sent parts and its history, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*Message, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	defer tx.Rollback()
	return readMessage(ctx, tx, id)
}

// reader is a read transaction (*sql.Tx) or the writer's (wtx).
type reader interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// readMessage is Get in tx: a read transaction, or the writer's when a
// write shows the message it changed (the message.status event).
func readMessage(ctx context.Context, tx reader, id int64) (*Message, error) {
	m, err := scanMessage(tx.QueryRowContext(ctx, qGetMessage, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	rows, err := tx.QueryContext(ctx, qGetParts, id)
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	if m.SentParts, err = scanParts(rows); err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	if m.Events, err = readHistory(ctx, tx, id); err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	return m, nil
}

// readHistory returns message id's history, oldest first.
func readHistory(ctx context.Context, tx reader, id int64) ([]Event, error) {
	rows, err := tx.QueryContext(ctx, qGetEvents, id)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (Event, error) {
		var (
			e  Event
			st string
			at int64
		)
		err := r.Scan(&st, &at, &e.Detail)
		e.Status, e.At = Status(st), fromNanos(at)
		return e, err
	})
}

func scanParts(rows *sql.Rows) ([]SentPart, error) {
	defer rows.Close()
	var out []SentPart
	for rows.Next() {
		var (
			p       SentPart
			sent    int64
			outcome sql.NullString
			st, at  sql.NullInt64
		)
		if err := rows.Scan(&p.Seq, &p.Ref, &p.Modem, &sent, &outcome, &st, &at); err != nil {
			return nil, err
		}
		p.SentAt, p.Outcome, p.ReportedAt = fromNanos(sent), pdu.Outcome(outcome.String), timePtr(at)
		if st.Valid {
			v := int(st.Int64)
			p.ReportStatus = &v
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Filter selects messages for List. Zero fields match everything.
type Filter struct {
	Status Status
	To     string
	// Limit is the page size: 0 means DefaultPageSize, at most MaxPageSize.
	Limit int
	// Cursor is a previous page's NextCursor.
	Cursor string
}

// Page sizes for List and ListInbox.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ErrBadCursor is returned for a cursor this store did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// Page is one page of List: newest first. NextCursor is empty on the last page.
type Page struct {
	Messages   []*Message
	NextCursor string
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, ErrBadCursor
	}
	return id, nil
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// List returns messages matching f, newest first, one page at a time.
// Messages enqueued after the first page appear on no later page, so a
// walk through every page visits each older message exactly once.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	if s.closed.Load() {
		return Page{}, ErrClosed
	}
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, fmt.Errorf("list: %w", err)
		}
		before = id
	}
	if f.Status != "" && !f.Status.Valid() {
		return Page{}, fmt.Errorf("list: status %q: %w", f.Status, ErrInvalid)
	}
	limit := pageSize(f.Limit)
	var (
		rows *sql.Rows
		err  error
	)
	switch {
	case f.To != "" && f.Status != "":
		rows, err = s.rdb.QueryContext(ctx, qListToStat, f.To, string(f.Status), before, limit+1)
	case f.To != "":
		rows, err = s.rdb.QueryContext(ctx, qListTo, f.To, before, limit+1)
	case f.Status != "":
		rows, err = s.rdb.QueryContext(ctx, qListStatus, string(f.Status), before, limit+1)
	default:
		rows, err = s.rdb.QueryContext(ctx, qListAll, before, limit+1)
	}
	var p Page
	if err == nil {
		p.Messages, err = collect(rows, scanMessage)
	}
	if err != nil {
		return Page{}, fmt.Errorf("list: %w", err)
	}
	if len(p.Messages) > limit {
		p.Messages = p.Messages[:limit]
		p.NextCursor = encodeCursor(p.Messages[limit-1].ID)
	}
	return p, nil
}

package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bridged/pdu"
)

// InboxMessage is a received SMS, its parts joined.
type InboxMessage struct {
	ID    int64
	Modem string
	From  string
	Text  string
	// Data is 8-bit user data (not text), joined.
	Data     []byte
	Encoding pdu.Encoding
	Class    *int
	Parts    int
	// Incomplete is true for a multipart message released after
	// Options.ReassemblyTimeout with parts missing; Missing lists them.
	Incomplete bool
	Missing    []int
	// SentAt is the service-centre time stamp of the first part.
	SentAt *time.Time
	// ReceivedAt is when the part that completed it was stored (or when it
	// was released incomplete).
	ReceivedAt time.Time
}

const inboxColumns = `id, modem, sender, body, data, encoding, class, parts, incomplete, missing, sent_at, received_at`

func scanInbox(r rowScanner) (*InboxMessage, error) {
	var (
		m        InboxMessage
		enc      string
		missing  string
		class    sql.NullInt64
		sentAt   sql.NullInt64
		received int64
	)
	if err := r.Scan(&m.ID, &m.Modem, &m.From, &m.Text, &m.Data, &enc, &class, &m.Parts, &m.Incomplete,
		&missing, &sentAt, &received); err != nil {
		return nil, err
	}
	m.Encoding, m.SentAt, m.ReceivedAt = pdu.Encoding(enc), timePtr(sentAt), fromNanos(received)
	if class.Valid {
		c := int(class.Int64)
		m.Class = &c
	}
	if missing != "" {
		for _, f := range strings.Split(missing, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("inbox %d: missing parts %q: %w", m.ID, missing, err)
			}
			m.Missing = append(m.Missing, n)
		}
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	return &m, nil
}

// GetInbox returns one received message, or ErrNotFound.
func (s *Store) GetInbox(ctx context.Context, id int64) (*InboxMessage, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	m, err := scanInbox(s.rdb.QueryRowContext(ctx, qGetInbox, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get inbox %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get inbox %d: %w", id, err)
	}
	return m, nil
}

// DeleteInbox removes one received message, or fails with ErrNotFound. Its
// raw parts are kept, so that a copy still on a modem is recognised as a
// duplicate rather than delivered again; Prune removes them once they are
// off the modem (Acked) for longer than the retention. No tombstone of the
// message is kept: the parts are what dedupe needs, and a deleted message
// is not shown again.
func (s *Store) DeleteInbox(ctx context.Context, id int64) error {
	return s.writeAs(ctx, "delete inbox", func(w *wtx) error {
		return w.execOne(fmt.Sprintf("inbox %d", id), qDeleteInbox, id)
	})
}

// InboxFilter selects received messages for ListInbox.
type InboxFilter struct {
	From string
	// Since keeps messages received at or after it.
	Since  time.Time
	Limit  int
	Cursor string
}

// InboxPage is one page of ListInbox, oldest first: a reader that keeps the
// last NextCursor (or the last id it saw) polls for new messages with it.
type InboxPage struct {
	Messages []*InboxMessage
	// NextCursor continues after the last message of this page. It is set
	// on every non-empty page, the last one included, so that a poller can
	// resume there; an empty page means nothing newer yet.
	NextCursor string
}

// ListInbox returns received messages matching f, oldest first.
func (s *Store) ListInbox(ctx context.Context, f InboxFilter) (InboxPage, error) {
	if s.closed.Load() {
		return InboxPage{}, ErrClosed
	}
	var after int64
	if f.Cursor != "" {
		id, err := decodeCursor(f.Cursor)
		if err != nil {
			return InboxPage{}, fmt.Errorf("list inbox: %w", err)
		}
		after = id
	}
	if !f.Since.IsZero() {
		var first sql.NullInt64
		err := s.rdb.QueryRowContext(ctx, qInboxSinceID, nanos(f.Since)).Scan(&first)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return InboxPage{}, fmt.Errorf("list inbox: %w", err)
		}
		if !first.Valid {
			return InboxPage{NextCursor: f.Cursor}, nil
		}
		// Ids grow in the order messages are stored, so "received since"
		// is "id from the first one received since".
		after = max(after, first.Int64-1)
	}
	limit := pageSize(f.Limit)
	var (
		rows *sql.Rows
		err  error
	)
	if f.From != "" {
		rows, err = s.rdb.QueryContext(ctx, qInboxFrom, f.From, after, limit)
	} else {
		rows, err = s.rdb.QueryContext(ctx, qInboxAll, after, limit)
	}
	var p InboxPage
	if err == nil {
		p.Messages, err = collect(rows, scanInbox)
	}
	if err != nil {
		return InboxPage{}, fmt.Errorf("list inbox: %w", err)
	}
	if n := len(p.Messages); n > 0 {
		p.NextCursor = encodeCursor(p.Messages[n-1].ID)
	} else {
		p.NextCursor = f.Cursor
	}
	return p, nil
}

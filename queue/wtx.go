package queue

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
)

// The writer's statements are not prepared up front: the driver keeps each
// one prepared after its first use (_stmt_cache_size in the writer's DSN),
// so a statement the daemon never runs costs no memory, and preparing needs
// no connection other than the writer's own, which a transaction holds.

// txConn is the writer's connection inside the transaction it began: the
// part of *sql.Tx's method set the writes use. The writer runs BEGIN
// IMMEDIATE, COMMIT and ROLLBACK itself, as the driver's Tx would, on a
// *sql.Conn rather than through a *sql.Tx, because database/sql gives each
// Rows of a transaction a goroutine that watches the transaction's context
// (Rows.awaitDone), and the writer reads rows a dozen times a message: the
// goroutine's start and the wake-up of an idle thread for it cost more
// than most of the queries. A Conn used with a context that is never done
// starts none.
type txConn struct {
	c *sql.Conn
	// n counts the statements run (Store.statements), for the
	// benchmarks' statements per message.
	n *atomic.Uint64
}

// The writer connection's synchronous settings (Store.synced).
const (
	syncUnknown = iota
	syncFull
	syncNormal
)

// begin takes the writer's connection and begins a write transaction on
// it; release hands the connection back to the pool, whatever became of
// the transaction.
func (s *Store) begin(full bool) (txConn, error) {
	c, err := s.wdb.Conn(context.Background())
	if err != nil {
		return txConn{}, fmt.Errorf("begin: %w", err)
	}
	tx := txConn{c, &s.statements}
	// Outside a transaction, where SQLite takes it. A connection the pool
	// opened anew has the DSN's FULL: more than synced may say, never less.
	want, pragma := syncFull, "PRAGMA synchronous = FULL"
	if !full {
		want, pragma = syncNormal, "PRAGMA synchronous = NORMAL"
	}
	err = func() error {
		if s.synced != want {
			s.synced = syncUnknown
			if _, err := tx.Exec(pragma); err != nil {
				return err
			}
			s.synced = want
		}
		// IMMEDIATE takes the write lock now, so that no statement of the
		// batch fails half-way with SQLITE_BUSY upgrading a read lock.
		_, err := tx.Exec("BEGIN IMMEDIATE")
		return err
	}()
	if err != nil {
		tx.release()
		return txConn{}, fmt.Errorf("begin: %w", err)
	}
	return tx, nil
}

// Commit commits the transaction. SQLite may leave it open when COMMIT
// fails (a full disk), so it is then rolled back, as the driver's Tx does:
// the next batch begins afresh either way.
func (tx txConn) Commit() error {
	if _, err := tx.Exec("COMMIT"); err != nil {
		tx.Exec("ROLLBACK")
		return err
	}
	return nil
}

// Rollback rolls the transaction back.
func (tx txConn) Rollback() error {
	_, err := tx.Exec("ROLLBACK")
	return err
}

func (tx txConn) release() { tx.c.Close() }

func (tx txConn) Exec(q string, args ...any) (sql.Result, error) {
	tx.n.Add(1)
	return tx.c.ExecContext(context.Background(), q, args...)
}

func (tx txConn) Query(q string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), q, args...)
}

func (tx txConn) QueryRow(q string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), q, args...)
}

func (tx txConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	tx.n.Add(1)
	return tx.c.QueryContext(ctx, q, args...)
}

func (tx txConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	tx.n.Add(1)
	return tx.c.QueryRowContext(ctx, q, args...)
}

// column runs a query of one column and returns its values in order.
func column[T any](w *wtx, q string, args ...any) ([]T, error) {
	rows, err := w.Query(q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (T, error) {
		var v T
		err := r.Scan(&v)
		return v, err
	})
}

// execOne runs a statement meant to change one row, what; when it changed
// none, the row is not there (or not in the state the statement needs):
// ErrNotFound.
func (w *wtx) execOne(what, q string, args ...any) error {
	res, err := w.Exec(q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// event appends a status change to the message's history and, in the same
// transaction, logs its message.status event, which is queued for every
// webhook endpoint. Callers change the message's row first: the event
// shows the message as it is after the change.
func (w *wtx) event(id int64, status Status, detail string) error {
	if status == StatusQueued {
		w.woke = true
	}
	if err := w.history(id, status, detail); err != nil {
		return err
	}
	return w.messageChanged(id)
}

// enqueued is event for a message Enqueue has just inserted: it holds the
// message whole, as Get would read it back, so the event is rendered
// without reading it (a third of an enqueue's cost).
func (w *wtx) enqueued(m *Message) error {
	w.woke = true
	if err := w.history(m.ID, StatusQueued, ""); err != nil {
		return err
	}
	shown := *m
	shown.Events = []Event{{Status: StatusQueued, At: w.now}}
	return w.logMessage(&shown)
}

// claimed is event for a message Claim has just updated: it holds the
// message with its parts as Get would read them, so only the history is
// read back for the event (two queries fewer per claim).
func (w *wtx) claimed(m *Message, detail string) error {
	shown := *m
	// Get's lease has no Duration (the claim's length is not stored).
	l := *m.Lease
	l.Duration = 0
	shown.Lease = &l
	return w.changed(&shown, StatusSending, detail)
}

// changed is event for a write that holds the message, with its parts,
// as Get would read it after the change: only the history is read back
// for the event, not the row and the parts.
func (w *wtx) changed(m *Message, status Status, detail string) error {
	if status == StatusQueued {
		w.woke = true
	}
	if err := w.history(m.ID, status, detail); err != nil {
		return err
	}
	events, err := readHistory(context.Background(), w, m.ID)
	if err != nil {
		return err
	}
	shown := *m
	shown.Events = events
	return w.logMessage(&shown)
}

// history appends a status change to the message's history, and notes it
// for the one log line per committed change (logCommitted).
func (w *wtx) history(id int64, status Status, detail string) error {
	if _, err := w.Exec(qInsertEvent, id, string(status), nanos(w.now), detail); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	w.changes = append(w.changes, statusChange{id, status, detail})
	return nil
}

// webhook queues payload, an event of type event, for every endpoint whose
// filter takes it.
func (w *wtx) webhook(event, about string, payload []byte) error {
	// One subject's deliveries go out in order: one message's status
	// changes, one modem's states.
	subject := sql.NullString{String: event + ":" + about, Valid: about != ""}
	for _, ep := range w.s.opts.WebhookEndpoints {
		if !ep.takes(event) {
			continue
		}
		var due int64
		if err := w.QueryRow(qInsertWebhook, ep.Name, event, string(payload), subject, int64(webhookBlocked), nanos(w.now)).Scan(&due); err != nil {
			return fmt.Errorf("queue webhook: %w", err)
		}
		// One that waits for an earlier event is the sender's to claim
		// when it records that one: no need to wake it.
		w.webhookDue = w.webhookDue || due != webhookBlocked
	}
	return nil
}

const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// savepoint runs fn under a savepoint of its own, so that fn's error
// (undone) rolls back only what fn wrote. err is the transaction's: the
// savepoint could not be set, rolled back to or released, and the
// transaction must be rolled back.
func (w *wtx) savepoint(name string, fn func() error) (undone, err error) {
	if _, err := w.Exec("SAVEPOINT " + name); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	if undone = fn(); undone != nil {
		if _, err := w.Exec("ROLLBACK TO " + name); err != nil {
			return undone, fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := w.Exec("RELEASE " + name); err != nil {
		return undone, fmt.Errorf("release savepoint: %w", err)
	}
	return undone, nil
}

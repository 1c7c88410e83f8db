package queue

import (
	"database/sql"
	"encoding/json"
	"fmt"
)

// The writer's statements are not prepared up front: the driver keeps each
// one prepared after its first use (_stmt_cache_size in the writer's DSN),
// so a statement the daemon never runs costs no memory, and preparing needs
// no connection other than the writer's own, which a transaction holds.
// exec, query and queryRow are the transaction's own methods under the
// names every write in the package uses.

func (w *wtx) exec(q string, args ...any) (sql.Result, error) { return w.Exec(q, args...) }

func (w *wtx) query(q string, args ...any) (*sql.Rows, error) { return w.Query(q, args...) }

func (w *wtx) queryRow(q string, args ...any) *sql.Row { return w.QueryRow(q, args...) }

// column runs a query of one column and returns its values in order.
func column[T any](w *wtx, q string, args ...any) ([]T, error) {
	rows, err := w.query(q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (T, error) {
		var v T
		err := r.Scan(&v)
		return v, err
	})
}

// changed runs an UPDATE or DELETE and reports whether it changed a row.
func (w *wtx) changed(q string, args ...any) (bool, error) {
	res, err := w.exec(q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// event appends a status change to the message's history and, in the same
// transaction, queues it for every webhook endpoint.
func (w *wtx) event(id int64, status Status, detail string) error {
	if status == StatusQueued {
		w.woke = true
	}
	if _, err := w.exec(qInsertEvent, id, string(status), nanos(w.now), detail); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	if len(w.s.opts.WebhookEndpoints) == 0 {
		return nil
	}
	payload, err := json.Marshal(struct {
		Type      string `json:"type"`
		MessageID int64  `json:"message_id"`
		Status    Status `json:"status"`
		At        string `json:"at"`
		Detail    string `json:"detail,omitempty"`
	}{EventMessageStatus, id, status, w.now.Format(timeFormat), detail})
	if err != nil {
		return err
	}
	return w.webhook(EventMessageStatus, payload)
}

func (w *wtx) webhook(event string, payload []byte) error {
	for _, ep := range w.s.opts.WebhookEndpoints {
		if _, err := w.exec(qInsertWebhook, ep, event, string(payload), nanos(w.now), nanos(w.now), nanos(w.now)); err != nil {
			return fmt.Errorf("queue webhook: %w", err)
		}
	}
	return nil
}

const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

package queue

import (
	"encoding/json"
	"fmt"
)

// The writer's statements are not prepared up front: the driver keeps each
// one prepared after its first use (_stmt_cache_size in the writer's DSN),
// so a statement the daemon never runs costs no memory, and preparing needs
// no connection other than the writer's own, which a transaction holds.

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
// transaction, queues it for every webhook endpoint.
func (w *wtx) event(id int64, status Status, detail string) error {
	if status == StatusQueued {
		w.woke = true
	}
	if _, err := w.Exec(qInsertEvent, id, string(status), nanos(w.now), detail); err != nil {
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

// webhook queues payload, an event of type event, for every endpoint whose
// filter takes it.
func (w *wtx) webhook(event string, payload []byte) error {
	subject := webhookSubject(event, payload)
	for _, ep := range w.s.opts.WebhookEndpoints {
		if !ep.takes(event) {
			continue
		}
		due, err := w.webhookDueAt(ep.Name, subject)
		if err != nil {
			return fmt.Errorf("queue webhook: %w", err)
		}
		if _, err := w.Exec(qInsertWebhook, ep.Name, event, string(payload), subject, due, nanos(w.now), nanos(w.now)); err != nil {
			return fmt.Errorf("queue webhook: %w", err)
		}
		// One that waits for an earlier event is the sender's to claim
		// when it records that one: no need to wake it.
		w.webhookDue = w.webhookDue || due != webhookBlocked
	}
	return nil
}

const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

package queue

import (
	"database/sql"
	"encoding/json"
	"fmt"
)

// prepare prepares preparedQueries on the writer's connection: parsing and
// planning once saves SQLite that work on each of thousands of writes a
// second.
func (s *Store) prepare() error {
	for _, q := range preparedQueries {
		st, err := s.wdb.Prepare(s.d.rebind(q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.stmts[q] = st
	}
	return nil
}

func (w *wtx) exec(q string, args ...any) (sql.Result, error) {
	if st, ok := w.s.stmts[q]; ok {
		return w.Stmt(st).Exec(args...)
	}
	return w.Exec(w.s.d.rebind(q), args...)
}

func (w *wtx) query(q string, args ...any) (*sql.Rows, error) {
	if st, ok := w.s.stmts[q]; ok {
		return w.Stmt(st).Query(args...)
	}
	return w.Query(w.s.d.rebind(q), args...)
}

func (w *wtx) queryRow(q string, args ...any) *sql.Row {
	if st, ok := w.s.stmts[q]; ok {
		return w.Stmt(st).QueryRow(args...)
	}
	return w.QueryRow(w.s.d.rebind(q), args...)
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

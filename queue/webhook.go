package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WebhookState is where a webhook delivery is.
type WebhookState string

// Webhook delivery states. A claimed delivery stays pending, with its next
// attempt pushed out by the claim's lease, so that a crashed sender's claim
// comes due again by itself.
const (
	WebhookPending   WebhookState = "pending"
	WebhookDelivered WebhookState = "delivered"
	WebhookDead      WebhookState = "dead"
)

// WebhookDelivery is one event to POST to one endpoint.
type WebhookDelivery struct {
	ID       int64
	Endpoint string
	// Event is EventMessageStatus or EventMessageReceived; Payload is the
	// JSON body, which names the event and carries its time.
	Event         string
	Payload       []byte
	State         WebhookState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const webhookColumns = `id, endpoint, event, payload, state, attempts, next_attempt_at, last_error, created_at, updated_at`

func scanWebhook(r rowScanner) (*WebhookDelivery, error) {
	var (
		d                     WebhookDelivery
		payload, state        string
		next, created, update int64
	)
	if err := r.Scan(&d.ID, &d.Endpoint, &d.Event, &payload, &state, &d.Attempts, &next, &d.LastError, &created, &update); err != nil {
		return nil, err
	}
	d.Payload, d.State = []byte(payload), WebhookState(state)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(update)
	return &d, nil
}

// ClaimWebhooks returns up to limit due deliveries for endpoint, oldest due
// first, each counted as an attempt and held for lease: unless
// WebhookDelivered or WebhookFailed is called within it, the delivery comes
// due again.
func (s *Store) ClaimWebhooks(ctx context.Context, endpoint string, limit int, lease time.Duration) ([]*WebhookDelivery, error) {
	if limit <= 0 {
		limit = 1
	}
	if lease <= 0 {
		return nil, fmt.Errorf("claim webhooks: lease is required: %w", ErrInvalid)
	}
	var out []*WebhookDelivery
	err := s.writeAs(ctx, "claim webhooks", func(w *wtx) error {
		out = nil
		rows, err := w.Query(qWebhookDue, endpoint, nanos(w.now), limit)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanWebhook); err != nil {
			return err
		}
		for _, d := range out {
			d.Attempts++
			d.NextAttemptAt, d.UpdatedAt = w.now.Add(lease), w.now
			if _, err := w.Exec(qWebhookClaim, nanos(d.NextAttemptAt), nanos(w.now), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WebhookDelivered marks a delivery done. ErrNotFound if it is not pending.
func (s *Store) WebhookDelivered(ctx context.Context, id int64) error {
	return s.writeAs(ctx, "webhook delivered", func(w *wtx) error {
		return w.execOne(fmt.Sprintf("webhook delivery %d pending", id), qWebhookDone, nanos(w.now), id)
	})
}

// WebhookFailed records a failed attempt: the delivery comes due again
// after an exponential backoff with jitter, or, once it has had
// Options.WebhookAttempts attempts, moves to the dead letters (dead true).
func (s *Store) WebhookFailed(ctx context.Context, id int64, reason string) (dead bool, err error) {
	err = s.writeAs(ctx, "webhook failed", func(w *wtx) error {
		d, err := scanWebhook(w.QueryRow(qWebhookGet, id))
		if errors.Is(err, sql.ErrNoRows) || err == nil && d.State != WebhookPending {
			return fmt.Errorf("webhook delivery %d pending: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if d.Attempts >= w.s.opts.WebhookAttempts {
			dead = true
			_, err = w.Exec(qWebhookDead, reason, nanos(w.now), id)
			return err
		}
		dead = false
		next := w.now.Add(w.s.backoff(max(d.Attempts, 1)))
		_, err = w.Exec(qWebhookRetry, nanos(next), reason, nanos(w.now), id)
		return err
	})
	return dead && err == nil, err
}

// RequeueWebhook gives a dead delivery a fresh set of attempts, due now.
func (s *Store) RequeueWebhook(ctx context.Context, id int64) error {
	return s.writeAs(ctx, "requeue webhook", func(w *wtx) error {
		return w.execOne(fmt.Sprintf("dead webhook delivery %d", id), qWebhookRevive, nanos(w.now), nanos(w.now), id)
	})
}

// ListWebhooks returns deliveries in state, oldest first, after the id in
// cursor (a previous page's last id, "" for the start).
func (s *Store) ListWebhooks(ctx context.Context, state WebhookState, limit int, cursor string) ([]*WebhookDelivery, string, error) {
	if s.closed.Load() {
		return nil, "", ErrClosed
	}
	var after int64
	if cursor != "" {
		id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list webhooks: %w", err)
		}
		after = id
	}
	limit = pageSize(limit)
	rows, err := s.rdb.QueryContext(ctx, qWebhookByState, string(state), after, limit+1)
	var out []*WebhookDelivery
	if err == nil {
		out, err = collect(rows, scanWebhook)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[limit-1].ID)
	}
	return out, next, nil
}

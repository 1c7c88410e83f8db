package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"bridged/queue"
)

// Webhooks is what the API needs of the webhook outbox; *queue.Store is
// one.
type Webhooks interface {
	ListWebhooks(ctx context.Context, state queue.WebhookState, limit int, cursor string) ([]*queue.WebhookDelivery, string, error)
	RequeueWebhook(ctx context.Context, id int64) error
}

// deliveryView is one webhook delivery: where it is, never its payload
// (GET /v1/messages and /v1/inbox show that) nor anything of the secret.
type deliveryView struct {
	ID       int64              `json:"id"`
	Endpoint string             `json:"endpoint"`
	Event    string             `json:"event"`
	State    queue.WebhookState `json:"state"`
	Attempts int                `json:"attempts"`
	// NextAttemptAt is set only while the delivery is pending, and not
	// while it waits for an earlier event of its message.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func viewDelivery(d *queue.WebhookDelivery) deliveryView {
	v := deliveryView{ID: d.ID, Endpoint: d.Endpoint, Event: d.Event, State: d.State, Attempts: d.Attempts,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.State == queue.WebhookPending && !d.NextAttemptAt.IsZero() {
		v.NextAttemptAt = &d.NextAttemptAt
	}
	return v
}

// listDeliveries pages one state's deliveries oldest first; the state is
// dead unless given, as dead letters are what a person comes to look at.
func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "state", "limit", "cursor")
	if err != nil {
		return err
	}
	state := queue.WebhookState(q.Get("state"))
	switch state {
	case "":
		state = queue.WebhookDead
	case queue.WebhookDead, queue.WebhookPending, queue.WebhookDelivered:
	default:
		return fieldError("state", "%q is not dead, pending or delivered", state)
	}
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	ds, next, err := h.webhooks.ListWebhooks(r.Context(), state, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	views := make([]deliveryView, 0, len(ds))
	for _, d := range ds {
		views = append(views, viewDelivery(d))
	}
	writeJSON(w, http.StatusOK, deliveriesPage{Deliveries: views, NextCursor: next})
	return nil
}

// retryDelivery makes a dead delivery pending again, due now: 202, as the
// sender takes it from there; 409 not_dead for one that is pending or
// delivered (toError).
func (h *Handler) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook delivery")
	if err == nil {
		err = h.webhooks.RequeueWebhook(context.WithoutCancel(r.Context()), id)
	}
	if errors.Is(err, queue.ErrNotFound) {
		return notFound(err, "webhook delivery", id)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, retriedView{ID: id, State: queue.WebhookPending})
	return nil
}

// deliveriesPage is one page of deliveries; next_cursor is "" on the last.
type deliveriesPage struct {
	Deliveries []deliveryView `json:"deliveries"`
	NextCursor string         `json:"next_cursor"`
}

// retriedView answers a retry.
type retriedView struct {
	ID    int64              `json:"id"`
	State queue.WebhookState `json:"state"`
}

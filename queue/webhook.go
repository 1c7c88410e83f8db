package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// WebhookEndpoint is one webhook receiver as the outbox sees it.
type WebhookEndpoint struct {
	// Name is what its deliveries are queued under.
	Name string
	// Events are the event types it takes; none means every type.
	Events []string
	// MaxAttempts is how many attempts a delivery gets before it is dead
	// (0: Options.WebhookAttempts); MaxBackoff caps the delay between two
	// (0: Options.BackoffMax), a Retry-After included.
	MaxAttempts int
	MaxBackoff  time.Duration
}

func (e WebhookEndpoint) takes(event string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, event)
}

func (s *Store) webhookEndpoint(name string) WebhookEndpoint {
	ep := WebhookEndpoint{Name: name}
	for _, e := range s.opts.WebhookEndpoints {
		if e.Name == name {
			ep = e
		}
	}
	orDefault(&ep.MaxAttempts, s.opts.WebhookAttempts)
	orDefault(&ep.MaxBackoff, s.opts.BackoffMax)
	return ep
}

// webhookBlocked is the next_attempt_at of a delivery waiting for an
// earlier one of its subject: never due until qWebhookUnblock.
const webhookBlocked = math.MaxInt64

// finishWebhook runs q, which ends delivery id's pending state and
// returns its endpoint and subject, and makes due the next delivery of
// that subject if one waits for it. ErrNotFound (wrapped) when id was not
// pending.
func (w *wtx) finishWebhook(id int64, q string, args ...any) error {
	var endpoint string
	var subject sql.NullString
	err := w.QueryRow(q, args...).Scan(&endpoint, &subject)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("webhook delivery %d pending: %w", id, ErrNotFound)
	}
	if err != nil || !subject.Valid {
		return err
	}
	_, err = w.Exec(qWebhookUnblock, nanos(w.now), nanos(w.now), endpoint, subject, int64(webhookBlocked))
	return err
}

// SubscribeWebhooks returns a channel that receives a value after each
// commit that queued a due webhook delivery or made one due (a dead letter
// replayed, or a delivery dead, which frees the next of its subject; one
// delivered frees the next in the sender's own round, which claims it or
// reports it in Next), and a
// function that ends the subscription; values coalesce as Subscribe's do.
// A sender subscribes before its first claim, so that a delivery queued
// while it claims leaves a value waiting, and sleeps on it (and on its
// last round's Next) instead of polling.
func (s *Store) SubscribeWebhooks() (<-chan struct{}, func()) { return s.webhooksDue.subscribe() }

// WebhookSeq counts the commits that SubscribeWebhooks signals. A sender
// that compares it with its last round's WebhookRound.Seq knows, without
// reading the database, whether a delivery may have come due since that
// round (for any endpoint: it is one count) or none has: only such a
// commit makes a delivery due before the round's Next.
func (s *Store) WebhookSeq() uint64 { return s.webhookSeq.Load() }

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
	Event    string
	Payload  []byte
	State    WebhookState
	Attempts int
	// NextAttemptAt is zero while the delivery waits for an earlier one
	// of its subject.
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
	d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(update)
	if next != webhookBlocked {
		d.NextAttemptAt = fromNanos(next)
	}
	return &d, nil
}

// WebhookOutcome is how one attempt at a claimed delivery went.
type WebhookOutcome struct {
	ID int64
	// Failure is why it failed ("HTTP 500"); "" means delivered.
	Failure string
	// RetryAfter is the receiver's Retry-After, if it gave one.
	RetryAfter time.Duration
}

// WebhookSettled is what recording an outcome did.
type WebhookSettled struct {
	// Err is ErrNotFound (wrapped) when the delivery was not pending: it
	// was recorded already, or its lease ran out and it went again.
	Err error
	// Dead: the failure was its last attempt. Next is when a failed
	// delivery comes due again.
	Dead bool
	Next time.Time
}

// WebhookRound is what SettleWebhooks did.
type WebhookRound struct {
	// Settled has one entry per outcome, in order.
	Settled []WebhookSettled
	Claimed []*WebhookDelivery
	// Next is when the endpoint's next delivery not claimed falls due,
	// read in the same transaction; zero when none is pending (or
	// limit was 0: not read).
	Next time.Time
	// Seq is WebhookSeq as the round's transaction saw it: every commit
	// it counts is in what the round read (some later ones may be too).
	Seq uint64
}

// SettleWebhooks records outcomes of claimed deliveries and then claims up
// to limit due deliveries for endpoint, in one write: a sender that settles
// what came back and takes what it now has room for costs the store one
// commit per round, not two per delivery. Claimed deliveries come oldest
// due first, each counted as an attempt and held for lease: unless its
// outcome is settled within it, a delivery comes due again. A failure comes
// due again after an exponential backoff with jitter, capped by its
// endpoint's MaxBackoff, or after RetryAfter when that is longer, within
// the same cap; after the endpoint's MaxAttempts attempts it is dead. A
// delivery is not due while an earlier one of the same subject (one
// message's status changes) is pending, claimed or not, so that one
// subject's deliveries are sent one after the other, in order.
func (s *Store) SettleWebhooks(ctx context.Context, endpoint string, outcomes []WebhookOutcome, limit int, lease time.Duration) (WebhookRound, error) {
	if limit > 0 && lease <= 0 {
		return WebhookRound{}, fmt.Errorf("claim webhooks: lease is required: %w", ErrInvalid)
	}
	// Set by the write; read only once it returned nil, since a write
	// whose ctx ended may still be running.
	var r WebhookRound
	err := s.writeRelaxed(ctx, "settle webhooks", func(w *wtx) error {
		// Counted only by this goroutine, after each commit: every
		// commit counted so far is visible to this transaction.
		r = WebhookRound{Settled: make([]WebhookSettled, len(outcomes)), Seq: s.webhookSeq.Load()}
		for i, o := range outcomes {
			if err := w.settleWebhook(o, &r.Settled[i]); err != nil {
				return err
			}
		}
		if limit <= 0 {
			return nil
		}
		var err error
		if r.Claimed, err = w.claimWebhooks(endpoint, limit, lease); err != nil {
			return err
		}
		var next int64
		switch err := w.QueryRow(qWebhookNext, endpoint, int64(webhookBlocked)).Scan(&next); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			r.Next = fromNanos(next)
		}
		return nil
	})
	if err != nil {
		return WebhookRound{}, err
	}
	return r, nil
}

func (w *wtx) claimWebhooks(endpoint string, limit int, lease time.Duration) ([]*WebhookDelivery, error) {
	rows, err := w.Query(qWebhookDue, endpoint, nanos(w.now), limit)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, err
	}
	for _, d := range out {
		d.Attempts++
		d.NextAttemptAt, d.UpdatedAt = w.now.Add(lease), w.now
		if _, err := w.Exec(qWebhookClaim, nanos(d.NextAttemptAt), nanos(w.now), d.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// settleWebhook records one outcome into st; its error is the database's,
// which ends the write.
func (w *wtx) settleWebhook(o WebhookOutcome, st *WebhookSettled) error {
	notPending := func() error {
		st.Err = fmt.Errorf("webhook delivery %d pending: %w", o.ID, ErrNotFound)
		return nil
	}
	if o.Failure == "" {
		err := w.finishWebhook(o.ID, qWebhookDone, nanos(w.now), o.ID)
		if errors.Is(err, ErrNotFound) {
			return notPending()
		}
		return err
	}
	d, err := scanWebhook(w.QueryRow(qWebhookGet, o.ID))
	if errors.Is(err, sql.ErrNoRows) || err == nil && d.State != WebhookPending {
		return notPending()
	}
	if err != nil {
		return err
	}
	ep := w.s.webhookEndpoint(d.Endpoint)
	if d.Attempts >= ep.MaxAttempts {
		st.Dead = true
		// The delivery of its subject that waited on it is due.
		w.webhookDue = true
		return w.finishWebhook(o.ID, qWebhookDead, o.Failure, nanos(w.now), o.ID)
	}
	delay := w.s.backoff(max(d.Attempts, 1))
	if delay > ep.MaxBackoff {
		delay = ep.MaxBackoff/2 + w.s.opts.Jitter(ep.MaxBackoff-ep.MaxBackoff/2)
	}
	delay = max(delay, min(o.RetryAfter, ep.MaxBackoff))
	st.Next = w.now.Add(delay)
	_, err = w.Exec(qWebhookRetry, nanos(st.Next), o.Failure, nanos(w.now), o.ID)
	return err
}

// ReleaseWebhooks hands back claimed deliveries that were not attempted
// after all (the sender is stopping): due now, the claim's attempt not
// counted, instead of waiting for the lease to run out.
func (s *Store) ReleaseWebhooks(ctx context.Context, ids []int64) error {
	return s.writeRelaxed(ctx, "release webhooks", func(w *wtx) error {
		for _, id := range ids {
			if _, err := w.Exec(qWebhookRelease, nanos(w.now), nanos(w.now), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrNotDead: RequeueWebhook was given a delivery that is pending or
// delivered.
var ErrNotDead = errors.New("webhook delivery is not dead")

// RequeueWebhook gives a dead delivery a fresh set of attempts, due now:
// ErrNotFound when there is no such delivery, ErrNotDead when it is not
// dead.
func (s *Store) RequeueWebhook(ctx context.Context, id int64) error {
	return s.writeAs(ctx, "requeue webhook", func(w *wtx) error {
		res, err := w.Exec(qWebhookRevive, nanos(w.now), nanos(w.now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			w.webhookDue = err == nil
			return err
		}
		d, err := scanWebhook(w.QueryRow(qWebhookGet, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("webhook delivery %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("webhook delivery %d is %s: %w", id, d.State, ErrNotDead)
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

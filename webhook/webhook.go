// Package webhook sends the store's webhook outbox: every delivery queued
// in the same transaction as the change it reports is POSTed, signed, to
// its endpoint until the endpoint answers 2xx or the delivery is dead.
//
// Each endpoint has its own goroutine and at most MaxInFlight requests at a
// time; it claims only what it can send now, so memory is bounded by
// MaxInFlight payloads per endpoint whatever the backlog, which stays on
// disk. Each round is one store write (Store.SettleWebhooks): the answers
// that came back are recorded and what there is room for is claimed. It
// sleeps until a commit queues a due delivery (Store.SubscribeWebhooks), a
// request answers or the next retry falls due: an idle daemon sends nothing
// and polls nothing. What the last round read and Store.WebhookSeq tell it
// when nothing can be due, so it never reads the database outside a round:
// a read of its own would open a second read connection when it meets
// another (0.1-0.2 MB of SQLite memory, kept by the idle daemon). A slow,
// hanging or dead endpoint holds only its own goroutine: sending and
// receiving SMS never wait for a webhook.
//
// Order: the store hands out one subject's deliveries (one message's status
// changes) one at a time, in order, so concurrency is across messages only.
// Delivery is at least once: a receiver drops repeats by the event id.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"bridged/queue"
)

// Defaults for Sender fields left zero.
const (
	DefaultMaxInFlight = 4
	DefaultTimeout     = 10 * time.Second
	// MaxResponseBody is how much of a response is read (to reuse the
	// connection); the rest is dropped with the connection.
	MaxResponseBody = 4 << 10
)

// Store is what the sender needs of the outbox (a *queue.Store).
type Store interface {
	SubscribeWebhooks() (<-chan struct{}, func())
	WebhookSeq() uint64
	SettleWebhooks(ctx context.Context, endpoint string, outcomes []queue.WebhookOutcome, limit int, lease time.Duration) (queue.WebhookRound, error)
	ReleaseWebhooks(ctx context.Context, ids []int64) error
}

// Endpoint is one receiver.
type Endpoint struct {
	// Name is the outbox's name for it (queue.WebhookEndpoint.Name).
	Name string
	URL  string
	// Secrets sign each request, one v1= each (Signature).
	Secrets []string
	// Timeout bounds one request, from connecting to the end of the
	// response headers and the part of the body read. 0: DefaultTimeout.
	Timeout time.Duration
}

// Sender delivers the outbox to its endpoints.
type Sender struct {
	// MaxInFlight bounds each endpoint's concurrent requests.
	MaxInFlight int
	// Now is the clock of the signature's time; default time.Now.
	Now func() time.Time

	store     Store
	endpoints []Endpoint
	client    *http.Client
	log       *slog.Logger
}

// Results counted in bridged_webhook_deliveries_total{result}.
var (
	deliveredTotal = metrics.GetOrCreateCounter(`bridged_webhook_deliveries_total{result="delivered"}`)
	failedTotal    = metrics.GetOrCreateCounter(`bridged_webhook_deliveries_total{result="failed"}`)
	deadTotal      = metrics.GetOrCreateCounter(`bridged_webhook_deliveries_total{result="dead"}`)
)

// New returns a sender of store's outbox to endpoints; Run starts it.
func New(store Store, endpoints []Endpoint, log *slog.Logger) *Sender {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = DefaultMaxInFlight
	return &Sender{
		store: store, endpoints: endpoints, log: log,
		client: &http.Client{
			Transport: transport,
			// A redirect is an answer, not 2xx: it is not followed, so a
			// signed event goes only where it was configured to go.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Run delivers until ctx ends, then waits for the requests in flight to
// end (they are cancelled) and returns nil.
func (s *Sender) Run(ctx context.Context) error {
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = DefaultMaxInFlight
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	loops := make([]*endpointLoop, len(s.endpoints))
	for i, ep := range s.endpoints {
		if ep.Timeout <= 0 {
			ep.Timeout = DefaultTimeout
		}
		loops[i] = &endpointLoop{s: s, ep: ep, log: s.log.With("webhook", ep.Name)}
	}
	if len(loops) > 0 {
		// The last runs on this goroutine, which would otherwise only
		// wait: one stack fewer for the idle daemon to keep.
		done := make(chan struct{})
		for _, e := range loops[:len(loops)-1] {
			go func() {
				defer func() { done <- struct{}{} }()
				e.run(ctx)
			}()
		}
		loops[len(loops)-1].run(ctx)
		for range loops[:len(loops)-1] {
			<-done
		}
	}
	s.client.CloseIdleConnections()
	return nil
}

// endpointLoop is one endpoint's goroutine and the requests it started.
type endpointLoop struct {
	s   *Sender
	ep  Endpoint
	log *slog.Logger
	// failing is set by the loop's goroutine while the endpoint's last
	// attempt failed, so that a down endpoint is logged once, not per
	// event.
	failing bool
	// seq and next are the Seq and Next of the last round that claimed
	// (read, once one has); owned by the loop's goroutine.
	seq  uint64
	next time.Time
	read bool
}

// result is what one request's goroutine reports to the loop.
type result struct {
	d          *queue.WebhookDelivery
	err        error // nil: delivered
	retryAfter time.Duration
	// stopped: the request was cut short by the sender stopping, not by
	// the endpoint.
	stopped bool
}

// leaseMargin is how much longer than its request a claim lasts: enough
// to record the answer, and short, since a delivery in flight when the
// process died waits that long after a restart.
const leaseMargin = 5 * time.Second

// storeRetry is how long the loop waits after the store failed it.
const storeRetry = 5 * time.Second

func (e *endpointLoop) run(ctx context.Context) {
	results := make(chan result, e.s.MaxInFlight)
	inFlight := 0
	var answered []result // back from their requests, not yet recorded
	timer := time.NewTimer(0)
	defer timer.Stop()
	// Subscribed before the first claim: a delivery queued after a claim's
	// transaction leaves a value waiting.
	queued, unsubscribe := e.s.store.SubscribeWebhooks()
	defer unsubscribe()
	for {
		wait, err := e.settle(ctx, answered, &inFlight, results)
		answered = nil
		if err != nil && ctx.Err() == nil {
			// What was answered is not recorded: its lease brings it
			// back, and it is sent again (at least once).
			e.log.Warn("settle webhook deliveries", "err", err)
			wait = storeRetry
		}
		if ctx.Err() != nil {
			e.stop(inFlight, results)
			return
		}
		timer.Stop()
		var due <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-ctx.Done():
			e.stop(inFlight, results)
			return
		case r := <-results:
			answered = e.gather(ctx, r, inFlight, results)
			inFlight -= len(answered)
		case <-queued:
			// The commit that queued it woke the dispatcher too: its
			// claim goes first, and more events join this round.
			e.pause(ctx, queuedDelay)
		case <-due:
		}
	}
}

// queuedDelay is how long the sender lets a commit's other work go
// first: a message's send is not delayed by the webhook of its queued
// event, and what that commit and the next few queued goes in one round.
const queuedDelay = 5 * time.Millisecond

func (e *endpointLoop) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// gatherFor is how long an answer waits for the other requests in flight
// to answer too, so that they share one store write (one fsync) instead of
// one each: short against a request's own time, and a bound on what it
// adds to an event's delay.
const gatherFor = 2 * time.Millisecond

// gather returns first and the answers that come within gatherFor of it,
// of the inFlight requests.
func (e *endpointLoop) gather(ctx context.Context, first result, inFlight int, results <-chan result) []result {
	answered := []result{first}
	if len(answered) == inFlight {
		return answered
	}
	t := time.NewTimer(gatherFor)
	defer t.Stop()
	for len(answered) < inFlight {
		select {
		case r := <-results:
			answered = append(answered, r)
		case <-t.C:
			return answered
		case <-ctx.Done():
			return answered
		}
	}
	return answered
}

// settle records the answered requests and starts one for every due
// delivery there is room for, one store write a round, and returns how
// long to sleep before looking again: -1 for until woken (nothing pending,
// or no free slot). A round with nothing to record writes only when a
// delivery may be due (untilDue): a value from SubscribeWebhooks may be
// left over from a commit whose delivery an earlier round claimed.
func (e *endpointLoop) settle(ctx context.Context, answered []result, inFlight *int, results chan<- result) (time.Duration, error) {
	for {
		free := e.s.MaxInFlight - *inFlight
		if len(answered) == 0 {
			if free <= 0 {
				return -1, nil
			}
			if wait := e.untilDue(); wait != 0 {
				return wait, nil
			}
		}
		// The lease outlasts the request and its recording: a claim
		// that runs out means this process died with it in flight.
		round, err := e.record(ctx, answered, free, e.ep.Timeout+leaseMargin)
		if err != nil {
			return 0, err
		}
		answered = nil
		if free > 0 {
			e.seq, e.next, e.read = round.Seq, round.Next, true
		}
		for _, d := range round.Claimed {
			*inFlight++
			go func() { results <- e.post(ctx, d) }()
		}
		if free > 0 && len(round.Claimed) < free {
			// All that was due is claimed: the round read when the
			// next falls due.
			if round.Next.IsZero() {
				return -1, nil
			}
			return max(time.Until(round.Next), 0), nil
		}
	}
}

// untilDue returns how long until the endpoint's next delivery may be
// due: 0 for now (a round finds out), -1 for none pending. Before the
// first round it does not know: a delivery left pending at the last stop
// or crash is due now.
func (e *endpointLoop) untilDue() time.Duration {
	if !e.read || e.s.store.WebhookSeq() != e.seq {
		return 0
	}
	if e.next.IsZero() {
		return -1
	}
	return max(time.Until(e.next), 0)
}

// record writes the outcomes of answered requests and claims up to limit
// deliveries, in one write, and counts and logs what was recorded.
func (e *endpointLoop) record(ctx context.Context, answered []result, limit int, lease time.Duration) (queue.WebhookRound, error) {
	var outcomes []queue.WebhookOutcome
	var recorded []result
	for _, r := range answered {
		if r.stopped {
			continue // the sender is stopping: stop hands it back
		}
		o := queue.WebhookOutcome{ID: r.d.ID, RetryAfter: r.retryAfter}
		if r.err != nil {
			o.Failure = r.err.Error()
		}
		outcomes, recorded = append(outcomes, o), append(recorded, r)
	}
	if len(outcomes) == 0 && limit <= 0 {
		return queue.WebhookRound{}, nil
	}
	round, err := e.s.store.SettleWebhooks(ctx, e.ep.Name, outcomes, limit, lease)
	if err != nil {
		return queue.WebhookRound{}, err
	}
	for i, st := range round.Settled {
		e.note(recorded[i], st)
	}
	return round, nil
}

// note counts and logs one recorded outcome: a down endpoint is logged
// when it starts failing and when it answers again, not at each event.
func (e *endpointLoop) note(r result, st queue.WebhookSettled) {
	switch {
	case st.Err != nil:
		// Its lease ran out first: it went again meanwhile.
		e.log.Warn("record webhook delivery", "delivery", r.d.ID, "err", st.Err)
	case r.err == nil:
		deliveredTotal.Inc()
		if e.failing {
			e.failing = false
			e.log.Info("webhook endpoint answers again")
		}
	case st.Dead:
		deadTotal.Inc()
		e.log.Warn("webhook delivery dead", "delivery", r.d.ID, "event", r.d.Event, "attempts", r.d.Attempts, "err", r.err)
	default:
		failedTotal.Inc()
		if !e.failing {
			e.failing = true
			e.log.Warn("webhook delivery failed, retrying", "delivery", r.d.ID, "attempt", r.d.Attempts, "next_attempt_at", st.Next, "err", r.err)
		}
	}
}

// stop waits for the requests in flight (ctx ended, so they end at once),
// records those that finished and hands back those that did not, due again
// now rather than when their lease runs out.
func (e *endpointLoop) stop(inFlight int, results <-chan result) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var answered []result
	var unfinished []int64
	for ; inFlight > 0; inFlight-- {
		r := <-results
		answered = append(answered, r)
		if r.stopped {
			unfinished = append(unfinished, r.d.ID)
		}
	}
	if _, err := e.record(ctx, answered, 0, 0); err != nil && !errors.Is(err, queue.ErrClosed) {
		e.log.Warn("record webhook deliveries", "err", err)
	}
	if len(unfinished) == 0 {
		return
	}
	if err := e.s.store.ReleaseWebhooks(ctx, unfinished); err != nil && !errors.Is(err, queue.ErrClosed) {
		e.log.Warn("release webhook deliveries", "err", err)
	}
}

// post sends one delivery and says how it went.
func (e *endpointLoop) post(ctx context.Context, d *queue.WebhookDelivery) result {
	rctx, cancel := context.WithTimeout(ctx, e.ep.Timeout)
	defer cancel()
	status, retryAfter, err := e.send(rctx, d)
	r := result{d: d, retryAfter: retryAfter}
	switch {
	case ctx.Err() != nil:
		r.stopped = true
	case err != nil && rctx.Err() != nil:
		r.err = fmt.Errorf("no answer within %v", e.ep.Timeout)
	case err != nil:
		r.err = err
	case status < 200 || status > 299:
		r.err = fmt.Errorf("HTTP %d", status)
	}
	return r
}

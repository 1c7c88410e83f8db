// Package dispatch moves messages between the queue and the modems: one
// worker per modem claims due messages and sends them part by part, and one
// receiver per modem stores what the modem hands over before letting it
// delete it.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"

	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

// Store is what the dispatcher needs of the queue (*queue.Store).
type Store interface {
	Claim(ctx context.Context, req queue.ClaimRequest) ([]*queue.Message, error)
	PartSent(ctx context.Context, l queue.Lease, seq, ref int) error
	Retry(ctx context.Context, l queue.Lease, e queue.Error) error
	Release(ctx context.Context, l queue.Lease) error
	Fail(ctx context.Context, l queue.Lease, e queue.Error) error
	Interrupted(ctx context.Context, l queue.Lease, why string) error
	Receive(ctx context.Context, in queue.Incoming) (queue.Received, error)
	Report(ctx context.Context, r queue.Report) (queue.Reported, error)
	Expire(ctx context.Context) (int, error)
	ReleaseIncomplete(ctx context.Context) ([]*queue.InboxMessage, error)
	NextDue(ctx context.Context, req queue.ClaimRequest) (time.Time, bool, error)
	NextDeadline(ctx context.Context) (time.Time, bool, error)
	Subscribe() (<-chan struct{}, func())
}

// Modem is what the dispatcher needs of a modem (*modem.Modem).
type Modem interface {
	ID() string
	Send(ctx context.Context, part pdu.Part) (int, error)
	Status() modem.Status
	Changed() <-chan struct{}
	Inbound() <-chan *modem.Inbound
}

// Route says which recipients a modem prefers and how fast it may send.
//
// Which modem may send what is decided by one rule (queue.ClaimRequest): a
// modem is allowed to send a message when one of its prefixes matches the
// recipient, when it has no prefixes, or when no modem that can send now
// has a matching prefix. A message routed to a modem that can send now is
// left to it, except that after a transient failure there any other
// allowed modem that can send now takes it. A modem "can send now" when it
// is ready and not waiting for its rate limit.
type Route struct {
	// Prefixes are recipient prefixes ("+44", "+8613") this modem sends
	// to first; other modems take them only when no modem with a matching
	// route can send now, or after a transient failure on it. A modem
	// without prefixes sends anything.
	Prefixes []string
	// PerMinute caps parts sent per minute; 0 is no cap. A modem waiting
	// for its cap claims nothing and holds no route back, so that an idle
	// modem allowed to send the waiting messages sends them.
	PerMinute int
}

// Options tune a Dispatcher.
type Options struct {
	// Routes by modem ID.
	Routes map[string]Route
	// Encoding is how a message's text is encoded and split: the value the
	// store and the API are given, so that what is sent is what they
	// counted. A message queued with more parts than its MaxParts (the
	// limit was lowered since) is still sent whole.
	Encoding pdu.Options
	// SendTimeout is the modems' send timeout. A claim, renewed with
	// every part sent, lasts this plus the modem's rate-limit interval plus
	// LeaseMargin: long enough for the wait and the send of the next part,
	// so that the claim of a live worker never runs out (its message would
	// be claimed again and a part sent twice), short enough that the claim
	// of a worker that could not record its send comes back.
	SendTimeout time.Duration
	// LeaseMargin is the slack in a claim; default 30 s.
	LeaseMargin time.Duration
	// Maintenance is how soon after new work (an enqueue, a retry, a claim,
	// a part of a multipart message received) the maintainer looks for the
	// deadlines it brings: validity expiry, the release of an incomplete
	// multipart message, a lease that runs out. Deadlines it knows of it
	// meets on time (the store's NextDeadline). Under steady traffic it so
	// looks at most once per Maintenance. Default one second.
	Maintenance time.Duration
	Logger      *slog.Logger
	// Retention is how long history is kept when the store is also a
	// Pruner (prune.go); 0 keeps everything. PruneDelay and PruneInterval
	// default to DefaultPruneDelay and DefaultPruneInterval.
	Retention, PruneDelay, PruneInterval time.Duration
}

// afterError is how soon a worker or the maintainer looks at the store
// again after it failed to answer: soon enough, without a log line a second.
const afterError = 30 * time.Second

// afterClaimError is how soon a worker whose claim failed tries again: a
// store that refused a write (disk full) may take them again any moment,
// and the messages due meanwhile should not wait for the next enqueue.
const afterClaimError = 5 * time.Second

// Dispatcher runs the workers. Create it with New, start it with Run.
type Dispatcher struct {
	store  Store
	modems []Modem
	opts   Options
	log    *slog.Logger

	wakes []chan struct{} // one per worker, capacity 1
	// limited holds, per worker, its next (the UnixNano time before which
	// its rate limit lets no part out), for the others' peers: written
	// by that worker wherever it sets next, read by the others.
	limited []atomic.Int64
	// touched tells the maintainer that something with a deadline may have
	// been written; capacity 1.
	touched chan struct{}
}

// New returns a Dispatcher for the modems over store.
func New(store Store, modems []Modem, opts Options) *Dispatcher {
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = modem.DefaultSendTimeout
	}
	if opts.LeaseMargin <= 0 {
		opts.LeaseMargin = 30 * time.Second
	}
	if opts.Maintenance <= 0 {
		opts.Maintenance = time.Second
	}
	if opts.PruneDelay <= 0 {
		opts.PruneDelay = DefaultPruneDelay
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{store: store, modems: modems, opts: opts, log: opts.Logger, touched: make(chan struct{}, 1),
		limited: make([]atomic.Int64, len(modems))}
	for range modems {
		d.wakes = append(d.wakes, make(chan struct{}, 1))
	}
	return d
}

// wake tells idle workers that a message may be claimable. It never blocks.
func (d *Dispatcher) wake() {
	for _, w := range d.wakes {
		signal(w)
	}
}

// wakeOthers wakes every worker but self's.
func (d *Dispatcher) wakeOthers(self int) {
	for i, w := range d.wakes {
		if i != self {
			signal(w)
		}
	}
}

// signal sends on a channel of capacity 1 unless a value already waits.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run runs a sender and a receiver per modem and the periodic maintenance
// until ctx ends. A send in flight then finishes (it is bounded by the send
// timeout) and is recorded before Run returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	// The store signals every commit that made a message claimable: an
	// enqueue, and a retry, release or recovered claim that another modem
	// may now take. Workers sleep on that, never polling.
	commits, unsubscribe := d.store.Subscribe()
	defer unsubscribe()
	var wg sync.WaitGroup
	forward(ctx, &wg, func() <-chan struct{} { return commits }, func() {
		d.wake()
		signal(d.touched)
	})
	for _, m := range d.modems {
		// A modem that goes down or comes up changes which messages the
		// others may take (routes, retries elsewhere): every worker looks.
		forward(ctx, &wg, m.Changed, d.wake)
	}
	for i, m := range d.modems {
		w := &worker{d: d, i: i, m: m, wake: d.wakes[i], route: d.opts.Routes[m.ID()], log: d.log.With("modem", m.ID())}
		wg.Add(2)
		go func() { defer wg.Done(); w.send(ctx) }()
		go func() { defer wg.Done(); w.receive(ctx) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); d.maintain(ctx) }()
	go func() { defer wg.Done(); d.prune(ctx) }()
	wg.Wait()
	return nil
}

// forward calls f each time the channel that next returns is ready, until
// ctx ends.
func forward(ctx context.Context, wg *sync.WaitGroup, next func() <-chan struct{}, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-next():
				f()
			}
		}
	}()
}

// maintain ends what time runs out on — validity, leases, the wait for the
// missing parts of a multipart message — when it runs out, and otherwise
// sleeps: with nothing waiting on time it wakes only for new work.
func (d *Dispatcher) maintain(ctx context.Context) {
	t := time.NewTimer(0) // a first look at start-up
	defer t.Stop()
	due := time.Now() // when t fires; zero while it is stopped
	arm := func(wait time.Duration) {
		t.Reset(wait)
		due = time.Now().Add(wait)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.touched:
			// New work may bring a deadline sooner than the one t waits
			// for; look within Maintenance rather than after every commit.
			if due.IsZero() || time.Until(due) > d.opts.Maintenance {
				arm(d.opts.Maintenance)
			}
			continue
		case <-t.C:
		}
		due = time.Time{}
		if wait, ok := d.maintenance(ctx); ok {
			arm(wait)
		}
	}
}

// maintenance runs the rounds whose deadline has come and says how long
// until the next one, false when nothing waits on time.
func (d *Dispatcher) maintenance(ctx context.Context) (time.Duration, bool) {
	next, ok, err := d.store.NextDeadline(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("look for deadlines", "err", err)
		}
		return afterError, true
	}
	if !ok {
		return 0, false
	}
	if wait := time.Until(next); wait > 0 {
		return wait, true
	}
	if n, err := d.store.Expire(ctx); err != nil {
		d.log.Warn("expire messages", "err", err)
	} else if n > 0 {
		d.log.Info("messages expired before they could be sent", "count", n)
	}
	if ms, err := d.store.ReleaseIncomplete(ctx); err != nil {
		d.log.Warn("release incomplete messages", "err", err)
	} else if len(ms) > 0 {
		d.log.Info("released incomplete multipart messages to the inbox", "count", len(ms))
	}
	// Look again at once for what comes next; a deadline the rounds could
	// not clear (the store failing) is retried after a second, not spun on.
	next, ok, err = d.store.NextDeadline(ctx)
	switch {
	case err != nil:
		return afterError, true
	case !ok:
		return 0, false
	}
	return max(time.Until(next), time.Second), true
}

// peers are the modems other than self that can send now (ready and not
// waiting for their rate limit), with their routes: the claim rule of
// queue.ClaimRequest decides from them what self may take.
func (d *Dispatcher) peers(self int) []queue.Peer {
	var out []queue.Peer
	now := time.Now()
	for i, m := range d.modems {
		if i == self || !canSend(m) || d.limited[i].Load() > now.UnixNano() {
			continue
		}
		out = append(out, queue.Peer{Modem: m.ID(), Routes: d.opts.Routes[m.ID()].Prefixes})
	}
	return out
}

// canSend reports whether m can send now. Any state but ready (starting,
// not registered, disconnected, a SIM error, one added later) cannot.
func canSend(m Modem) bool { return m.Status().State == modem.StateReady }

type worker struct {
	d     *Dispatcher
	i     int // index in d.modems
	m     Modem
	wake  chan struct{}
	route Route
	log   *slog.Logger
	next  time.Time // rate limit: earliest time of the next part; see limited
	// sending is held from the start of a part's AT+CMGS until its
	// message reference is on disk. A status report can arrive right after
	// +CMGS answers; the receiver takes sending before matching one, so that
	// the part it reports on is recorded by then.
	sending sync.Mutex
}

// send is the worker's loop: wait for the modem, claim, send, repeat.
func (w *worker) send(ctx context.Context) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	for ctx.Err() == nil {
		changed := w.m.Changed()
		if !canSend(w.m) {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		// Waiting for the rate limit, the worker claims nothing, so that
		// the messages it would hold meanwhile go through an idle modem
		// allowed to send them; it tells the others it holds nothing back.
		if wait := time.Until(w.next); wait > 0 {
			w.d.wakeOthers(w.i)
			idle.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-idle.C:
			}
			idle.Stop()
			continue
		}
		claimed := time.Now()
		msg, err := w.claim(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("claim", "err", err)
			}
		}
		if msg != nil {
			// The claim's lease is a deadline: should the send not be
			// recorded, the maintainer ends the claim when it runs out.
			signal(w.d.touched)
			w.deliver(ctx, msg)
			continue
		}
		idle.Stop()
		var timeout <-chan time.Time
		if err != nil {
			// A claim that failed (a full disk, a read-only store) left
			// what is due where it was, and no commit may come to wake
			// the worker: look again soon.
			idle.Reset(afterClaimError)
			timeout = idle.C
		} else if d, ok := w.sleepFor(ctx, claimed); ok {
			idle.Reset(d)
			timeout = idle.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-changed:
		case <-timeout:
		}
	}
}

// sleepFor says how long an idle worker may sleep: until the next message
// it could claim becomes due by time (scheduled, retried after a backoff);
// false when nothing is due later. Everything else that brings work wakes
// the worker: a commit that makes a message claimable (the store's
// Subscribe) and any modem's change of state (another modem's routes no
// longer hold a message back). An idle daemon so does no work at all.
//
// claimed is when the worker's last claim found nothing: a message that
// fell due since then (a retry's backoff ending in between) is claimed at
// once, rather than stranded until something else wakes the worker.
func (w *worker) sleepFor(ctx context.Context, claimed time.Time) (time.Duration, bool) {
	next, ok, err := w.d.store.NextDue(ctx, queue.ClaimRequest{Modem: w.m.ID(), After: claimed})
	switch {
	case err != nil:
		if ctx.Err() == nil {
			w.log.Warn("look for messages due later", "err", err)
		}
		return afterError, true
	case ok && !next.After(time.Now()):
		return 0, true
	case ok:
		return max(time.Until(next), time.Second), true
	}
	return 0, false
}

// claim takes the next message this modem is allowed to send: its own
// routes first, then anything else the claim rule (queue.ClaimRequest)
// lets it take, given the other modems that can send now.
func (w *worker) claim(ctx context.Context) (*queue.Message, error) {
	lease := w.d.opts.SendTimeout + w.d.opts.LeaseMargin
	if w.route.PerMinute > 0 {
		lease += time.Minute / time.Duration(w.route.PerMinute)
	}
	req := queue.ClaimRequest{Modem: w.m.ID(), Lease: lease, Routes: w.route.Prefixes, Peers: w.d.peers(w.i)}
	if len(w.route.Prefixes) > 0 {
		own := req
		own.Prefixes = w.route.Prefixes
		ms, err := w.d.store.Claim(ctx, own)
		if err != nil || len(ms) > 0 {
			return first(ms), err
		}
	}
	ms, err := w.d.store.Claim(ctx, req)
	return first(ms), err
}

func first(ms []*queue.Message) *queue.Message {
	if len(ms) == 0 {
		return nil
	}
	return ms[0]
}

// deliver sends the parts of msg not yet confirmed, recording each one as
// the modem confirms it, and ends the claim.
func (w *worker) deliver(ctx context.Context, msg *queue.Message) {
	l := *msg.Lease
	// Store calls must finish even when shutdown began mid-send: a sent part
	// not recorded would be sent again.
	sctx := context.WithoutCancel(ctx)
	log := w.log.With("message", msg.ID)
	s := pdu.Submit{
		To: msg.To, Text: msg.Text, StatusReport: msg.Report, Flash: msg.Flash, Ref: msg.ConcatRef(),
		Options: w.d.opts.Encoding,
	}
	s.Options.MaxParts = max(s.Options.MaxParts, msg.Parts)
	if msg.ExpiresAt != nil {
		left := time.Until(*msg.ExpiresAt)
		if left <= 0 {
			endClaim(log, w.d.store.Fail(sctx, l, queue.Error{Code: queue.CodeExpired, Message: "validity ended before the message could be sent"}))
			return
		}
		s.Validity = left
	}
	enc, err := s.Encode()
	if err == nil && len(enc.Parts) != msg.Parts {
		err = fmt.Errorf("text now encodes as %d parts, %d when queued", len(enc.Parts), msg.Parts)
	}
	if err != nil {
		endClaim(log, w.d.store.Fail(sctx, l, queue.Error{Code: queue.CodeEncode, Message: err.Error()}))
		return
	}
	for _, seq := range msg.Pending() {
		if err := w.limit(ctx); err != nil {
			// Shutdown, or the modem went away while the next part waited
			// for the rate limit: the claim comes back now, not when the
			// wait ends (the parts sent keep the message on this modem).
			if ctx.Err() == nil {
				log.Info("modem not ready between parts; message goes back to the queue", "err", err)
			}
			endClaim(log, w.d.store.Release(sctx, l))
			return
		}
		// The send itself is bounded by the modem's send timeout; it is not
		// cut short by shutdown, only the wait before the next part is.
		gctx, cancel := context.WithTimeout(sctx, w.d.opts.SendTimeout+5*time.Second)
		w.sending.Lock()
		mr, err := w.m.Send(gctx, enc.Parts[seq-1])
		cancel()
		if err != nil {
			w.sending.Unlock()
			w.sendFailed(sctx, log, l, seq, err)
			return
		}
		err = w.d.store.PartSent(sctx, l, seq, mr)
		w.sending.Unlock()
		if err != nil {
			// The part is on the air but not on disk: the lease will expire
			// and the interrupted-send policy decides. Nothing better is
			// possible when the store cannot write.
			log.Error("part sent but not recorded", "part", seq, "mr", mr, "err", err)
			return
		}
		if ctx.Err() != nil && seq != msg.Parts {
			// Shutdown: keep the parts sent; the rest go after a restart.
			endClaim(log, w.d.store.Retry(sctx, l, queue.Error{Code: queue.CodeShutdown, Message: "bridged stopped between parts"}))
			return
		}
	}
	log.Debug("sent", "parts", msg.Parts)
}

// sendFailed ends a claim after a failed part.
func (w *worker) sendFailed(ctx context.Context, log *slog.Logger, l queue.Lease, seq int, err error) {
	var se *modem.SendError
	if !errors.As(err, &se) {
		se = &modem.SendError{Code: -1, Transient: true, Reason: err.Error(), Err: err}
	}
	code := queue.CodeModem
	if se.Code >= 0 {
		code = queue.CodeCMS(se.Code)
	}
	qe := queue.Error{Code: code, Message: fmt.Sprintf("part %d: %s", seq, se.Reason)}
	switch {
	case errors.Is(err, modem.ErrNotReady):
		// Nothing went out: the modem could not take the part (gone,
		// restarting, off the network). The claim comes back at once and
		// costs no attempt; parts sent by this claim keep it on this modem.
		log.Info("modem not ready; message goes back to the queue", "part", seq)
		endClaim(log, w.d.store.Release(ctx, l))
	case errors.Is(err, at.ErrClosed):
		// The port went away (unplugged) while AT+CMGS was in flight: the
		// part may be on the air. That is an interrupted send, ended now
		// by the store's policy rather than by a retry backoff.
		log.Warn("modem disconnected during the send", "part", seq)
		why := fmt.Sprintf("modem %s disconnected during the send", w.m.ID())
		endClaim(log, w.d.store.Interrupted(ctx, l, why))
	case se.Transient:
		log.Warn("send failed; will retry", "part", seq, "err", se)
		endClaim(log, w.d.store.Retry(ctx, l, qe))
	default:
		log.Warn("send failed permanently", "part", seq, "err", se)
		endClaim(log, w.d.store.Fail(ctx, l, qe))
	}
}

// endClaim logs a store call that ended a claim and failed; the lease then
// runs out and the interrupted-send policy takes the message.
func endClaim(log *slog.Logger, err error) {
	if err != nil {
		log.Error("update message", "err", err)
	}
}

// errGone is limit's answer when the modem stopped being ready during the
// wait.
var errGone = errors.New("modem no longer ready")

// limit waits until the modem's rate allows another part. It gives up
// when ctx ends or the modem stops being ready meanwhile (errGone), so
// that a claim does not sit on a modem that cannot send.
func (w *worker) limit(ctx context.Context) error {
	if w.route.PerMinute <= 0 {
		return nil
	}
	now := time.Now()
	if wait := w.next.Sub(now); wait > 0 {
		w.d.wakeOthers(w.i)
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			changed := w.m.Changed()
			if !canSend(w.m) {
				return errGone
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-changed:
				continue
			case <-t.C:
			}
			break
		}
		now = w.next
	}
	w.next = now.Add(time.Minute / time.Duration(w.route.PerMinute))
	// next keeps the monotonic clock for this worker's own waits; the
	// others compare the wall time.
	w.d.limited[w.i].Store(w.next.UnixNano())
	return nil
}

// receive stores what the modem hands over, then lets it delete it.
func (w *worker) receive(ctx context.Context) {
	for {
		var in *modem.Inbound
		select {
		case <-ctx.Done():
			return
		case in = <-w.m.Inbound():
		}
		if err := w.store1(ctx, in); err != nil {
			// Not acknowledged: the message stays on the modem and comes
			// again with the next sweep.
			w.log.Error("could not store a received message; it stays on the modem", "storage", in.Storage, "index", in.Index, "err", err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := in.Ack(actx); err != nil && ctx.Err() == nil {
			w.log.Warn("stored, but the modem could not delete it; it will be read again and deduplicated", "storage", in.Storage, "index", in.Index, "err", err)
		} else if err == nil {
			w.d.acked(ctx, in)
		}
		cancel()
	}
}

// incoming is what the store keeps of a received part. Receive and
// Acked both take it, and Acked finds the part by it.
func incoming(in *modem.Inbound) queue.Incoming {
	// A part without storage came directly (+CMT), not from a slot.
	return queue.Incoming{Modem: in.Modem, PDU: in.PDU, Direct: in.Storage == "", Storage: in.Storage, Slot: in.Index}
}

func (w *worker) store1(ctx context.Context, in *modem.Inbound) error {
	if in.Message != nil && in.Message.Type == pdu.TypeStatusReport {
		r, err := queue.ReportFromPDU(in.Modem, in.Message)
		if err != nil {
			return err
		}
		// Matching waits for a part in flight to be recorded.
		w.sending.Lock()
		rep, err := w.d.store.Report(ctx, r)
		w.sending.Unlock()
		if errors.Is(err, queue.ErrNotFound) {
			w.log.Info("status report for no known message", "mr", r.Ref, "status", r.Status)
			return nil
		}
		if err == nil {
			w.log.Debug("status report", "message", rep.MessageID, "part", rep.Seq, "status", rep.Status)
		}
		return err
	}
	rec, err := w.d.store.Receive(ctx, incoming(in))
	if err != nil {
		return err
	}
	switch {
	case rec.DecodeError != nil:
		w.log.Warn("received a PDU that does not decode; stored raw", "part", rec.PartID, "err", rec.DecodeError)
	case rec.Duplicate:
		w.log.Debug("received a part already stored", "part", rec.PartID)
	case rec.Message != nil:
		w.log.Info("received a message", "inbox", rec.Message.ID, "parts", rec.Message.Parts)
	default:
		// A part of a multipart message waiting for the others: its group
		// has a release deadline the maintainer must learn of.
		signal(w.d.touched)
	}
	return nil
}

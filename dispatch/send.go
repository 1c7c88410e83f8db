package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/warthog618/modem/at"

	"bridged/metrics"
	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

// sendLoop is the worker's loop: wait for the modem, claim, send, repeat.
func (w *worker) sendLoop(ctx context.Context) {
	idle := time.NewTimer(0)
	defer idle.Stop()
loop:
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
		var park *queue.Park
		for {
			if msg != nil {
				then, ok := w.sendFrom(ctx, msg)
				switch {
				case !ok:
					return
				case then.looked.IsZero():
					// Nobody looked for a next message (a failed send, a
					// rate limit to wait for, the modem gone): the loop
					// decides.
					continue loop
				}
				claimed, park = then.looked, then.park
			}
			if msg = w.idle(ctx, idle, changed, err, claimed, park); msg == nil {
				break
			}
			err = nil
		}
	}
}

// idle waits for work after a claim that found nothing (at claimed) or
// failed (err), with the claim parked (park, or one it parks now), and
// returns the message the park claimed, if it did. Otherwise the loop
// claims again.
func (w *worker) idle(ctx context.Context, timer *time.Timer, changed <-chan struct{}, err error, claimed time.Time, park *queue.Park) *queue.Message {
	timer.Stop()
	var timeout <-chan time.Time
	if err != nil {
		// A claim that failed (a full disk, a read-only store) left what
		// is due where it was, and no commit may come to wake the worker:
		// look again soon.
		timer.Reset(afterClaimError)
		timeout = timer.C
	} else {
		if park != nil {
			// Parked in the write that found nothing: every commit since
			// that made a message claimable ran the park, so a wake from
			// before it is stale.
			w.drainWake()
		} else {
			park = w.park()
		}
		if d, ok := w.sleepFor(ctx, claimed); ok {
			timer.Reset(d)
			timeout = timer.C
		}
	}
	select {
	case <-ctx.Done():
	case <-park.Done():
	case <-w.wake:
	case <-changed:
	case <-timeout:
	}
	// Whatever ended the wait, the park comes back, with the message
	// claimed for it in the commit that queued it, if one was. That commit
	// woke the worker too: the claim that comes next sees every commit
	// that woke it until now.
	msg := w.unpark(ctx, park)
	if msg != nil {
		w.drainWake()
	}
	return msg
}

// drainWake drops a wake the worker knows to be stale.
func (w *worker) drainWake() {
	select {
	case <-w.wake:
	default:
	}
}

// sendFrom sends msg, then each next message that the write recording the
// last part of the one before claimed with it, and returns what the last
// of them left (following: when it looked, the claim it parked); false at
// shutdown, when what was claimed or parked for the worker has gone back.
func (w *worker) sendFrom(ctx context.Context, msg *queue.Message) (following, bool) {
	for {
		// The claim's lease is a deadline: should the send not be
		// recorded, the maintainer ends the claim when it runs out.
		signal(w.d.touched)
		then := w.sendMessage(ctx, msg)
		switch {
		case ctx.Err() != nil:
			// Claimed with the last part of the one before, or for its
			// park, just as shutdown began: it goes back untried.
			w.giveBack(ctx, then.next)
			w.unpark(ctx, then.park)
			return following{}, false
		case then.next == nil:
			return then, true
		}
		msg = then.next
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

// claim takes the next message this modem is allowed to send (requests),
// in one write.
func (w *worker) claim(ctx context.Context) (*queue.Message, error) {
	ms, err := w.d.store.Claim(ctx, w.requests()...)
	return first(ms), err
}

// requests are the claims to try in turn for this modem's next message:
// its own routes first, then anything else the claim rule
// (queue.ClaimRequest) lets it take, given the other modems that can send
// now.
func (w *worker) requests() []queue.ClaimRequest {
	lease := w.d.opts.SendTimeout + w.d.opts.LeaseMargin
	if w.route.PerMinute > 0 {
		lease += time.Minute / time.Duration(w.route.PerMinute)
	}
	req := queue.ClaimRequest{Modem: w.m.ID(), Lease: lease, Routes: w.route.Prefixes, Peers: w.d.peers(w.i)}
	if len(w.route.Prefixes) == 0 {
		return []queue.ClaimRequest{req}
	}
	own := req
	own.Prefixes = w.route.Prefixes
	return []queue.ClaimRequest{own, req}
}

func first(ms []*queue.Message) *queue.Message {
	if len(ms) == 0 {
		return nil
	}
	return ms[0]
}

// sendMessage sends the parts of msg not yet confirmed, recording each one
// as the modem confirms it, and ends the claim. When the modem may go on
// sending, the write that records the last part also claims the next
// message, or parks the claim when none is due (queue.Store.PartSentClaim):
// that is what it returns.
func (w *worker) sendMessage(ctx context.Context, msg *queue.Message) following {
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
			return following{}
		}
		s.Validity = left
	}
	enc, err := s.Encode()
	if err == nil && len(enc.Parts) != msg.Parts {
		err = fmt.Errorf("text now encodes as %d parts, %d when queued", len(enc.Parts), msg.Parts)
	}
	if err != nil {
		endClaim(log, w.d.store.Fail(sctx, l, queue.Error{Code: queue.CodeEncode, Message: err.Error()}))
		return following{}
	}
	pending := msg.Pending()
	var then following
	for i, seq := range pending {
		if err := w.limit(ctx); err != nil {
			// Shutdown, or the modem went away while the next part waited
			// for the rate limit: the claim comes back now, not when the
			// wait ends (the parts sent keep the message on this modem).
			if ctx.Err() == nil {
				log.Debug("modem not ready between parts; message goes back to the queue", "err", err)
			}
			endClaim(log, w.d.store.Release(sctx, l))
			return following{}
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
			return following{}
		}
		if i == len(pending)-1 && w.mayClaim(ctx) {
			at := time.Now()
			still, reqs := w.parkRequests()
			var n queue.Next
			n, err = w.d.store.PartSentClaim(sctx, l, seq, mr, still, reqs...)
			then.next, then.park = n.Message, n.Park
			if n.Looked {
				then.looked = at
			}
		} else {
			err = w.d.store.PartSent(sctx, l, seq, mr)
		}
		w.sending.Unlock()
		if err != nil {
			// The part is on the air but not on disk: the lease will expire
			// and the interrupted-send policy decides. Nothing better is
			// possible when the store cannot write.
			log.Error("part sent but not recorded", "part", seq, "mr", mr, "err", err)
			// A claim parked before the commit failed may hold a message
			// since claimed in a commit of its own.
			return following{next: w.unpark(ctx, then.park)}
		}
		if ctx.Err() != nil && seq != msg.Parts {
			// Shutdown: keep the parts sent; the rest go after a restart.
			endClaim(log, w.d.store.Retry(sctx, l, queue.Error{Code: queue.CodeShutdown, Message: "bridged stopped between parts"}))
			return following{}
		}
	}
	log.Debug("sent", "parts", msg.Parts)
	metrics.MessageSent(msg, time.Now())
	return then
}

// following is what comes after a message's last part: the next message
// claimed in the write that recorded it, or when none was due, the claim
// parked in that write; and when that write looked (zero when it did not,
// or its claim failed).
type following struct {
	next   *queue.Message
	park   *queue.Park
	looked time.Time
}

// mayClaim says whether the worker would claim now, as sendLoop does: not
// shutting down, the modem ready, no rate limit to wait for.
func (w *worker) mayClaim(ctx context.Context) bool {
	return ctx.Err() == nil && canSend(w.m) && !time.Now().Before(w.next)
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
		log.Debug("modem not ready; message goes back to the queue", "part", seq)
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

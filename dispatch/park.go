package dispatch

import (
	"context"
	"slices"

	"bridged/queue"
)

// park parks the claim of an idle worker whose last claim found nothing
// (queue.Store.Park): the commit that makes a message claimable claims it
// for the worker in the same transaction, so that the send starts without
// a commit of its own. Nil when the store would not park it: the worker
// then claims when it wakes, as it does after any wake.
func (w *worker) park() *queue.Park {
	still, reqs := w.parkRequests()
	p, err := w.d.store.Park(still, reqs...)
	if err != nil {
		w.log.Debug("park the claim", "err", err)
		return nil
	}
	return p
}

// parkRequests are the claims to park for this worker and the check that
// they still hold.
func (w *worker) parkRequests() (func() bool, []queue.ClaimRequest) {
	reqs := w.requests()
	peers := reqs[0].Peers // every request's
	// The claim rule decides from the peers of the moment: the writer asks
	// right before it claims, so that a modem that came up or went down,
	// or a rate limit that began or ended, since the park is not missed in
	// the time the worker takes to wake and take its park back.
	still := func() bool {
		return canSend(w.m) && slices.EqualFunc(w.d.peers(w.i), peers, func(a, b queue.Peer) bool { return a.Modem == b.Modem })
	}
	return still, reqs
}

// unpark takes back the worker's park, if it has one, and returns what
// the store claimed for it. At shutdown what was claimed goes back to the
// queue at once.
func (w *worker) unpark(ctx context.Context, p *queue.Park) *queue.Message {
	if p == nil {
		return nil
	}
	ms, err := p.Unpark()
	if err != nil {
		// The commit's own writer has the error (an enqueue refused); the
		// worker claims again, and a claim that fails says so.
		w.log.Debug("parked claim", "err", err)
	}
	msg := first(ms)
	if ctx.Err() != nil {
		w.giveBack(ctx, msg)
		return nil
	}
	return msg
}

// giveBack releases msg, if any, claimed for the worker just as shutdown
// began: it goes back to the queue untried.
func (w *worker) giveBack(ctx context.Context, msg *queue.Message) {
	if msg != nil {
		endClaim(w.log.With("message", msg.ID), w.d.store.Release(context.WithoutCancel(ctx), *msg.Lease))
	}
}

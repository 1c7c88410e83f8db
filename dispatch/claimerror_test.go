package dispatch_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"bridged/dispatch"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// claimFailing passes the real store through, except that the next fails
// claims return an error, as a store on a full disk does. It parks no
// claim, so that every claim goes through Claim.
type claimFailing struct {
	*queue.Store
	fails atomic.Int32
}

func (c *claimFailing) Claim(ctx context.Context, reqs ...queue.ClaimRequest) ([]*queue.Message, error) {
	if c.fails.Add(-1) >= 0 {
		return nil, errors.New("injected: database or disk is full")
	}
	return c.Store.Claim(ctx, reqs...)
}

func (c *claimFailing) Park(func() bool, ...queue.ClaimRequest) (*queue.Park, error) {
	return nil, errors.New("injected: no parked claims")
}

// PartSentClaim records the part and claims, without parking.
func (c *claimFailing) PartSentClaim(ctx context.Context, l queue.Lease, seq, ref int, _ func() bool, reqs ...queue.ClaimRequest) (queue.Next, error) {
	return c.Store.PartSentClaim(ctx, l, seq, ref, nil, reqs...)
}

// TestClaimErrorRetried: a worker whose claim failed looks again by
// itself. Nothing else wakes it here (no enqueue, no modem change), so a
// worker that slept until the next commit would leave the message queued.
func TestClaimErrorRetried(t *testing.T) {
	cf := &claimFailing{}
	b := mustBridgeStore(t, 1, dispatch.Options{}, modemsim.Options{}, queue.Options{},
		func(s *queue.Store) dispatch.Store { cf.Store = s; return cf })
	b.settle("m0")
	cf.fails.Store(1)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "after a failed claim"})[0].ID
	b.waitStatus(id, queue.StatusSent)
	if n := cf.fails.Load(); n >= 0 {
		t.Fatalf("the injected failure was not met (%d left)", n+1)
	}
}

package dispatch_test

import (
	"context"
	"sync/atomic"
	"testing"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// parkWatch passes the real store through and keeps, per modem, the last
// claim its worker parked.
type parkWatch struct {
	*queue.Store
	last map[string]*atomic.Pointer[queue.Park]
}

func newParkWatch(modems ...string) *parkWatch {
	pw := &parkWatch{last: map[string]*atomic.Pointer[queue.Park]{}}
	for _, m := range modems {
		pw.last[m] = new(atomic.Pointer[queue.Park])
	}
	return pw
}

func (pw *parkWatch) Park(still func() bool, reqs ...queue.ClaimRequest) (*queue.Park, error) {
	p, err := pw.Store.Park(still, reqs...)
	if err == nil {
		pw.last[reqs[0].Modem].Store(p)
	}
	return p, err
}

// PartSentClaim keeps the claim parked in the write that found nothing.
func (pw *parkWatch) PartSentClaim(ctx context.Context, l queue.Lease, seq, ref int, still func() bool, reqs ...queue.ClaimRequest) (queue.Next, error) {
	n, err := pw.Store.PartSentClaim(ctx, l, seq, ref, still, reqs...)
	if n.Park != nil {
		pw.last[reqs[0].Modem].Store(n.Park)
	}
	return n, err
}

// waitParked waits until modem's worker waits on a parked claim.
func (pw *parkWatch) waitParked(t *testing.T, modem string) {
	t.Helper()
	testutil.Eventually(t, modem+"'s claim parked", func() bool {
		p := pw.last[modem].Load()
		if p == nil {
			return false
		}
		select {
		case <-p.Done():
			return false
		default:
			return true
		}
	})
}

// claimedAsQueued reports whether message m was claimed in the
// transaction that queued it: its queued and sending events have the one
// time of that transaction.
func claimedAsQueued(m *queue.Message) bool {
	return len(m.Events) >= 2 && m.Events[0].Status == queue.StatusQueued &&
		m.Events[1].Status == queue.StatusSending && m.Events[0].At.Equal(m.Events[1].At)
}

// sendParked enqueues a message for to once modem's worker has parked
// its claim, waits until it is sent and says whether it was claimed in its
// enqueue's commit. A worker can take its park back just before the
// enqueue (a wake from an earlier commit), so it tries up to three
// messages, and fails unless one was.
func sendParked(b *bridge, pw *parkWatch, modem, to string) {
	b.t.Helper()
	var misses []string
	for range 3 {
		pw.waitParked(b.t, modem)
		m := b.waitStatus(b.enqueue(queue.NewMessage{To: to, Text: "parked"})[0].ID, queue.StatusSent)
		if m.ClaimedBy != modem {
			b.t.Fatalf("message %d sent by %s, want %s", m.ID, m.ClaimedBy, modem)
		}
		if claimedAsQueued(m) {
			if len(misses) > 0 {
				b.t.Logf("claimed in a later commit first: %v", misses)
			}
			return
		}
		misses = append(misses, m.Events[0].At.String()+" / "+m.Events[1].At.String())
	}
	b.t.Fatalf("no message claimed in its enqueue's commit (queued / sending): %v", misses)
}

// TestParkedClaimSendsWithoutACommit: an idle worker's claim is parked,
// so a message posted to an idle modem is claimed in the commit that
// queues it and then sent.
func TestParkedClaimSendsWithoutACommit(t *testing.T) {
	pw := newParkWatch("m0")
	b := mustBridgeStore(t, 1, dispatch.Options{}, modemsim.Options{}, queue.Options{},
		func(s *queue.Store) dispatch.Store { pw.Store = s; return pw })
	b.settle("m0")
	before := len(b.net.Sent())
	sendParked(b, pw, "m0", "+447700900123")
	if sent := len(b.net.Sent()) - before; sent < 1 {
		t.Errorf("the network got %d parts", sent)
	}
}

// TestParkTakenBackWhenAPeerGoes: a worker parks its claim with the peers
// of that moment; when a peer goes off the network, it parks anew without
// it. A message routed to the gone peer is then claimed in its enqueue's
// commit by the modem that remains, not left to the gone one.
func TestParkTakenBackWhenAPeerGoes(t *testing.T) {
	pw := newParkWatch("m0", "m1")
	b := mustBridgeStore(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{"m1": {Prefixes: []string{"+44"}}}},
		modemsim.Options{}, queue.Options{},
		func(s *queue.Store) dispatch.Store { pw.Store = s; return pw })
	b.settle("m0")
	b.settle("m1")
	pw.waitParked(t, "m0")
	stale := pw.last["m0"].Load()
	b.offNetwork(1)
	testutil.Eventually(t, "m0's park taken back", func() bool {
		select {
		case <-stale.Done():
			return true
		default:
			return false
		}
	})
	if ms, err := stale.Unpark(); ms != nil || err != nil {
		t.Fatalf("the stale park claimed %v %v", ms, err)
	}
	sendParked(b, pw, "m0", "+447700900123")
}

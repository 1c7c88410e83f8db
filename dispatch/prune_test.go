package dispatch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/modem/modemsim"
	"bridged/pdu"
	"bridged/queue"
)

// retentionClock is the store's injected clock, moved on by the test so that a
// month passes without waiting for it.
type retentionClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *retentionClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *retentionClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// recordingPruner passes the real store through and adds up what its PruneOlder
// calls removed, for the test to wait on.
type recordingPruner struct {
	*queue.Store
	mu    sync.Mutex
	total queue.Pruned
	calls int
	acked int
}

// Acked passes through and counts, so that the test moves the clock only
// after the store has recorded the delete: recorded later, the part would
// be young by the moved clock.
func (p *recordingPruner) Acked(ctx context.Context, in pdu.Received) error {
	err := p.Store.Acked(ctx, in)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.acked++
	}
	return err
}

func (p *recordingPruner) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

func (p *recordingPruner) PruneOlder(ctx context.Context, age time.Duration) (queue.Pruned, error) {
	r, err := p.Store.PruneOlder(ctx, age)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.total.Messages += r.Messages
	p.total.InboundParts += r.InboundParts
	return r, err
}

func (p *recordingPruner) get() (queue.Pruned, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.calls
}

// TestRetention: the dispatcher prunes on its own, on a timer, what is
// older than the retention: a sent message, and a received part once the
// modem deleted it (the dispatcher records the delete after +CMGD).
// Nothing younger goes.
func TestRetention(t *testing.T) {
	const month = 30 * 24 * time.Hour
	clk := &retentionClock{}
	p := &recordingPruner{}
	b := mustBridgeStore(t, 1, dispatch.Options{Retention: month, PruneDelay: time.Millisecond, PruneInterval: 20 * time.Millisecond},
		modemsim.Options{ReportOutcome: modemsim.ReportNever}, queue.Options{Now: clk.Now}, func(s *queue.Store) dispatch.Store {
			p.Store = s
			return p
		})
	ctx := context.Background()
	sent := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "sent a month ago"})[0].ID
	b.waitStatus(sent, queue.StatusSent)
	if err := b.sims[0].Deliver("+15557770001", "received a month ago"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the SIM emptied", func() bool { return len(b.sims[0].Stored("SM")) == 0 })
	testutil.Eventually(t, "the delete recorded", func() bool { return p.ackedCount() == 1 })
	// Rounds run meanwhile and find nothing old enough.
	testutil.Eventually(t, "two prune rounds", func() bool { _, n := p.get(); return n >= 2 })
	if got, _ := p.get(); got != (queue.Pruned{}) {
		t.Fatalf("pruned %+v before the retention", got)
	}
	clk.Advance(month + time.Hour)
	young := b.enqueue(queue.NewMessage{To: "+447700900124", Text: "sent today"})[0].ID
	b.waitStatus(young, queue.StatusSent)
	testutil.Eventually(t, "the old message and part pruned", func() bool {
		got, _ := p.get()
		return got.Messages == 1 && got.InboundParts == 1
	})
	if _, err := b.store.Get(ctx, sent); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("old message: %v", err)
	}
	if m, err := b.store.Get(ctx, young); err != nil || m.Status != queue.StatusSent {
		t.Fatalf("young message: %+v %v", m, err)
	}
	// The inbox message is the application's: it stays.
	if page, err := b.store.ListInbox(ctx, queue.InboxFilter{}); err != nil || len(page.Messages) != 1 {
		t.Fatalf("inbox %+v %v", page, err)
	}
}

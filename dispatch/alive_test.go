package dispatch_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// checkBlocking passes the real store through, except that while armed
// its CheckWritable waits until released, as a write that does not come
// back does.
type checkBlocking struct {
	*queue.Store
	armed    atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func (c *checkBlocking) CheckWritable(ctx context.Context) error {
	if c.armed.Load() {
		close(c.entered)
		<-c.released
	}
	return c.Store.CheckWritable(ctx)
}

// TestAliveWaitsForTheMaintainer: Alive answers through the maintainer's
// own loop and its store round trip, so a maintainer stuck in the store
// gives no answer until the store returns.
func TestAliveWaitsForTheMaintainer(t *testing.T) {
	cb := &checkBlocking{entered: make(chan struct{}), released: make(chan struct{})}
	b := mustBridgeStore(t, 1, dispatch.Options{}, modemsim.Options{}, queue.Options{},
		func(s *queue.Store) dispatch.Store { cb.Store = s; return cb })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.disp.Alive(ctx); err != nil {
		t.Fatalf("alive: %v", err)
	}

	cb.armed.Store(true)
	answered := make(chan error, 1)
	go func() { answered <- b.disp.Alive(ctx) }()
	select {
	case <-cb.entered:
	case <-ctx.Done():
		t.Fatal("the maintainer never made the store round trip")
	}
	select {
	case err := <-answered:
		t.Fatalf("Alive answered (%v) while the maintainer was stuck in the store", err)
	default:
	}
	cb.armed.Store(false)
	close(cb.released)
	if err := <-answered; err != nil {
		t.Fatalf("alive after the store returned: %v", err)
	}
	// The dispatcher goes on working once the store answers.
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "after the wedge"})[0].ID
	b.waitStatus(id, queue.StatusSent)
}

// TestAliveWithoutRun: a dispatcher that does not run is not alive.
func TestAliveWithoutRun(t *testing.T) {
	d := dispatch.New(nil, nil, dispatch.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Alive(ctx); err == nil {
		t.Fatal("Alive answered without a running maintainer")
	}
}

package dispatch

import "context"

// Alive returns nil once the maintainer goroutine has answered, between
// two of its rounds, after a round trip through the store (CheckWritable:
// a real write through the store's one writer goroutine at most once per
// its interval). A maintainer stuck in a store call, or a writer that no
// longer commits, leaves it waiting: that is what a watchdog must see.
// The store's answer itself is not the point: a full disk is reported by
// /healthz, and restarting the daemon would not free it. Alive returns
// ctx's error when ctx ends first, also when Run is not running.
func (d *Dispatcher) Alive(ctx context.Context) error {
	answered := make(chan struct{})
	select {
	case d.pings <- answered:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-answered:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// answerPing is the maintainer's side of Alive.
func (d *Dispatcher) answerPing(ctx context.Context, answered chan<- struct{}) {
	_ = d.store.CheckWritable(ctx) // see Alive: answering is the proof
	close(answered)
}

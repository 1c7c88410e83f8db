package dispatch

import (
	"context"
	"time"

	"bridged/pdu"
	"bridged/queue"
)

// Retention defaults: the first prune waits for start-up to settle, the
// following ones come once an hour, so that an idle daemon runs one small
// query an hour for it.
const (
	DefaultPruneDelay    = time.Minute
	DefaultPruneInterval = time.Hour
)

// Pruner is what retention needs of the queue; *queue.Store is one. A
// Store that is also a Pruner gets its history pruned (Options.Retention)
// and is told of every received part the modem deleted.
type Pruner interface {
	// PruneOlder removes final messages, their events, finished webhook
	// deliveries and raw parts off the modem older than age, in small
	// batches, and gives the space back to the file system.
	PruneOlder(ctx context.Context, age time.Duration) (queue.Pruned, error)
	// Acked records that the modem deleted or acknowledged a received
	// part, which only then becomes prunable.
	Acked(ctx context.Context, in pdu.Received) error
}

// prune runs the retention until ctx ends: after PruneDelay, then every
// PruneInterval, it removes what is older than Retention. Each batch is a
// write of its own, so sends go between them.
func (d *Dispatcher) prune(ctx context.Context) {
	pr, ok := d.store.(Pruner)
	if !ok || d.opts.Retention <= 0 {
		return
	}
	t := time.NewTimer(d.opts.PruneDelay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		p, err := pr.PruneOlder(ctx, d.opts.Retention)
		switch {
		case err != nil && ctx.Err() == nil:
			// What was removed before the error stays removed; the
			// rest waits for the next round.
			d.log.Warn("prune old history", "err", err, "messages", p.Messages, "inbound_parts", p.InboundParts)
		case err == nil && !p.Empty():
			d.log.Info("pruned history older than the retention", "retention", d.opts.Retention,
				"messages", p.Messages, "inbound_parts", p.InboundParts, "webhook_deliveries", p.WebhookDeliveries,
				"idempotency_keys", p.IdempotencyKeys, "events", p.Events, "pages_freed", p.PagesFreed, "took", time.Since(start).Round(time.Millisecond))
		}
		t.Reset(d.opts.PruneInterval)
	}
}

// acked tells the store that the modem no longer holds in. A failure only
// keeps the part longer: it is logged, not retried.
func (d *Dispatcher) acked(ctx context.Context, in pdu.Received) {
	// Status reports are matched, not stored as parts.
	pr, ok := d.store.(Pruner)
	if !ok || in.StatusReport() {
		return
	}
	err := pr.Acked(ctx, in)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("could not record that the modem deleted a stored message; it is kept until it is deleted again", "storage", in.Storage, "index", in.Slot, "err", err)
	}
}

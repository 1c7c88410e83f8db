package dispatch

import (
	"context"
	"time"
)

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
		case answered := <-d.pings:
			d.answerPing(ctx, answered)
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
		d.log.Debug("messages expired before they could be sent", "count", n)
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

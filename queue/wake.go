package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Subscribe returns a channel that receives a value after each commit that
// made a message claimable (enqueued, retried, released, recovered), and a
// function that ends the subscription. Values are coalesced: one waiting
// value stands for any number of commits. A dispatcher waits on it (and on
// a timer set from NextDue) instead of polling, so that a message posted
// while a modem is idle is claimed within a commit's time.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.claimable.subscribe() }

// fanout wakes its subscribers, each through its own channel of capacity
// one, so that a slow subscriber costs one pending value, never a queue.
type fanout struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func (f *fanout) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan struct{}]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

func (f *fanout) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// NextDue returns when the next queued message that req could claim falls
// due (its not-before or retry time), if one is due strictly after now (or
// req.After); false when none is. Messages due already are Claim's to return, so a
// dispatcher that claimed until Claim returned nothing, then sleeps until
// NextDue or a Subscribe value, never spins. Expiry is not considered.
func (s *Store) NextDue(ctx context.Context, req ClaimRequest) (time.Time, bool, error) {
	if s.closed.Load() {
		return time.Time{}, false, ErrClosed
	}
	prefixes, args := claimFilter(req)
	after := s.opts.Now()
	if !req.After.IsZero() {
		after = req.After
	}
	args = append([]any{nanos(after), req.Modem}, args...)
	var due int64
	err := s.rdb.QueryRowContext(ctx, qNextDue+prefixes+qNextDueOrder, args...).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	return fromNanos(due), true, nil
}

// NextDeadline returns the earliest time at which Expire or
// ReleaseIncomplete will have something to do (a queued message's validity
// ends, a claim's lease runs out, an incomplete multipart message is due for
// release), false when nothing is waiting on time. It may be in the past.
// A maintainer sleeps until then instead of running those rounds on a
// ticker, so that an idle daemon does no work at all.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	if s.closed.Load() {
		return time.Time{}, false, ErrClosed
	}
	var expires, lease, group sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, qNextDeadline).Scan(&expires, &lease, &group); err != nil {
		return time.Time{}, false, fmt.Errorf("next deadline: %w", err)
	}
	var next time.Time
	for _, t := range []struct {
		v     sql.NullInt64
		after time.Duration
	}{{expires, 0}, {lease, time.Nanosecond}, {group, s.opts.ReassemblyTimeout}} {
		if !t.v.Valid {
			continue
		}
		// A lease counts as run out only once strictly past (Claim's rule).
		at := fromNanos(t.v.Int64).Add(t.after)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero(), nil
}

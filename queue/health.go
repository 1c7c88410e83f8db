package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultWriteCheckInterval is how long CheckWritable serves a successful
// check before it writes again; writeCheckRetry how long it serves a
// failure, so that a disk that has space again is seen within a second.
const (
	DefaultWriteCheckInterval = 10 * time.Second
	writeCheckRetry           = time.Second
)

// writable is the latest known answer to "does the database take writes":
// from a real check, or a failure from any write.
type writable struct {
	at  time.Time // the store's clock
	err error
}

// CheckWritable says whether the database takes writes. At most once per
// Options.WriteCheckInterval it proves it with a real write: it commits
// through the same writer and fsync as every message and returns nil once
// that is durable, or the store's error (full disk, read-only file,
// closed). In between it returns that answer again without writing, so a
// probe in a loop costs nothing; a write that fails with a storage error
// (ErrStorageFull, ...) meanwhile replaces the answer at once. A failure is
// checked again after a second, or ends as soon as any write commits a
// change. Concurrent calls share one check.
//
// The write rewrites user_version with its own value: the header page goes
// through the WAL like any change, without a table for the purpose and
// without changing the schema version.
func (s *Store) CheckWritable(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("check writable: %w", ErrClosed)
	}
	if err, ok := s.knownWritable(); ok {
		return err
	}
	select {
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("check writable: %w", ctx.Err())
	}
	defer func() { <-s.checking }()
	// The check that held the turn may have answered for us.
	if err, ok := s.knownWritable(); ok {
		return err
	}
	err := s.write(ctx, func(w *wtx) error {
		var v int
		if err := w.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		_, err := w.Exec(fmt.Sprintf("PRAGMA user_version = %d", v))
		return err
	})
	if err != nil {
		err = fmt.Errorf("check writable: %w", err)
	}
	if !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		s.health.Store(&writable{at: s.opts.Now(), err: err})
	}
	return err
}

// knownWritable returns the cached answer while it is fresh.
func (s *Store) knownWritable() (error, bool) {
	h := s.health.Load()
	if h == nil {
		return nil, false
	}
	age := s.opts.Now().Sub(h.at)
	ttl := s.opts.WriteCheckInterval
	if h.err != nil {
		ttl = min(ttl, writeCheckRetry)
	}
	// A clock set back (a Pi without a battery-backed clock, at boot)
	// must not keep an answer for longer than its interval.
	if age < 0 || age >= ttl {
		return nil, false
	}
	return h.err, true
}

// totalChanges is SQLite's count of rows the connection has inserted,
// updated or deleted, -1 if it cannot say. A commit that changed none
// wrote nothing to the WAL, so only a growing count proves the disk.
func totalChanges(tx txConn) int64 {
	var n int64
	if err := tx.QueryRow("SELECT total_changes()").Scan(&n); err != nil {
		return -1
	}
	return n
}

// noteWriteFailed records a write's storage failure as the answer
// CheckWritable gives until its next check.
func (s *Store) noteWriteFailed(err error) {
	if errors.Is(err, ErrStorageFull) || errors.Is(err, ErrStorageReadOnly) ||
		errors.Is(err, ErrStorageUnavailable) || errors.Is(err, ErrStorageLocked) {
		s.writeFailures.Add(1)
		s.health.Store(&writable{at: s.opts.Now(), err: fmt.Errorf("check writable: a write failed: %w", err)})
	}
}

package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Store is the durable queue: outbox, inbox, delivery reports and webhook
// deliveries in one database. It is safe for concurrent use. Every write goes
// through one writer goroutine that commits concurrent writes together
// (group commit); reads use a separate pool and see every acknowledged write.
type Store struct {
	opts Options
	wdb  *sql.DB // one connection, used only by the writer goroutine
	rdb  *sql.DB
	lock *fileLock // held from Open to Close: one Store per database

	ops    chan *op
	quit   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	mu     sync.Mutex // serialises Close

	commits    atomic.Uint64
	written    atomic.Uint64
	statements atomic.Uint64 // run by the writer, BEGIN and COMMIT included

	claimable fanout // see Subscribe
	// logged wakes SubscribeEvents after a commit that wrote an event;
	// eventSeq is the id of the last event the writer assigned (written
	// only by the writer goroutine), lastEvent the last one committed.
	logged    fanout
	eventSeq  int64
	lastEvent atomic.Int64

	webhooksDue fanout // see SubscribeWebhooks
	// webhookSeq counts the commits that signalled webhooksDue; see
	// WebhookSeq. Written by the writer goroutine only.
	webhookSeq atomic.Uint64

	parking parking // see Park

	// synced is the writer connection's synchronous setting as the writer
	// last set it (syncFull or syncNormal), syncUnknown after a failure:
	// written only by the writer goroutine.
	synced int

	health   atomic.Pointer[writable] // CheckWritable's answer
	checking chan struct{}            // capacity 1: one real check at a time

	// writeFailures counts writes failed for a storage reason; see
	// WriteFailures.
	writeFailures atomic.Uint64

	// vacuumErr is why Open could not enable incremental vacuum, if it
	// could not; see VacuumError.
	vacuumErr error
	// pruneBatchDone, if set (by tests), runs after each of Prune's writes.
	pruneBatchDone func()
}

// Open opens (creating if needed) the SQLite database at path, applies the
// embedded migrations, recovers messages left mid-send according to
// opts.Interrupted, and starts the writer. It fails with ErrSchemaTooNew for
// a database written by a newer bridged.
//
// The Store holds an exclusive lock on LockPath(path) until Close: while
// one Store has the database, Open fails at once with an *InUseError
// (errors.Is ErrInUse) naming the holder's pid, in this process or another.
// The lock is the daemon's, not SQLite's: other programs (the sqlite3 shell,
// a backup) can still read the database meanwhile.
func Open(path string, opts Options) (s *Store, err error) {
	opts.setDefaults()
	lock, err := lockStore(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.unlock() // closing twice (after s.Close) is harmless
		}
	}()
	wdb, err := sql.Open(driverName, dsn(path, opts, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := checkDurability(wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrate(wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	eventSeq, err := lastEventID(wdb)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Not fatal: a store that cannot shrink still takes messages, and a
	// daemon with a full disk must start to send what it holds.
	// VacuumError says why it did not work.
	vacErr := ensureIncrementalVacuum(wdb)
	rdb, err := sql.Open(driverName, dsn(path, opts, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.ReadConns)
	rdb.SetMaxIdleConns(opts.ReadConns)
	s = &Store{
		opts: opts, wdb: wdb, rdb: rdb, lock: lock, vacuumErr: vacErr, eventSeq: eventSeq,
		synced:   syncFull, // checkDurability read it on this connection
		ops:      make(chan *op, 1024),
		checking: make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.lastEvent.Store(eventSeq)
	go s.writer()
	if err := s.recoverInterrupted(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The writer's page cache now holds every page start-up touched (all
	// of a new database's, which the migrations wrote): 0.15-0.2 MB of C
	// heap an idle daemon does not read again. Freed, the pages come back
	// from the operating system's cache when a write needs them.
	if _, err := s.wdb.Exec("PRAGMA shrink_memory"); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: release start-up cache: %w", path, err)
	}
	return s, nil
}

// Close stops the writer after the writes already submitted and closes the
// database. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	close(s.quit)
	<-s.done
	s.closeParking()
	// The lock goes last: another process may open the file only once
	// this one can no longer write it.
	return errors.Join(s.rdb.Close(), s.wdb.Close(), s.lock.unlock())
}

// op is one write: fn runs inside the shared transaction under its own
// savepoint, so that one write's error rolls back only that write.
type op struct {
	fn  func(*wtx) error
	err chan error
	// relaxed marks a write whose loss in a power cut makes itself good
	// (see writeRelaxed): a batch of only such writes commits without an
	// fsync.
	relaxed bool
	// changes are fn's status changes, which the writer logs once they
	// are committed (logCommitted).
	changes []statusChange
}

// wtx is the writer's transaction as a write sees it.
type wtx struct {
	txConn
	s   *Store
	now time.Time
	// woke is set when a message became queued: Subscribe's channels
	// get a value after the commit.
	woke bool
	// changes are the status changes of the write running now (run).
	changes []statusChange
	// events counts the events written: SubscribeEvents' channels get a
	// value after the commit.
	events int
	// webhookDue is set when a webhook delivery became due: SubscribeWebhooks'
	// channels get a value after the commit.
	webhookDue bool
}

// write submits fn to the writer and waits until its transaction commits.
// A nil error means fn's changes are durable. If ctx ends first the write
// may still commit: callers that retry use an idempotency key. Only after a
// nil error may a caller read what fn wrote into its closure: otherwise fn
// may still be running in the writer goroutine.
func (s *Store) write(ctx context.Context, fn func(*wtx) error) error {
	return s.submit(ctx, &op{fn: fn, err: make(chan error, 1)})
}

// writeRelaxed is writeAs for a write that needs no fsync of its own: one
// that writes no event, creates no id anyone is told, and whose loss in a
// power cut repeats work rather than loses it (a webhook delivery marked
// done is sent again: at least once). A batch of only such writes commits
// with synchronous=NORMAL; the next batch that needs FULL fsyncs the WAL,
// and with it every commit before. An fsync costs this process more CPU
// than the whole transaction around it (bench/README.md).
func (s *Store) writeRelaxed(ctx context.Context, name string, fn func(*wtx) error) error {
	return named(name, s.submit(ctx, &op{fn: fn, err: make(chan error, 1), relaxed: true}))
}

func (s *Store) submit(ctx context.Context, o *op) error {
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case s.ops <- o:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.err:
		return s.failed(err)
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		// The writer answers everything it took before it stopped.
		select {
		case err := <-o.err:
			return s.failed(err)
		default:
			return ErrClosed
		}
	}
}

// writeAs is write with its error wrapped in op, the name of the
// operation, as most of the package's writes return it.
func (s *Store) writeAs(ctx context.Context, op string, fn func(*wtx) error) error {
	return named(op, s.write(ctx, fn))
}

// named wraps a write's error, if any, in the name of its operation.
func named(op string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// failed gives a write's error its storage kind and tells CheckWritable
// of it.
func (s *Store) failed(err error) error {
	err = storageError(err)
	if err != nil {
		s.noteWriteFailed(err)
	}
	return err
}

// writer is the only goroutine that writes. It takes the first waiting
// write, then every other one already waiting (up to MaxBatch), and commits
// them in one transaction: while one commit is in fsync, the next batch
// accumulates, so throughput grows with concurrency instead of falling.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*op, 0, s.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.quit:
			// Finish what was submitted before Close.
			for {
				select {
				case o := <-s.ops:
					batch = append(batch, o)
				default:
					if len(batch) > 0 {
						s.commit(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*op) {
	results := make([]error, len(batch))
	var parked []*Park // see Park
	full := false
	for _, o := range batch {
		full = full || !o.relaxed
	}
	err := func() error {
		tx, err := s.begin(full)
		if err != nil {
			return err
		}
		defer tx.release()
		w := &wtx{txConn: tx, s: s, now: s.opts.Now().UTC()}
		// While CheckWritable's answer is a failure, a commit that wrote
		// something proves the disk takes writes again (see recovered).
		changesBefore := int64(-1)
		if h := s.health.Load(); h != nil && h.err != nil {
			changesBefore = totalChanges(tx)
		}
		single := len(batch) == 1
		ok := 0
		for i, o := range batch {
			if single {
				results[i] = run(o, w)
			} else if results[i], err = w.savepoint("op", func() error { return run(o, w) }); err != nil {
				tx.Rollback()
				return err
			}
			if results[i] == nil {
				ok++
			}
		}
		if ok == 0 {
			return tx.Rollback()
		}
		// A claim writes an event: never in a batch committed without an
		// fsync. No relaxed write makes a message claimable; should one,
		// the parked workers, woken by Subscribe, claim by themselves.
		if w.woke && full {
			if parked, err = s.claimParked(w); err != nil {
				tx.Rollback()
				return err
			}
		}
		wrote := changesBefore >= 0 && totalChanges(tx) > changesBefore
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if wrote {
			s.health.Store(&writable{at: s.opts.Now()})
		}
		s.commits.Add(1)
		s.written.Add(uint64(ok))
		if w.woke {
			s.claimable.notify()
		}
		if w.events > 0 {
			s.lastEvent.Store(s.eventSeq)
			s.logged.notify()
		}
		if w.webhookDue {
			// Counted first: a sender woken by the value sees it.
			s.webhookSeq.Add(1)
			s.webhooksDue.notify()
		}
		return nil
	}()
	for i, o := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		if results[i] == nil {
			s.logCommitted(o.changes)
		}
	}
	// A parked worker's send starts before the writes' callers hear of
	// the commit: its message waits on nothing else (the 202 comes after).
	s.answerParked(parked, err)
	for i, o := range batch {
		o.err <- results[i]
	}
}

// run runs one write; a panic becomes that write's error rather than the
// end of the writer, which every other caller waits on.
func run(o *op, w *wtx) (err error) {
	w.changes = nil
	defer func() {
		o.changes = w.changes
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return o.fn(w)
}

// backoff returns the delay before attempt+1 after a failed attempt
// (1-based): exponential, capped, with "equal jitter" so that messages
// failed together do not come back together.
func (s *Store) backoff(attempt int) time.Duration {
	d := s.opts.BackoffMax
	if attempt < 40 {
		if x := s.opts.BackoffBase * time.Duration(math.Pow(2, float64(attempt-1))); x > 0 && x < d {
			d = x
		}
	}
	half := d / 2
	return half + s.opts.Jitter(d-half)
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func nullNanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

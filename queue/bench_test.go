package queue

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of the durable write path (synchronous=FULL, one fsync per
// commit). Each reports enqueues/s and enqueues/commit: on an SD card a
// commit costs 5-20 ms, so the second number is what makes bursts cheap.
// Results and the command are in bench/README.md.

const benchText = "Your code is 493817. It expires in 10 minutes."

func BenchmarkEnqueue(b *testing.B) {
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("group/callers=%d", callers), func(b *testing.B) {
			s, _, _ := MustOpen(b, Options{Now: time.Now})
			benchEnqueue(b, s, callers)
		})
	}
	// The baseline: one transaction, hence one fsync, per enqueue.
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("txPerEnqueue/callers=%d", callers), func(b *testing.B) {
			s, _, _ := MustOpen(b, Options{Now: time.Now, MaxBatch: 1})
			benchEnqueue(b, s, callers)
		})
	}
}

// BenchmarkEnqueueWith1M enqueues with 64 callers into a database that
// already holds 1,000,000 messages (with their history rows). The database
// is built once, outside the timer: per process in a temporary directory,
// or, with BRIDGED_BENCH_DB1M=path, once at that path and reused by later
// runs (bench/queue.sh keeps it in bench/out/), so that building and
// deleting 300 MB does not disturb the disk while other runs are timed.
// What a run adds is deleted afterwards, outside the timer.
func BenchmarkEnqueueWith1M(b *testing.B) {
	path := bigDB(b)
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchEnqueue(b, s, 64)
	if _, err := s.wdb.Exec("DELETE FROM messages WHERE id > ?", bigRows); err != nil {
		b.Fatal(err)
	}
}

func benchEnqueue(b *testing.B, s *Store, callers int) {
	b.Helper()
	ctx := context.Background()
	before := s.Stats()
	cpu := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range callers {
		n := b.N / callers
		if c < b.N%callers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	after := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
	// CPU per enqueue (the process's user+system time, the fsync wait
	// excluded) is steadier than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/enqueue")
	if c := after.Commits - before.Commits; c > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(c), "enqueues/commit")
	}
}

// BenchmarkClaimComplete measures the dispatcher's write path per message:
// Claim one, then PartSent for its one part (which makes it sent), by 4
// modem workers at once.
func BenchmarkClaimComplete(b *testing.B) {
	s, _, _ := MustOpen(b, Options{Now: time.Now})
	ctx := context.Background()
	var wg sync.WaitGroup
	for c := range 64 { // fill the queue quickly, outside the timer
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < b.N; i += 64 {
				if _, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	before := s.Stats()
	b.ResetTimer()
	const modems = 4
	var done sync.WaitGroup
	var mu sync.Mutex
	left := b.N
	for m := range modems {
		done.Add(1)
		go func() {
			defer done.Done()
			modem := fmt.Sprint("m", m)
			for ref := 0; ; ref++ {
				mu.Lock()
				if left == 0 {
					mu.Unlock()
					return
				}
				left--
				mu.Unlock()
				ms, err := s.Claim(ctx, ClaimRequest{Modem: modem, Lease: time.Minute})
				if err != nil || len(ms) != 1 {
					b.Errorf("claim: %d %v", len(ms), err)
					return
				}
				if err := s.PartSent(ctx, *ms[0].Lease, 1, ref%256); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	done.Wait()
	b.StopTimer()
	after := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	if c := after.Commits - before.Commits; c > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(c), "writes/commit")
	}
}

// BenchmarkMessageLife is one message's way through the store as the
// daemon's `one` scenario takes it, one write after the other: Enqueue,
// Claim, PartSent (sent), each its own commit, with the event log and
// with or without one webhook endpoint queuing each event. CPU per message
// is the figure to compare: it does not wait on the disk's fsync.
func BenchmarkMessageLife(b *testing.B) {
	for _, hooks := range []int{0, 1} {
		b.Run(fmt.Sprintf("webhooks=%d", hooks), func(b *testing.B) {
			opts := Options{Now: time.Now}
			if hooks > 0 {
				opts.WebhookEndpoints = []WebhookEndpoint{{Name: "app"}}
			}
			s, _, _ := MustOpen(b, opts)
			ctx := context.Background()
			before := s.Stats()
			cpu := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
					b.Fatal(err)
				}
				ms, err := s.Claim(ctx, ClaimRequest{Modem: "m0", Lease: time.Minute})
				if err != nil || len(ms) != 1 {
					b.Fatalf("claim: %d %v", len(ms), err)
				}
				if err := s.PartSent(ctx, *ms[0].Lease, 1, i%256); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/message")
			// Deterministic where CPU time is not: what the writer ran.
			after := s.Stats()
			b.ReportMetric(float64(after.Statements-before.Statements)/float64(b.N), "statements/message")
		})
	}
}

const bigRows = 1_000_000

var (
	bigOnce sync.Once
	bigPath string
	bigTemp bool // bigPath is ours to remove at exit
	bigErr  error
)

// bigDB returns a database with bigRows messages: 99% delivered, 1% queued,
// each with one history row. It is built with set-based SQL in one
// transaction, which takes seconds rather than the minutes a million
// Enqueue calls would.
func bigDB(b *testing.B) string {
	bigOnce.Do(func() {
		bigPath = os.Getenv("BRIDGED_BENCH_DB1M")
		if bigPath != "" && bigDBReady(bigPath) {
			return
		}
		if bigPath == "" {
			dir, err := os.MkdirTemp("", "queue-bench-1m-")
			if err != nil {
				bigErr = err
				return
			}
			bigPath, bigTemp = filepath.Join(dir, "big.db"), true
		} else {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(bigPath + suffix)
			}
		}
		bigErr = buildBigDB(bigPath)
	})
	if bigErr != nil {
		b.Fatalf("build the 1M database: %v", bigErr)
	}
	return bigPath
}

// bigDBReady opens a database built by an earlier run, which applies any
// newer migration, and flushes what that wrote so that the timed runs do
// not wait for it.
func bigDBReady(path string) bool {
	s, err := Open(path, Options{})
	if err != nil {
		return false
	}
	var n int64
	ok := s.rdb.QueryRow("SELECT count(*) FROM messages").Scan(&n) == nil && n == bigRows
	if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		ok = false
	}
	s.Close()
	return ok && syncFile(path) == nil
}

func buildBigDB(path string) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().Add(-30 * 24 * time.Hour).UnixNano()
	_, err = db.Exec(`
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO messages (to_number, body, encoding, parts, status, due_at, created_at, updated_at, sent_at, delivered_at)
		SELECT '+4477009' || printf('%05d', i % 100000), ?, 'gsm7', 1,
			CASE WHEN i % 100 = 0 THEN 'queued' ELSE 'delivered' END,
			? + i * 1000000, ? + i * 1000000, ? + i * 1000000, ? + i * 1000000, ? + i * 1000000
		FROM n;
		INSERT INTO message_events (message_id, status, at, detail) SELECT id, status, created_at, '' FROM messages;`,
		bigRows, benchText, now, now, now, now, now)
	if err != nil {
		return err
	}
	// Leave the rows in the database file, not in a WAL of a million rows
	// that the first timed commit would checkpoint...
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	// ...and on the disk: otherwise the first timed fsync of the file
	// waits for the build's hundreds of megabytes.
	return syncFile(path)
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// BenchmarkFsync measures the disk under the benchmarks: one small append
// and fsync, the floor of one commit with synchronous=FULL. The machine is
// shared, so this says how loaded its disk was during a run.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEnqueue1MVersusFresh answers "is enqueue with 1,000,000 stored
// within 20% of enqueue into a fresh database?" on a shared machine whose
// disk latency changes from second to second: it alternates bursts of 2,048
// enqueues (64 callers) between a fresh store and the 1M store, so both
// see the same disk, and reports each rate and their ratio. Each op is one
// enqueue into each store.
func BenchmarkEnqueue1MVersusFresh(b *testing.B) {
	big, err := Open(bigDB(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer big.Close()
	fresh, _, _ := MustOpen(b, Options{Now: time.Now})
	const chunk = 2048
	var tFresh, tBig time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		tFresh += burst(b, fresh, n, 64)
		tBig += burst(b, big, n, 64)
	}
	b.StopTimer()
	rf, rb := float64(b.N)/tFresh.Seconds(), float64(b.N)/tBig.Seconds()
	b.ReportMetric(rf, "fresh-enqueues/s")
	b.ReportMetric(rb, "1M-enqueues/s")
	b.ReportMetric(rb/rf, "1M/fresh")
	if _, err := big.wdb.Exec("DELETE FROM messages WHERE id > ?", bigRows); err != nil {
		b.Fatal(err)
	}
}

// burst enqueues n messages from callers goroutines and returns the time.
func burst(b *testing.B, s *Store, n, callers int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for c := range callers {
		k := n / callers
		if c < n%callers {
			k++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range k {
				if _, err := s.Enqueue(context.Background(), "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

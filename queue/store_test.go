package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
)

func TestPragmas(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	for _, db := range []*sql.DB{s.wdb, s.rdb} {
		var (
			mode        string
			sync, fk    int
			busyTimeout int
		)
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("PRAGMA busy_timeout").Scan(&busyTimeout); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || fk != 1 || busyTimeout != int(DefaultBusyTimeout.Milliseconds()) {
			t.Errorf("journal_mode %s synchronous %d foreign_keys %d busy_timeout %d", mode, sync, fk, busyTimeout)
		}
	}
	if _, err := s.rdb.Exec("DELETE FROM messages"); err == nil {
		t.Error("the read pool can write")
	}
}

func TestSchemaVersionAndTooNew(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "kept"})[0].ID
	var v int
	if err := s.wdb.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() || v < 1 {
		t.Fatalf("user_version %d %v, want %d", v, err, SchemaVersion())
	}
	// Reopening applies nothing twice and keeps the data.
	s = MustReopen(t, s, path, Options{Now: clk.Now})
	if MustGet(t, s, id).Text != "kept" {
		t.Fatal("data lost on reopen")
	}
	if _, err := s.wdb.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("open newer schema: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", SchemaVersion()+1)) {
		t.Errorf("error does not say the version: %v", err)
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	path := t.TempDir() + "/not.db"
	if err := writeFile(path, strings.Repeat("not a database ", 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("opened a file that is not a database")
	}
}

// TestQueryPlansUseIndexes checks every listed query with EXPLAIN QUERY PLAN:
// no full table scan and no sort in a temporary b-tree. Scanning an index
// in order (the claim, with its LIMIT) is allowed.
func TestQueryPlansUseIndexes(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	// Some rows, and ANALYZE, so that the planner decides as it would on a
	// real database rather than on empty tables.
	for i := range 50 {
		MustEnqueue(t, s, NewMessage{To: fmt.Sprint("+1555", i%5), Text: "x"})
	}
	for _, stats := range []string{"no stats", "analyzed"} {
		if stats == "analyzed" {
			if _, err := s.wdb.Exec("ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		for name, q := range queryPlans {
			checkPlan(t, s, stats+"/"+name, q)
		}
	}
}

func checkPlan(t *testing.T, s *Store, name, q string) {
	t.Run(name, func(t *testing.T) {
		args := make([]any, strings.Count(q, "?"))
		rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		t.Logf("%q", plan)
		for _, d := range plan {
			// "SCAN CONSTANT ROW" is the row a SELECT of subqueries makes.
			scan := strings.HasPrefix(d, "SCAN ") && !strings.Contains(d, " USING ") && d != "SCAN CONSTANT ROW"
			if scan || strings.Contains(d, "TEMP B-TREE") {
				t.Errorf("plan %q\nfor %s", plan, q)
			}
		}
	})
}

// blockWriter occupies the writer with a write that waits for release, so
// that a test can line up writes behind it.
func blockWriter(t *testing.T, s *Store) (release func(), done <-chan error) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(*wtx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() { close(unblock) }, errc
}

func TestGroupCommitSharesOneTransaction(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	before := s.Stats()
	release, blocked := blockWriter(t, s)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Enqueue(ctx, "", NewMessage{To: "+1555", Text: fmt.Sprint(i)})
			errs <- err
		}()
	}
	testutil.Eventually(t, "40 enqueues waiting for the writer", func() bool { return len(s.ops) == n })
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	got := s.Stats()
	if c, w := got.Commits-before.Commits, got.Writes-before.Writes; c != 2 || w != n+1 {
		t.Fatalf("%d commits for %d writes, want 2 for %d", c, w, n+1)
	}
}

func TestGroupCommitIsolatesAFailingWrite(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	if _, err := s.Enqueue(ctx, "k", NewMessage{To: "+1555", Text: "original"}); err != nil {
		t.Fatal(err)
	}
	release, blocked := blockWriter(t, s)
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 3)
	submit := func(name, key, text string) {
		go func() {
			_, err := s.Enqueue(ctx, key, NewMessage{To: "+1555", Text: text})
			results <- result{name, err}
		}()
	}
	submit("before", "", "good 1")
	testutil.Eventually(t, "first write queued", func() bool { return len(s.ops) == 1 })
	submit("conflict", "k", "different body")
	testutil.Eventually(t, "second write queued", func() bool { return len(s.ops) == 2 })
	submit("after", "", "good 2")
	testutil.Eventually(t, "third write queued", func() bool { return len(s.ops) == 3 })
	commits := s.Stats().Commits
	release()
	<-blocked
	for range 3 {
		r := <-results
		if r.name == "conflict" {
			if !errors.Is(r.err, ErrIdempotencyConflict) {
				t.Errorf("conflict: %v", r.err)
			}
		} else if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
		}
	}
	if got := s.Stats().Commits - commits; got != 2 {
		t.Errorf("%d commits, want 2 (the blocker, then one batch of three)", got)
	}
	p, _ := s.List(ctx, Filter{})
	var texts []string
	for _, m := range p.Messages {
		texts = append(texts, m.Text)
	}
	if fmt.Sprint(texts) != "[good 2 good 1 original]" {
		t.Fatalf("stored %q", texts)
	}
}

func TestClosedStore(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, "", NewMessage{To: "+1555", Text: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestWriteHonoursContext(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	release, blocked := blockWriter(t, s)
	c, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := s.Enqueue(c, "", NewMessage{To: "+1555", Text: "x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("enqueue with an expired context: %v", err)
	}
	release()
	<-blocked
}

func TestWriterSurvivesAPanickingWrite(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.Exec(qInsertEvent, 1, "queued", 0, ""); err == nil {
			t.Error("an event for a missing message was accepted: foreign keys are off")
		}
		panic("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("panicking write: %v", err)
	}
	if ms := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "after"}); len(ms) != 1 {
		t.Fatal("writer stopped")
	}
}

func TestCloseFinishesSubmittedWrites(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	release, blocked := blockWriter(t, s)
	errs := make(chan error, 5)
	for i := range 5 {
		go func() {
			_, err := s.Enqueue(ctx, "", NewMessage{To: "+1555", Text: fmt.Sprint(i)})
			errs <- err
		}()
	}
	testutil.Eventually(t, "five writes queued", func() bool { return len(s.ops) == 5 })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	testutil.Eventually(t, "close started", func() bool { return s.closed.Load() })
	release()
	<-blocked
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatalf("a write submitted before Close: %v", err)
		}
	}
	s2, err := Open(path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if p, _ := s2.List(ctx, Filter{}); len(p.Messages) != 5 {
		t.Fatalf("%d messages after close and reopen, want 5", len(p.Messages))
	}
}

// A batch of relaxed writes only (webhook bookkeeping) commits with
// synchronous=NORMAL; any other write in the batch makes it FULL, and the
// next ordinary write is FULL again.
func TestRelaxedWritesSkipTheFsync(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	ctx := context.Background()
	// syncOf runs fn's write and reports the synchronous setting it ran
	// under (0 OFF, 1 NORMAL, 2 FULL).
	syncOf := func(w *wtx) (int, error) {
		var v int
		err := w.QueryRow("PRAGMA synchronous").Scan(&v)
		return v, err
	}
	var got int
	if err := s.writeRelaxed(ctx, "probe", func(w *wtx) (err error) { got, err = syncOf(w); return }); err != nil || got != 1 {
		t.Fatalf("a relaxed write alone: synchronous %d, %v; want 1 (NORMAL)", got, err)
	}
	if err := s.write(ctx, func(w *wtx) (err error) { got, err = syncOf(w); return }); err != nil || got != 2 {
		t.Fatalf("an ordinary write after it: synchronous %d, %v; want 2 (FULL)", got, err)
	}
	// Both in one batch, held together behind a busy writer.
	started, release, done := holdWriter(s)
	<-started
	var relaxed, ordinary int
	errs := make(chan error, 2)
	go func() {
		errs <- s.writeRelaxed(ctx, "probe", func(w *wtx) (err error) { relaxed, err = syncOf(w); return })
	}()
	waitQueued(t, s, 1)
	go func() { errs <- s.write(ctx, func(w *wtx) (err error) { ordinary, err = syncOf(w); return }) }()
	waitQueued(t, s, 2)
	release()
	for range 3 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if relaxed != 2 || ordinary != 2 {
		t.Fatalf("a relaxed and an ordinary write in one batch: synchronous %d and %d, want 2 (FULL) for both", relaxed, ordinary)
	}
}

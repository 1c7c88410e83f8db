package queue

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"bridged/internal/testutil"
)

// TestStatusLogOnlyCommitted: a status change is logged once its write
// committed, and not at all when the write is rolled back, also when it
// shares a transaction with writes that commit.
func TestStatusLogOnlyCommitted(t *testing.T) {
	var out testutil.Buffer
	s, _, _ := MustOpen(t, Options{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hello there"})[0].ID
	ctx := context.Background()

	// Concurrent writes, so that some share a batch: the failing ones are
	// rolled back to their savepoint.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := s.write(ctx, func(w *wtx) error {
				if err := w.event(id, StatusQueued, "probe"); err != nil {
					return err
				}
				if i%2 == 1 {
					return errors.New("rolled back")
				}
				return nil
			})
			if (err == nil) != (i%2 == 0) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	log := out.String()
	if n := strings.Count(log, `msg="message status" message=1 status=queued detail=probe`); n != 10 {
		t.Errorf("%d lines for the 10 committed changes:\n%s", n, log)
	}
	if n := strings.Count(log, `msg="message status" message=1 status=queued`+"\n"); n != 1 || strings.Contains(log, "hello") {
		t.Errorf("the enqueue logged %d times, or the text was logged:\n%s", n, log)
	}
}

// A caller whose ctx ends after the writer ran its write but before the
// commit answered gets the ctx's error; the write commits all the same,
// and its status change is logged once, by the writer.
func TestStatusLoggedWhenTheCallerHasGone(t *testing.T) {
	var out testutil.Buffer
	s, _, _ := MustOpen(t, Options{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	answered := make(chan error, 1)
	// The writer runs the enqueue, then waits before it commits.
	cancel, commit := heldBatch(t, s, func(ctx context.Context) {
		_, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: "hello there"})
		answered <- err
	})
	cancel()
	if err := <-answered; !errors.Is(err, context.Canceled) {
		t.Fatalf("enqueue: %v, want the ctx's error", err)
	}
	if strings.Contains(out.String(), "message status") {
		t.Fatalf("logged before the commit:\n%s", out.String())
	}
	commit()
	if n := strings.Count(out.String(), `msg="message status" message=1 status=queued`); n != 1 {
		t.Errorf("%d lines for the committed enqueue:\n%s", n, out.String())
	}
	if m, err := s.Get(context.Background(), 1); err != nil || m.Status != StatusQueued {
		t.Errorf("message 1: %+v %v", m, err)
	}
}

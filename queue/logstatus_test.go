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

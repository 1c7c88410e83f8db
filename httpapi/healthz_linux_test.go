//go:build linux

package httpapi

import (
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/queue"
)

// TestHealthzSeesUnwritableStoreWithinInterval: with no other write to
// fail meanwhile, /healthz still notices a store that stopped taking
// writes, at the latest one interval after its last check, and notices
// the recovery a second after that. The disk refuses writes through a file
// size limit as in TestDiskWriteFails (process-wide: not parallel).
func TestHealthzSeesUnwritableStoreWithinInterval(t *testing.T) {
	clk := testutil.NewClock(time.Now())
	e := MustServe(t, Options{}, queue.Options{Now: clk.Now, WriteCheckInterval: 10 * time.Second})
	e.must(200, "GET", "/healthz", "")
	restore := limitFileSize(t, e.path)
	// Within the interval the last answer stands (no write is made)...
	cached := e.do("GET", "/healthz", "")
	clk.Advance(10 * time.Second)
	// ...and once it has passed, the check writes and fails.
	failed := e.do("GET", "/healthz", "")
	again := e.do("GET", "/healthz", "")
	restore()
	if cached.status != 200 {
		t.Errorf("within the interval: %d %s", cached.status, cached.raw)
	}
	for _, r := range []response{failed, again} {
		if r.status != 503 || r.errorField("code") != CodeStoreUnavailable {
			t.Errorf("after the interval: %d %s", r.status, r.raw)
		}
	}
	// A failure is kept for a second, then checked again.
	clk.Advance(time.Second)
	e.must(200, "GET", "/healthz", "")
}

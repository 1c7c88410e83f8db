//go:build linux

package httpapi

import (
	"testing"

	"bridged/internal/testutil"
)

// TestMetricsCountWriteErrors: a write the disk refuses (the file size
// limit of TestDiskWriteFails; process-wide, so not parallel) is one more
// bridged_store_write_errors_total, and a write refused for
// its content is none.
func TestMetricsCountWriteErrors(t *testing.T) {
	e := mustServeMetrics(t, Options{})
	e.send(`{"to":"+447400123456","text":"before"}`)
	// A write the store refuses for what it asks (no such message) is no
	// storage error.
	e.must(404, "DELETE", "/v1/messages/999", "")
	scrape := func() float64 {
		return testutil.Scrape(t, e.srv.URL+"/metrics", "").Must(t, "bridged_store_write_errors_total")
	}
	if got := scrape(); got != 0 {
		t.Fatalf("write errors before the disk refuses: %v", got)
	}
	restore := limitFileSize(t, e.path)
	post := e.do("POST", "/v1/messages", `{"to":"+447400123456","text":"cannot be written"}`)
	restore()
	if post.status != 503 {
		t.Fatalf("post while the disk refuses writes: %d %s", post.status, post.raw)
	}
	if got := scrape(); got != 1 {
		t.Errorf("write errors after one refused write: %v, want 1", got)
	}
}

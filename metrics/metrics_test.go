package metrics

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/queue"
)

// fixedModems is a fixed list of modem statuses: what the drivers would say.
type fixedModems []modem.Status

func (s fixedModems) Statuses() []modem.Status { return s }

func openStore(t *testing.T) *queue.Store {
	t.Helper()
	s, err := queue.Open(filepath.Join(t.TempDir(), "bridged.db"), queue.Options{WebhookEndpoints: []queue.WebhookEndpoint{{Name: "app"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestScrape: a scrape of a real store over HTTP parses with Prometheus'
// own parser and says what the store and the modems hold; the counts are
// read again only once the cache has aged.
func TestScrape(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	clk := testutil.NewClock(time.Now())
	dbm := -71
	mods := fixedModems{
		{ID: "usb0", State: modem.StateReady, SignalDBm: &dbm, Storage: "SM", StorageUsed: 3, StorageTotal: 30, Sent: 5, Failed: 1, Received: 7},
		{ID: `odd"id`, State: modem.StateSIMError},
	}
	e := New(store, mods, Options{Build: Build{Version: "v1.2.3", Commit: "abc", GoVersion: runtime.Version()}, Now: clk.Now})
	srv := httptest.NewServer(e)
	defer srv.Close()

	m := testutil.Scrape(t, srv.URL, "")
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bridged_build_info", []string{"version", "v1.2.3", "commit", "abc", "goversion", runtime.Version()}, 1},
		{"bridged_messages", []string{"status", "queued"}, 0},
		{"bridged_messages", []string{"status", "cancelled"}, 0},
		{"bridged_queue_depth_messages", nil, 0},
		{"bridged_webhook_pending_deliveries", nil, 0},
		{"bridged_store_write_errors_total", nil, 0},
		{"bridged_modem_up", []string{"modem", "usb0"}, 1},
		{"bridged_modem_up", []string{"modem", `odd"id`}, 0},
		{"bridged_modem_state", []string{"modem", "usb0", "state", "ready"}, 1},
		{"bridged_modem_state", []string{"modem", "usb0", "state", "starting"}, 0},
		{"bridged_modem_state", []string{"modem", `odd"id`, "state", "sim-error"}, 1},
		{"bridged_modem_signal_dbm", []string{"modem", "usb0"}, -71},
		{"bridged_modem_parts_sent_total", []string{"modem", "usb0"}, 5},
		{"bridged_modem_send_failures_total", []string{"modem", "usb0"}, 1},
		{"bridged_modem_pdus_received_total", []string{"modem", "usb0"}, 7},
		{"bridged_modem_storage_used_messages", []string{"modem", "usb0", "storage", "SM"}, 3},
		{"bridged_modem_storage_capacity_messages", []string{"modem", "usb0", "storage", "SM"}, 30},
	} {
		if got := m.Must(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if _, ok := m.Value("bridged_modem_signal_dbm", "modem", `odd"id`); ok {
		t.Error("a modem whose signal is unknown has a signal series")
	}
	if _, ok := m.Value("bridged_modem_storage_used_messages", "modem", `odd"id`); ok {
		t.Error("a modem whose storage was never listed has a storage series")
	}
	if n := len(m["bridged_modem_state"].GetMetric()); n != 2*len(states) {
		t.Errorf("bridged_modem_state has %d series, want one per state and modem (%d)", n, 2*len(states))
	}
	// The default set comes along: the Go runtime's and the process's.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "bridged_send_latency_seconds"} {
		if m[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
	if got := m["bridged_send_latency_seconds"].GetType().String(); got != "HISTOGRAM" {
		t.Errorf("bridged_send_latency_seconds is a %s", got)
	}

	if _, err := store.Enqueue(ctx, "", queue.NewMessage{To: "+441", Text: "a"}, queue.NewMessage{To: "+442", Text: "b"}); err != nil {
		t.Fatal(err)
	}
	// Within the cache period the counts are those read before...
	if got := testutil.Scrape(t, srv.URL, "").Must(t, "bridged_messages", "status", "queued"); got != 0 {
		t.Errorf("queued within the cache period: %v, want the cached 0", got)
	}
	// ...and after it, the store's.
	clk.Advance(DefaultCacheFor)
	m = testutil.Scrape(t, srv.URL, "")
	if got := m.Must(t, "bridged_messages", "status", "queued"); got != 2 {
		t.Errorf("queued after the cache period: %v, want 2", got)
	}
	if got := m.Must(t, "bridged_queue_depth_messages"); got != 2 {
		t.Errorf("queue depth: %v, want 2", got)
	}
	if got := m.Must(t, "bridged_webhook_pending_deliveries"); got != 2 {
		t.Errorf("webhook deliveries pending after two events for one endpoint: %v", got)
	}
}

// TestMessageSent: each sent message is one more sample of the latency
// histogram, in the bucket of its latency.
func TestMessageSent(t *testing.T) {
	store := openStore(t)
	srv := httptest.NewServer(New(store, nil, Options{}))
	defer srv.Close()
	before := testutil.Scrape(t, srv.URL, "")
	queued := time.Now()
	later := queued.Add(time.Minute)
	MessageSent(&queue.Message{CreatedAt: queued}, queued.Add(300*time.Millisecond))
	// Scheduled for a minute later: counted from then, 0.3 s too.
	MessageSent(&queue.Message{CreatedAt: queued, SendAt: &later}, later.Add(300*time.Millisecond))
	MessageSent(&queue.Message{CreatedAt: queued}, queued.Add(-time.Second)) // a clock set back: zero
	after := testutil.Scrape(t, srv.URL, "")
	if d := after.Must(t, "bridged_send_latency_seconds") - before.Must(t, "bridged_send_latency_seconds"); d != 3 {
		t.Errorf("histogram count grew by %v, want 3", d)
	}
	bucket := func(m testutil.Metrics, le float64) uint64 {
		for _, b := range m["bridged_send_latency_seconds"].GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() == le {
				return b.GetCumulativeCount()
			}
		}
		t.Fatalf("no bucket le=%v", le)
		return 0
	}
	if d := bucket(after, 0.25) - bucket(before, 0.25); d != 1 {
		t.Errorf("bucket le=0.25 grew by %d, want 1 (the zero)", d)
	}
	if d := bucket(after, 0.5) - bucket(before, 0.5); d != 3 {
		t.Errorf("bucket le=0.5 grew by %d, want 3", d)
	}
}

// TestScrapeWithoutStore: a store that cannot be read leaves its series
// out, logs why once, and the rest of the scrape still arrives.
func TestScrapeWithoutStore(t *testing.T) {
	store := openStore(t)
	store.Close()
	var log testutil.Buffer
	clk := testutil.NewClock(time.Now())
	srv := httptest.NewServer(New(store, fixedModems{{ID: "m", State: modem.StateReady}}, Options{Logger: newLogger(&log), Now: clk.Now}))
	defer srv.Close()
	for range 3 {
		m := testutil.Scrape(t, srv.URL, "")
		if m["bridged_messages"] != nil || m["bridged_queue_depth_messages"] != nil {
			t.Error("counts of a closed store in the scrape")
		}
		if m.Must(t, "bridged_modem_up", "modem", "m") != 1 {
			t.Error("the modem's series are missing")
		}
		if m["bridged_modem_signal_dbm"] != nil {
			t.Error("a signal family although no modem knows its signal")
		}
		clk.Advance(DefaultCacheFor)
	}
	if n := strings.Count(log.String(), "left out of the scrape"); n != 1 {
		t.Errorf("a failing count logged %d times within a minute, want once:\n%s", n, log.String())
	}
}

func newLogger(w *testutil.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestDefaultSetScraped: a counter another package keeps in the default
// set, as the webhook sender keeps bridged_webhook_deliveries_total (the
// contract), is in the scrape, typed and labelled.
func TestDefaultSetScraped(t *testing.T) {
	srv := httptest.NewServer(New(openStore(t), nil, Options{}))
	defer srv.Close()
	c := vm.GetOrCreateCounter(`bridged_webhook_deliveries_total{result="dead"}`)
	before := c.Get()
	c.Inc()
	m := testutil.Scrape(t, srv.URL, "")
	if got := m.Must(t, "bridged_webhook_deliveries_total", "result", "dead"); got != float64(before+1) {
		t.Errorf("bridged_webhook_deliveries_total{result=dead} = %v, want %d", got, before+1)
	}
	if got := m["bridged_webhook_deliveries_total"].GetType().String(); got != "COUNTER" {
		t.Errorf("bridged_webhook_deliveries_total is a %s", got)
	}
}

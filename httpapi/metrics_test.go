package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/metrics"
	"bridged/modem"
	"bridged/queue"
)

// countingStore is the real store, counting the exporter's reads of it.
type countingStore struct {
	*queue.Store
	reads atomic.Int64
}

func (s *countingStore) Counts(ctx context.Context) (queue.Counts, error) {
	s.reads.Add(1)
	return s.Store.Counts(ctx)
}

type metricsEnv struct {
	*testEnv
	counting *countingStore
	clock    *testutil.Clock
}

// mustServeMetrics starts the API with GET /metrics over a real store.
func mustServeMetrics(t *testing.T, opts Options) *metricsEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.db")
	st, err := queue.Open(path, queue.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &metricsEnv{
		testEnv:  &testEnv{t: t, store: st, path: path, modems: &testModems{}, log: &testutil.Buffer{}},
		counting: &countingStore{Store: st},
		clock:    testutil.NewClock(time.Now()),
	}
	exp := metrics.New(e.counting, e.modems, metrics.Options{Build: metrics.Build{Version: "dev", Commit: "unknown", GoVersion: runtime.Version()}, Now: e.clock.Now})
	h, err := New(opts, Deps{Store: st, Health: st, Modems: e.modems, Metrics: exp})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// TestMetricsAuth: with tokens set, /metrics takes an API token or the
// metrics token and nothing else, and a refused request reads nothing
// from the store; the metrics token opens nothing under /v1.
func TestMetricsAuth(t *testing.T) {
	const (
		api = "api-token-0123456789"
		met = "metrics-token-0123456789"
	)
	e := mustServeMetrics(t, Options{Tokens: []string{api}, MetricsToken: met})
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "<none>", 401},
		{"wrong token", "Bearer not-a-token-at-all", 401},
		{"not bearer", "Basic " + met, 401},
	} {
		r := e.do("GET", "/metrics", "", "Authorization", tt.auth)
		if r.status != tt.want || r.errorField("code") != CodeUnauthorized {
			t.Errorf("%s: %d %s", tt.name, r.status, r.raw)
		}
	}
	if n := e.counting.reads.Load(); n != 0 {
		t.Errorf("refused scrapes read the store %d times", n)
	}
	for _, tok := range []string{api, met} {
		m := testutil.Scrape(t, e.srv.URL+"/metrics", tok)
		if _, ok := m.Value("bridged_messages", "status", "queued"); !ok {
			t.Errorf("token %s...: no bridged_messages", tok[:4])
		}
	}
	if r := e.do("GET", "/v1/messages", "", "Authorization", "Bearer "+met); r.status != 401 {
		t.Errorf("the metrics token on /v1: %d %s", r.status, r.raw)
	}
}

// TestMetricsOpen: without tokens /metrics is open like /v1, and like it
// refuses a Host that is not this machine (DNS rebinding); a metrics token
// alone protects /metrics and leaves /v1 open.
func TestMetricsOpen(t *testing.T) {
	e := mustServeMetrics(t, Options{})
	testutil.Scrape(t, e.srv.URL+"/metrics", "")
	if status, body := e.doHost("attacker.example", "/metrics"); status != 403 || !strings.Contains(body, CodeHostNotAllowed) {
		t.Errorf("a foreign Host: %d %s", status, body)
	}
	if r := e.do("POST", "/metrics", ""); r.status != 405 {
		t.Errorf("POST /metrics: %d %s", r.status, r.raw)
	}

	const met = "metrics-token-0123456789"
	e = mustServeMetrics(t, Options{MetricsToken: met})
	if r := e.do("GET", "/metrics", ""); r.status != 401 {
		t.Errorf("no token with a metrics token set: %d %s", r.status, r.raw)
	}
	testutil.Scrape(t, e.srv.URL+"/metrics", met)
	e.must(200, "GET", "/v1/messages", "")

	if _, err := New(Options{MetricsToken: met}, Deps{Store: e.store, Health: e.store}); err == nil || !strings.Contains(err.Error(), "metrics token") {
		t.Errorf("a metrics token without /metrics: %v", err)
	}
}

// TestMetricsFollowMessages: the counts by status and the queue depth move
// as messages are posted and cancelled, once the exporter's cache ages.
func TestMetricsFollowMessages(t *testing.T) {
	e := mustServeMetrics(t, Options{})
	e.modems.set(modem.Status{ID: "usb0", State: modem.StateReady, Sent: 2})
	scrape := func() testutil.Metrics {
		t.Helper()
		e.clock.Advance(metrics.DefaultCacheFor)
		return testutil.Scrape(t, e.srv.URL+"/metrics", "")
	}
	if got := scrape().Must(t, "bridged_queue_depth_messages"); got != 0 {
		t.Errorf("depth of an empty queue: %v", got)
	}
	ids := e.send(`{"to":["+447400123456","+447400123457"],"text":"hi"}`)
	m := scrape()
	if q, d := m.Must(t, "bridged_messages", "status", "queued"), m.Must(t, "bridged_queue_depth_messages"); q != 2 || d != 2 {
		t.Errorf("after posting two: queued %v, depth %v", q, d)
	}
	e.must(200, "DELETE", fmt.Sprintf("/v1/messages/%d", ids[0]), "")
	m = scrape()
	if q, c := m.Must(t, "bridged_messages", "status", "queued"), m.Must(t, "bridged_messages", "status", "cancelled"); q != 1 || c != 1 {
		t.Errorf("after cancelling one: queued %v, cancelled %v", q, c)
	}
	if got := m.Must(t, "bridged_modem_parts_sent_total", "modem", "usb0"); got != 2 {
		t.Errorf("parts sent by usb0: %v", got)
	}
}

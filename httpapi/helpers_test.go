package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
	"bridged/queue"
)

// Compile-time proof that the queue as it is serves the API.
var _ Store = (*queue.Store)(nil)

// testModems is the modems' side of the seam: statuses a test sets.
type testModems struct {
	mu sync.Mutex
	st []modem.Status
}

func (m *testModems) Statuses() []modem.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]modem.Status(nil), m.st...)
}

func (m *testModems) set(st ...modem.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st = st
}

type testEnv struct {
	t      *testing.T
	srv    *httptest.Server
	h      *Handler
	store  *queue.Store
	path   string
	modems *testModems
	log    *testutil.Buffer
	// wakes is the store's Subscribe channel, the dispatcher's signal
	// that a message can be claimed; see wake.
	wakes <-chan struct{}
	token string
}

// MustServe starts the API on 127.0.0.1 over a store on a file in
// t.TempDir. opts.Logger, when nil, logs at Info into env.log.
func MustServe(t *testing.T, opts Options, qopts queue.Options) *testEnv {
	t.Helper()
	return MustServeWith(t, opts, qopts, nil)
}

// MustServeWith is MustServe with the http.Server's settings (timeouts)
// changed by configure before it starts; configure may be nil.
func MustServeWith(t *testing.T, opts Options, qopts queue.Options, configure func(*http.Server)) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.db")
	st, err := queue.Open(path, qopts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	wakes, unsubscribe := st.Subscribe()
	t.Cleanup(unsubscribe)
	e := &testEnv{t: t, store: st, path: path, modems: &testModems{}, log: &testutil.Buffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if len(opts.Tokens) > 0 {
		e.token = opts.Tokens[0]
	}
	e.wakes = wakes
	h, err := New(opts, Deps{Store: st, Health: st, Modems: e.modems, Events: st, Webhooks: st})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	e.h = h
	e.srv = httptest.NewUnstartedServer(h)
	if configure != nil {
		configure(e.srv.Config)
	}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// wake says how many messages the store holds now that the dispatcher
// has been woken, and fails t if it has not been since the last call. The
// store wakes its subscribers in the commit, before Enqueue returns, so
// after an answer the wake is there or never comes.
func (e *testEnv) wake(t testing.TB) int {
	t.Helper()
	select {
	case <-e.wakes:
	default:
		t.Errorf("the dispatcher was not woken")
		return -1
	}
	p, err := e.store.List(context.Background(), queue.Filter{Limit: queue.MaxPageSize})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return len(p.Messages)
}

// woken reports whether the dispatcher was woken since the last wake.
func (e *testEnv) woken() bool {
	select {
	case <-e.wakes:
		return true
	default:
		return false
	}
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// errorField returns error.<name> of an error response.
func (r response) errorField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

// do sends a request; a non-empty body goes as application/json unless
// header says otherwise.
func (e *testEnv) do(method, path, body string, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "<none>" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, b)
		}
	}
	return r
}

// must sends a request and fails the test unless the status is want.
func (e *testEnv) must(want int, method, path, body string, header ...string) response {
	e.t.Helper()
	r := e.do(method, path, body, header...)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, want, r.raw)
	}
	return r
}

// send posts a message and returns the ids of the 202.
func (e *testEnv) send(body string, header ...string) []int64 {
	e.t.Helper()
	r := e.must(http.StatusAccepted, "POST", "/v1/messages", body, header...)
	var ids []int64
	for _, m := range r.body["messages"].([]any) {
		ids = append(ids, int64(m.(map[string]any)["id"].(float64)))
	}
	return ids
}

// receive stores a received text as the modem driver would.
func (e *testEnv) receive(from, text string, at time.Time) *queue.InboxMessage {
	e.t.Helper()
	enc, err := smsc.Deliver{From: from, Text: text, Timestamp: at}.Encode()
	if err != nil {
		e.t.Fatalf("encode deliver: %v", err)
	}
	var im *queue.InboxMessage
	for _, p := range enc.Parts {
		res, err := e.store.Receive(context.Background(), pdu.DecodeReceived("m1", p.PDU, "", -1))
		if err != nil {
			e.t.Fatalf("receive: %v", err)
		}
		im = res.Message
	}
	if im == nil {
		e.t.Fatalf("receive %q: no inbox message", text)
	}
	return im
}

func messages(r response) []map[string]any {
	var out []map[string]any
	for _, m := range r.body["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

// keys returns an object's keys, sorted, to compare with the field lists.
func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

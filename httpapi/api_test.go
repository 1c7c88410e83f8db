package httpapi

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bridged/modem"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
	"bridged/queue"
)

func TestInbox(t *testing.T) {
	e := MustServe(t, Options{DefaultCountry: "GB"}, queue.Options{})
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 5 {
		im := e.receive(fmt.Sprintf("+44740012345%d", i%2), fmt.Sprintf("reply %d", i), t0.Add(time.Duration(i)*time.Minute))
		ids = append(ids, im.ID)
	}
	long := e.receive("+8613800138000", strings.Repeat("长", 150), t0.Add(time.Hour))

	// Oldest first, across pages; the last page still carries a cursor to
	// poll with.
	var seen []int64
	cursor := ""
	for range 3 {
		r := e.must(200, "GET", "/v1/inbox?limit=2&cursor="+cursor, "")
		for _, m := range messages(r) {
			seen = append(seen, int64(m["id"].(float64)))
		}
		cursor = r.body["next_cursor"].(string)
	}
	if fmt.Sprint(seen) != fmt.Sprint(append(ids, long.ID)) {
		t.Errorf("pages gave %v", seen)
	}
	r := e.must(200, "GET", "/v1/inbox?cursor="+cursor, "")
	if len(messages(r)) != 0 || r.body["next_cursor"] != cursor {
		t.Errorf("poll after the end: %s", r.raw)
	}
	e.receive("+447400123450", "later", t0.Add(2*time.Hour))
	if r := e.must(200, "GET", "/v1/inbox?cursor="+cursor, ""); len(messages(r)) != 1 {
		t.Errorf("poll missed the new message: %s", r.raw)
	}

	m := e.must(200, "GET", fmt.Sprintf("/v1/inbox/%d", long.ID), "").body
	for k, want := range map[string]any{"id": float64(long.ID), "from": "+8613800138000", "modem": "m1",
		"text": strings.Repeat("长", 150), "parts": float64(3), "incomplete": false, "sent_at": "2026-03-01T10:00:00Z"} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if k := keys(m); k != "from,id,incomplete,modem,parts,received_at,sent_at,text" {
		t.Errorf("an inbox message has %s", k)
	}
	if k := keys(r.body); k != "messages,next_cursor" {
		t.Errorf("an inbox page has %s", k)
	}
	if _, err := time.Parse(time.RFC3339, m["received_at"].(string)); err != nil {
		t.Errorf("received_at: %v", err)
	}

	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{name: "from in national form", query: "from=07400123451", want: []int64{ids[1], ids[3]}},
		{name: "since", query: "since=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), want: nil},
		{name: "since the future", query: "since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), want: nil},
		{name: "from an alphanumeric sender", query: "from=VODAFONE", want: nil},
	}
	tests[1].want = append(append([]int64{}, ids...), long.ID, long.ID+1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(200, "GET", "/v1/inbox?"+tt.query, "")
			var got []int64
			for _, m := range messages(r) {
				got = append(got, int64(m["id"].(float64)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, q := range []string{"since=yesterday", "limit=0", "cursor=%21", "to=x"} {
		e.must(400, "GET", "/v1/inbox?"+q, "")
	}

	e.must(http.StatusNoContent, "DELETE", fmt.Sprintf("/v1/inbox/%d", ids[0]), "")
	r = e.must(404, "DELETE", fmt.Sprintf("/v1/inbox/%d", ids[0]), "")
	if !strings.Contains(r.errorField("message"), fmt.Sprintf("no received message with id %d", ids[0])) {
		t.Errorf("%s", r.raw)
	}
	e.must(404, "GET", fmt.Sprintf("/v1/inbox/%d", ids[0]), "")
	e.must(404, "GET", "/v1/inbox/x", "")
}

func TestModemsAndReadiness(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	r := e.must(503, "GET", "/readyz", "")
	if r.errorField("code") != CodeNotReady || r.errorField("message") != "no modem is configured" {
		t.Errorf("%s", r.raw)
	}
	dbm := -71
	e.modems.set(
		modem.Status{ID: "m1", Device: "/dev/ttyUSB2", State: modem.StateNotRegistered, Manufacturer: "Quectel",
			Model: "EC25", IMEI: "867698041234567", Registration: modem.RegSearching, LastError: "no network"},
		modem.Status{ID: "m2", Device: "sim", State: modem.StateStarting},
	)
	r = e.must(503, "GET", "/readyz", "")
	if r.errorField("message") != "none of the 2 modems is ready: see GET /v1/modems" {
		t.Errorf("%s", r.raw)
	}
	e.modems.set(
		modem.Status{ID: "m1", Device: "/dev/ttyUSB2", State: modem.StateReady, Manufacturer: "Quectel",
			Model: "EC25", IMEI: "867698041234567", Operator: "EE", Registration: modem.RegHome, SignalDBm: &dbm,
			Sent: 10, Failed: 1, Received: 4},
		modem.Status{ID: "m2", Device: "sim", State: modem.StateDisconnected, LastError: "port closed"},
	)
	r = e.must(200, "GET", "/readyz", "")
	if r.body["modems_ready"] != float64(1) {
		t.Errorf("%s", r.raw)
	}
	r = e.must(200, "GET", "/v1/modems", "")
	ms := r.body["modems"].([]any)
	if len(ms) != 2 {
		t.Fatalf("%s", r.raw)
	}
	want := map[string]any{"id": "m1", "device": "/dev/ttyUSB2", "state": "ready", "manufacturer": "Quectel",
		"model": "EC25", "imei": "867698041234567", "operator": "EE", "registration": "home", "signal_dbm": float64(-71),
		"sent": float64(10), "failed": float64(1), "received": float64(4), "last_error": "", "last_error_at": nil, "pin_attempts_left": nil}
	m1 := ms[0].(map[string]any)
	for k, v := range want {
		if m1[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m1[k], v)
		}
	}
	if len(m1) != len(want) {
		t.Errorf("fields %v, want exactly %v", m1, want)
	}
	if m2 := ms[1].(map[string]any); m2["signal_dbm"] != nil || m2["state"] != "disconnected" || m2["last_error"] != "port closed" {
		t.Errorf("m2 %v", m2)
	}
	e.must(200, "GET", "/healthz", "")
}

func TestAuth(t *testing.T) {
	e := MustServe(t, Options{Tokens: []string{"s3cret-one", "s3cret-two", "s3cret-three"}}, queue.Options{})
	if reflect.ValueOf(e.h.compare).Pointer() != reflect.ValueOf(subtle.ConstantTimeCompare).Pointer() {
		t.Fatal("tokens are not compared with subtle.ConstantTimeCompare")
	}
	var compares atomic.Int32
	e.h.compare = func(a, b []byte) int {
		compares.Add(1)
		return subtle.ConstantTimeCompare(a, b)
	}
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		status int
		www    string
	}{
		{name: "missing", method: "GET", path: "/v1/messages", auth: "<none>", status: 401, www: `Bearer realm="bridged"`},
		{name: "not bearer", method: "GET", path: "/v1/messages", auth: "Basic czNjcmV0LW9uZTo=", status: 401, www: `Bearer realm="bridged"`},
		{name: "wrong", method: "GET", path: "/v1/messages", auth: "Bearer s3cret-four", status: 401, www: `Bearer realm="bridged", error="invalid_token"`},
		{name: "prefix of a token", method: "GET", path: "/v1/messages", auth: "Bearer s3cret", status: 401, www: `Bearer realm="bridged", error="invalid_token"`},
		{name: "token plus more", method: "GET", path: "/v1/messages", auth: "Bearer s3cret-one1", status: 401, www: `Bearer realm="bridged", error="invalid_token"`},
		{name: "unknown endpoint needs a token too", method: "GET", path: "/v1/nothing", auth: "<none>", status: 401, www: `Bearer realm="bridged"`},
		{name: "unclean path", method: "GET", path: "/v1/../v1/messages", auth: "<none>", status: 401, www: `Bearer realm="bridged"`},
		{name: "first token", method: "GET", path: "/v1/messages", auth: "Bearer s3cret-one", status: 200},
		{name: "last token, lower-case scheme", method: "GET", path: "/v1/modems", auth: "bearer s3cret-three", status: 200},
		{name: "healthz is open", method: "GET", path: "/healthz", auth: "<none>", status: 200},
		{name: "readyz is open", method: "GET", path: "/readyz", auth: "<none>", status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compares.Store(0)
			r := e.do(tt.method, tt.path, "", "Authorization", tt.auth)
			if r.status != tt.status || r.header.Get("WWW-Authenticate") != tt.www {
				t.Errorf("got %d %q %s, want %d %q", r.status, r.header.Get("WWW-Authenticate"), r.raw, tt.status, tt.www)
			}
			if tt.status == 401 && r.errorField("code") != CodeUnauthorized {
				t.Errorf("%s", r.raw)
			}
			// Every configured token is compared, even after a match,
			// with the constant-time compare.
			if n := compares.Load(); strings.HasPrefix(tt.auth, "Bearer") || strings.HasPrefix(tt.auth, "bearer") {
				if n != 3 {
					t.Errorf("%d comparisons, want 3", n)
				}
			}
		})
	}
	e.send(`{"to":"+447400123456","text":"with a token"}`)
}

func TestAuthOpenWithoutTokens(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	e.must(200, "GET", "/v1/messages", "", "Authorization", "Bearer anything")
	e.must(200, "GET", "/v1/messages", "")
}

func TestUnroutedRequests(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{name: "wrong method on a collection", method: "PUT", path: "/v1/messages", status: 405, code: CodeMethodNotAllowed, allow: "GET, HEAD, POST"},
		{name: "wrong method on an item", method: "POST", path: "/v1/messages/1", status: 405, code: CodeMethodNotAllowed, allow: "DELETE, GET, HEAD"},
		{name: "GET on estimate", method: "GET", path: "/v1/estimate", status: 405, code: CodeMethodNotAllowed, allow: "POST"},
		{name: "unknown endpoint", method: "GET", path: "/v2/messages", status: 404, code: CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, "")
			if r.status != tt.status || r.errorField("code") != tt.code || r.header.Get("Allow") != tt.allow {
				t.Errorf("got %d Allow %q %s", r.status, r.header.Get("Allow"), r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// lockDatabase holds the write lock from another connection, as a backup
// tool or the sqlite3 shell would, until the returned function is called.
func lockDatabase(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	// BEGIN IMMEDIATE (_txlock) takes the write lock at once.
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	return func() {
		tx.Rollback()
		db.Close()
	}
}

func TestStoreNotWritable(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{BusyTimeout: 50 * time.Millisecond})
	id := e.send(`{"to":"+447400123456","text":"before"}`)[0]
	e.wake(t)
	e.must(200, "GET", "/healthz", "")

	unlock := lockDatabase(t, e.path)
	r := e.must(503, "POST", "/v1/messages", `{"to":"+447400123456","text":"while locked"}`)
	if r.errorField("code") != CodeStoreLocked || !strings.Contains(r.errorField("message"), "locked by another process") ||
		r.header.Get("Retry-After") != "1" {
		t.Errorf("%v %s", r.header, r.raw)
	}
	reqID := r.header.Get("X-Request-Id")
	if reqID == "" || !strings.Contains(e.log.String(), "request_id="+reqID) || !strings.Contains(e.log.String(), "level=ERROR") {
		t.Errorf("internal error not logged with request id %q:\n%s", reqID, e.log)
	}
	if strings.Contains(e.log.String(), "+447400123456") || strings.Contains(e.log.String(), "while locked") {
		t.Errorf("number or text logged above Debug:\n%s", e.log)
	}
	r = e.must(503, "GET", "/healthz", "")
	if r.errorField("code") != CodeStoreLocked {
		t.Errorf("%s", r.raw)
	}
	r = e.must(503, "DELETE", fmt.Sprintf("/v1/messages/%d", id), "")
	if r.errorField("code") != CodeStoreLocked {
		t.Errorf("%s", r.raw)
	}
	// Reads go on: WAL readers do not wait for the writer.
	e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", id), "")
	if e.woken() {
		t.Errorf("woken although nothing was stored")
	}
	unlock()
	e.send(`{"to":"+447400123456","text":"after"}`)
	if n := e.wake(t); n != 2 {
		t.Errorf("wake saw %d messages, want 2", n)
	}
	e.must(200, "GET", "/healthz", "")

	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	r = e.must(503, "POST", "/v1/messages", `{"to":"+447400123456","text":"after close"}`)
	if r.errorField("code") != CodeStoreClosed || !strings.Contains(r.errorField("message"), "shutting down") {
		t.Errorf("%s", r.raw)
	}
}

func TestStoreErrorMessages(t *testing.T) {
	// What the queue returns: its storage kind wrapping the driver's error.
	wrap := func(kind error) error {
		return fmt.Errorf("enqueue: %w: %w", kind, errors.New("disk I/O error"))
	}
	tests := []struct {
		name    string
		err     error
		code    string
		status  int
		message string
	}{
		{name: "disk full", err: wrap(queue.ErrStorageFull), code: CodeStoreFull, status: 503, message: "free space"},
		{name: "read-only", err: wrap(queue.ErrStorageReadOnly), code: CodeStoreReadOnly, status: 503, message: "make it writable"},
		{name: "busy", err: wrap(queue.ErrStorageLocked), code: CodeStoreLocked, status: 503, message: "another process"},
		{name: "I/O error", err: wrap(queue.ErrStorageUnavailable), code: CodeStoreUnavailable, status: 503, message: "check the disk"},
		{name: "closed", err: fmt.Errorf("enqueue: %w", queue.ErrClosed), code: CodeStoreClosed, status: 503, message: "shutting down"},
		{name: "timeout", err: fmt.Errorf("get: %w", context.DeadlineExceeded), code: CodeTimeout, status: 503, message: "Idempotency-Key"},
		{name: "constraint is a bug", err: fmt.Errorf("enqueue: %w", errors.New("UNIQUE constraint failed")), code: CodeInternal, status: 500, message: "server log"},
		{name: "unknown", err: fmt.Errorf("something"), code: CodeInternal, status: 500, message: "server log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := toError(tt.err)
			if e.Code != tt.code || Status(e.Code) != tt.status || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %s %d %q", e.Code, Status(e.Code), e.Message)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{name: "a plain id is kept", sent: "client-42.a_b", kept: true},
		{name: "none is made up", sent: "<none>"},
		{name: "an id with spaces is replaced", sent: "a b"},
		{name: "a long id is replaced", sent: strings.Repeat("x", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.must(404, "GET", "/v1/messages/1", "", "X-Request-Id", tt.sent).header.Get("X-Request-Id")
			if tt.kept && got != tt.sent || !tt.kept && (got == tt.sent || len(got) != 16) {
				t.Errorf("X-Request-Id %q for %q", got, tt.sent)
			}
		})
	}
}

type panickingModems struct{}

func (panickingModems) Statuses() []modem.Status { panic("modem table corrupted") }

func TestPanicIsInternalError(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	h, err := New(Options{Logger: e.h.log}, Deps{Store: e.h.store, Health: e.h.health, Modems: panickingModems{}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	r := e.must(500, "GET", "/v1/modems", "")
	if r.errorField("code") != CodeInternal || strings.Contains(r.raw, "corrupted") {
		t.Errorf("%s", r.raw)
	}
	if log := e.log.String(); !strings.Contains(log, "modem table corrupted") || !strings.Contains(log, "request_id="+r.header.Get("X-Request-Id")) {
		t.Errorf("panic not logged with the request id:\n%s", log)
	}
	e.must(200, "GET", "/healthz", "")
}

func TestInboxIncomplete(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{ReassemblyTimeout: time.Nanosecond})
	enc, err := smsc.Deliver{From: "+447400123456", Text: strings.Repeat("a", 200), Ref: 9}.Encode()
	if err != nil || len(enc.Parts) != 2 {
		t.Fatalf("encode: %v", err)
	}
	ctx := context.Background()
	if _, err := e.store.Receive(ctx, pdu.DecodeReceived("m1", enc.Parts[0].PDU, "", -1)); err != nil {
		t.Fatal(err)
	}
	if r := e.must(200, "GET", "/v1/inbox", ""); len(messages(r)) != 0 {
		t.Fatalf("half a message in the inbox: %s", r.raw)
	}
	released, err := e.store.ReleaseIncomplete(ctx)
	if err != nil || len(released) != 1 {
		t.Fatalf("release: %v %v", released, err)
	}
	m := messages(e.must(200, "GET", "/v1/inbox", ""))
	if len(m) != 1 || m[0]["incomplete"] != true || m[0]["parts"] != float64(2) || fmt.Sprint(m[0]["missing"]) != "[2]" ||
		m[0]["text"] != strings.Repeat("a", 153) {
		t.Errorf("incomplete message %v", m)
	}
}

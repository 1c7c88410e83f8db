package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
)

// contractServer serves GET /v1/events and GET /v1/inbox as
// contracts14.md fixes them, over an event log and an inbox it holds, so
// that -follow is tested against a real HTTP server on 127.0.0.1 before
// the daemon serves the stream.
type contractServer struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the log grows
	log     []loggedEvent
	inbox   []json.RawMessage // in id order
	// dropAfter closes each connection after it sent that many events
	// (0: never); the first silentConns connections send nothing at all;
	// keepalive, if set, is how often a connection sends ": keepalive".
	dropAfter   int
	silentConns int
	keepalive   time.Duration
	connects    []connectRecord
	listings    []string // the query of each GET /v1/inbox
	keepalives  int      // keepalives sent, on all connections
}

type loggedEvent struct {
	id   int64
	typ  string
	body string
}

type connectRecord struct{ lastEventID, types string }

func newContractServer(t *testing.T) *contractServer {
	s := &contractServer{t: t, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("GET /v1/inbox", s.listInbox)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// received is a message.received event for inbox message id, and that
// message.
func received(eventID, id int64, text string) (loggedEvent, json.RawMessage) {
	msg, _ := json.Marshal(map[string]any{"id": id, "from": "+15557770000", "modem": "m0", "text": text,
		"received_at": time.Date(2026, 12, 3, 10, 0, int(id), 0, time.UTC), "sent_at": nil, "parts": 1, "incomplete": false})
	return contractEvent(eventID, eventReceived, msg), msg
}

func contractEvent(id int64, typ string, data json.RawMessage) loggedEvent {
	body, _ := json.Marshal(map[string]any{"id": strconv.FormatInt(id, 10), "type": typ,
		"created_at": time.Date(2026, 12, 3, 10, 0, 0, int(id), time.UTC).Format(time.RFC3339Nano), "data": data})
	return loggedEvent{id: id, typ: typ, body: string(body)}
}

// add appends events to the log, and messages to the inbox, at once.
func (s *contractServer) add(events []loggedEvent, msgs ...json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, events...)
	s.inbox = append(s.inbox, msgs...)
	close(s.changed)
	s.changed = make(chan struct{})
}

// addReceived stores an inbox message and its event.
func (s *contractServer) addReceived(eventID, id int64, text string) {
	ev, msg := received(eventID, id, text)
	s.add([]loggedEvent{ev}, msg)
}

func (s *contractServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+cliToken {
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, `{"error":{"code":"unauthorized","message":"the bearer token is not one of the configured tokens"}}`)
	return false
}

func (s *contractServer) events(w http.ResponseWriter, r *http.Request) {
	types := r.URL.Query().Get("types")
	s.mu.Lock()
	rec := connectRecord{lastEventID: r.Header.Get("Last-Event-ID"), types: types}
	s.connects = append(s.connects, rec)
	s.mu.Unlock()
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	silent := len(s.connects) <= s.silentConns
	// Without Last-Event-ID, only what comes from now on.
	var after int64
	if rec.lastEventID != "" {
		after, _ = strconv.ParseInt(rec.lastEventID, 10, 64)
	} else if len(s.log) > 0 {
		after = s.log[len(s.log)-1].id
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flush := w.(http.Flusher).Flush
	flush()
	if silent {
		<-r.Context().Done()
		return
	}
	var tick <-chan time.Time
	if s.keepalive > 0 {
		t := time.NewTicker(s.keepalive)
		defer t.Stop()
		tick = t.C
	}
	sent := 0
	for {
		s.mu.Lock()
		var next []loggedEvent
		for _, e := range s.log {
			if e.id > after && (types == "" || slices.Contains(strings.Split(types, ","), e.typ)) {
				next = append(next, e)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		for _, e := range next {
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.id, e.typ, e.body)
			flush()
			after = e.id
			if sent++; sent == s.dropAfter {
				return
			}
		}
		select {
		case <-changed:
		case <-tick:
			fmt.Fprint(w, ": keepalive\n\n")
			flush()
			s.mu.Lock()
			s.keepalives++
			s.mu.Unlock()
		case <-r.Context().Done():
			return
		}
	}
}

// listInbox pages the inbox by id, the cursor being the last id.
func (s *contractServer) listInbox(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("cursor"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	s.mu.Lock()
	s.listings = append(s.listings, r.URL.RawQuery)
	page := struct {
		Messages   []json.RawMessage `json:"messages"`
		NextCursor string            `json:"next_cursor"`
	}{Messages: []json.RawMessage{}, NextCursor: q.Get("cursor")}
	for _, m := range s.inbox {
		var v struct{ ID int64 }
		json.Unmarshal(m, &v)
		if v.ID > after && len(page.Messages) < limit {
			page.Messages = append(page.Messages, m)
			page.NextCursor = strconv.FormatInt(v.ID, 10)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func (s *contractServer) snapshot() (connects []connectRecord, listings []string, keepalives int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.connects), slices.Clone(s.listings), s.keepalives
}

// startFollow runs "bridged inbox -follow" against s until stop, which
// returns what Run returned.
func startFollow(t *testing.T, s *contractServer, idle time.Duration) (out, errOut *testutil.Buffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut = &testutil.Buffer{}, &testutil.Buffer{}
	c := &inboxCommand{stdout: out, stderr: errOut, idle: idle}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, []string{"-url", s.srv.URL, "-token", cliToken, "-follow"}) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("inbox -follow did not stop within 10 s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return out, errOut, stop
}

func lineOf(id int, text string) string {
	return fmt.Sprintf("2026-12-03T10:00:%02dZ +15557770000 m0 %s", id, strconv.Quote(text))
}

// TestInboxFollowResumes: each dropped connection is resumed with the
// Last-Event-ID of the last event printed; nothing is missed, nothing
// printed twice (a repeated event included), and nothing out of order.
func TestInboxFollowResumes(t *testing.T) {
	s := newContractServer(t)
	s.dropAfter = 2
	s.addReceived(10, 1, "first")
	out, errOut, stop := startFollow(t, s, 0)
	out.WaitMatch(t, regexp.MustCompile(`"first"\n`), 10*time.Second)

	status := contractEvent(12, "message.status", json.RawMessage(`{"id":7,"status":"sent"}`))
	e11, m2 := received(11, 2, "two\nlines")
	e13, m3 := received(13, 3, "three")
	e14, m4 := received(14, 4, "four")
	e15, _ := received(15, 3, "three") // delivered again: at least once
	e16, m5 := received(16, 5, "five")
	// The first connection gets 11 and 13 and drops, the second, resumed
	// after 13, gets 14 and 15 and drops, the third gets 16.
	s.add([]loggedEvent{e11, status, e13, e14, e15, e16}, m2, m3, m4, m5)
	out.WaitMatch(t, regexp.MustCompile(`"five"\n`), 10*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("inbox -follow: %v", err)
	}

	want := strings.Join([]string{lineOf(1, "first"), lineOf(2, "two\nlines"), lineOf(3, "three"),
		lineOf(4, "four"), lineOf(5, "five")}, "\n") + "\n"
	if got := out.String(); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
	connects, listings, _ := s.snapshot()
	wantConnects := []connectRecord{{"", eventReceived}, {"13", eventReceived}, {"15", eventReceived}}
	if !slices.Equal(connects, wantConnects) {
		t.Errorf("connections %+v, want %+v", connects, wantConnects)
	}
	if len(listings) != 1 {
		t.Errorf("listed the inbox %d times (%q), want once: Last-Event-ID resumes", len(listings), listings)
	}
	if e := errOut.String(); !strings.Contains(e, "the daemon closed the event stream; connecting again") ||
		!strings.Contains(e, "connected again") {
		t.Errorf("stderr %q", e)
	}
}

// TestInboxFollowSilentStream: a connection that stays silent past the
// idle time is taken for dead; with no event to resume after, the inbox
// is listed again from where it was left, so a message stored meanwhile
// is printed.
func TestInboxFollowSilentStream(t *testing.T) {
	s := newContractServer(t)
	s.silentConns = 1
	s.addReceived(1, 1, "before")
	out, errOut, stop := startFollow(t, s, 300*time.Millisecond)
	out.WaitMatch(t, regexp.MustCompile(`"before"\n`), 10*time.Second)
	s.addReceived(2, 2, "while the stream was silent")
	out.WaitMatch(t, regexp.MustCompile(`"while the stream was silent"\n`), 10*time.Second)
	testutil.Eventually(t, "a second connection", func() bool {
		connects, _, _ := s.snapshot()
		return len(connects) == 2
	})
	s.addReceived(3, 3, "live")
	out.WaitMatch(t, regexp.MustCompile(`"live"\n`), 10*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("inbox -follow: %v", err)
	}
	want := lineOf(1, "before") + "\n" + lineOf(2, "while the stream was silent") + "\n" + lineOf(3, "live") + "\n"
	if got := out.String(); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
	connects, listings, _ := s.snapshot()
	if len(connects) != 2 || connects[1].lastEventID != "" {
		t.Errorf("connections %+v, want two, the second without Last-Event-ID", connects)
	}
	if len(listings) != 2 || !strings.Contains(listings[1], "cursor=1") {
		t.Errorf("listings %q, want a second one after the cursor of the first", listings)
	}
	if e := errOut.String(); !strings.Contains(e, "was silent for 300ms; connecting again") {
		t.Errorf("stderr %q", e)
	}
}

// TestInboxFollowKeepalive: keepalives keep a quiet stream open longer
// than the idle time.
func TestInboxFollowKeepalive(t *testing.T) {
	s := newContractServer(t)
	s.keepalive = 50 * time.Millisecond
	out, _, stop := startFollow(t, s, 300*time.Millisecond)
	// Ten keepalives are 500 ms, past the idle time of 300 ms.
	testutil.Eventually(t, "ten keepalives", func() bool {
		_, _, n := s.snapshot()
		return n >= 10
	})
	s.addReceived(1, 1, "after the keepalives")
	out.WaitMatch(t, regexp.MustCompile(`"after the keepalives"\n`), 10*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("inbox -follow: %v", err)
	}
	if connects, _, _ := s.snapshot(); len(connects) != 1 {
		t.Errorf("%d connections, want 1: keepalives count as life", len(connects))
	}
}

func TestInboxFollowWrongToken(t *testing.T) {
	s := newContractServer(t)
	const wrong = "a-wrong-token-that-is-still-a-secret"
	code, stdout, stderr := runMain(t, "", "inbox", "-url", s.srv.URL, "-token", wrong, "-follow")
	if code != exitError || stdout != "" || !strings.Contains(stderr, "401 Unauthorized") || strings.Contains(stderr, wrong) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the 401, without the token", code, stdout, stderr)
	}
	if connects, _, _ := s.snapshot(); len(connects) != 1 {
		t.Errorf("%d connections: a 401 is not tried again", len(connects))
	}
}

// TestInboxFollowNoDaemon: a daemon that is not there at the start is a
// mistake to report, not one to wait for.
func TestInboxFollowNoDaemon(t *testing.T) {
	code, stdout, stderr := runMain(t, "", "inbox", "-url", "http://"+freeListen(t), "-follow")
	if code != exitError || stdout != "" || !strings.Contains(stderr, "no daemon answers") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and no daemon", code, stdout, stderr)
	}
}

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []sseEvent
		err    error
	}{
		{name: "contract", stream: "id: 1\nevent: message.received\ndata: {\"a\":1}\n\n: keepalive\n\nid: 2\nevent: modem.state\ndata: {}\n\n",
			want: []sseEvent{{"1", "message.received", `{"a":1}`}, {"2", "modem.state", "{}"}}, err: errStreamEnded},
		{name: "CRLF and several data lines", stream: "id:3\r\nevent:x\r\ndata:a\r\ndata: b\r\n\r\n",
			want: []sseEvent{{"3", "x", "a\nb"}}, err: errStreamEnded},
		{name: "no data is no event", stream: "id: 4\nevent: x\n\nretry: 10\n\n", err: errStreamEnded},
		{name: "an event cut off is not handled", stream: "id: 5\nevent: x\ndata: {\"half\"", err: errStreamEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []sseEvent
			lines := 0
			err := readEvents(strings.NewReader(tt.stream), func() { lines++ }, func(ev sseEvent) error {
				got = append(got, ev)
				return nil
			})
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
			if want := len(strings.Split(strings.TrimSuffix(tt.stream, "\n"), "\n")); lines != want && tt.err == errStreamEnded {
				t.Errorf("alive called %d times, want once a line (%d)", lines, want)
			}
		})
	}
	t.Run("a line longer than the bound", func(t *testing.T) {
		long := "data: " + strings.Repeat("x", maxEventBytes) + "\n\n"
		err := readEvents(strings.NewReader(long), func() {}, func(sseEvent) error { return nil })
		if err == nil || errors.Is(err, errStreamEnded) {
			t.Errorf("err %v, want a read error", err)
		}
	})
}

// TestInboxLines: one message is one line, whatever its sender and text
// hold.
func TestInboxLines(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{name: "plain", msg: `{"id":1,"from":"+15557770000","modem":"m0","text":"hi there","received_at":"2026-12-03T10:00:00.5+01:00"}`,
			want: `2026-12-03T09:00:00Z +15557770000 m0 "hi there"`},
		{name: "newline, escape and a right-to-left override",
			msg:  `{"id":1,"from":"My Bank","modem":"m0","text":"a\nb\u001b[2J\u202e","received_at":"2026-12-03T10:00:00Z"}`,
			want: `2026-12-03T10:00:00Z "My Bank" m0 "a\nb\x1b[2J\u202e"`},
		{name: "incomplete", msg: `{"id":1,"from":"+1555","modem":"m0","text":"x","received_at":"2026-12-03T10:00:00Z","incomplete":true,"missing":[2,3]}`,
			want: `2026-12-03T10:00:00Z +1555 m0 "x" (incomplete: parts 2, 3 missing)`},
		{name: "one part missing", msg: `{"id":1,"from":"+1555","modem":"m0","text":"x","received_at":"2026-12-03T10:00:00Z","incomplete":true,"missing":[1]}`,
			want: `2026-12-03T10:00:00Z +1555 m0 "x" (incomplete: part 1 missing)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			p := &inboxPrinter{w: &b}
			if err := p.print(json.RawMessage(tt.msg)); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want+"\n" {
				t.Errorf("printed %q, want %q", got, tt.want)
			}
		})
	}
}

package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/queue"
)

// openStream opens GET path as an event stream; header as in do.
func (e *testEnv) openStream(path string, header ...string) (*testutil.SSEReader, func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		e.t.Fatalf("GET %s: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	closed := false
	stop := func() {
		if !closed {
			closed = true
			cancel()
			res.Body.Close()
		}
	}
	e.t.Cleanup(stop)
	return testutil.NewSSEReader(res.Body), stop
}

type streamedEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// nextEvent reads the next event and checks that its body agrees with the
// SSE fields.
func nextEvent(t *testing.T, r *testutil.SSEReader) streamedEvent {
	t.Helper()
	ev, err := r.NextEvent()
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var b streamedEvent
	if err := json.Unmarshal([]byte(ev.Data), &b); err != nil {
		t.Fatalf("event data %q: %v", ev.Data, err)
	}
	if b.ID != ev.ID || b.Type != ev.Event {
		t.Fatalf("event id %q type %q, body %s", ev.ID, ev.Event, ev.Data)
	}
	if _, err := time.Parse(time.RFC3339Nano, b.CreatedAt); err != nil {
		t.Fatalf("created_at %q: %v", b.CreatedAt, err)
	}
	return b
}

// sameAsGet checks that an event's data is byte for byte what GET path
// answers now.
func (e *testEnv) sameAsGet(ev streamedEvent, path string) {
	e.t.Helper()
	got := e.must(http.StatusOK, "GET", path, "")
	if want := strings.TrimSuffix(got.raw, "\n"); string(ev.Data) != want {
		e.t.Fatalf("event %s %s data\n%s\nGET %s\n%s", ev.ID, ev.Type, ev.Data, path, want)
	}
}

func TestEventStreamFromTheLogThenLive(t *testing.T) {
	e := MustServe(t, Options{Tokens: []string{"tok"}}, queue.Options{Views: Views()})
	ids := e.send(`{"to": ["+447400123456", "+447400123457"], "text": "hello <b>&"}`)
	stream, stop := e.openStream("/v1/events?after=0")
	for i, id := range ids {
		ev := nextEvent(t, stream)
		if ev.ID != fmt.Sprint(i+1) || ev.Type != queue.EventMessageStatus {
			t.Fatalf("event %d: %s %s", i, ev.ID, ev.Type)
		}
		e.sameAsGet(ev, fmt.Sprintf("/v1/messages/%d", id))
	}
	// Live: a change after the stream caught up.
	e.must(http.StatusOK, "DELETE", fmt.Sprintf("/v1/messages/%d", ids[0]), "")
	ev := nextEvent(t, stream)
	if ev.ID != "3" {
		t.Fatalf("live event %s", ev.ID)
	}
	e.sameAsGet(ev, fmt.Sprintf("/v1/messages/%d", ids[0]))
	im := e.receive("+447700900999", "hi there", time.Now())
	ev = nextEvent(t, stream)
	if ev.ID != "4" || ev.Type != queue.EventMessageReceived {
		t.Fatalf("received: %s %s", ev.ID, ev.Type)
	}
	e.sameAsGet(ev, fmt.Sprintf("/v1/inbox/%d", im.ID))
	stop()

	// Last-Event-ID wins over the URL's after, as a reconnecting
	// EventSource sends it; types filters.
	stream, stop = e.openStream("/v1/events?after=0", "Last-Event-ID", "2")
	if ev := nextEvent(t, stream); ev.ID != "3" {
		t.Fatalf("resumed at %s, want 3", ev.ID)
	}
	stop()
	stream, stop = e.openStream("/v1/events?after=0&types=message.received,modem.state")
	if ev := nextEvent(t, stream); ev.ID != "4" {
		t.Fatalf("filtered: %s, want 4", ev.ID)
	}
	stop()
	// Without a cursor, only what happens from now on.
	stream, _ = e.openStream("/v1/events")
	e.send(`{"to": "+447400123458", "text": "later"}`)
	if ev := nextEvent(t, stream); ev.ID != "5" {
		t.Fatalf("from now on: first event %s, want 5", ev.ID)
	}
}

func TestEventStreamModemState(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{Views: Views()})
	st := modem.Status{ID: "m1", Device: "/dev/ttyUSB0", State: modem.StateReady, Operator: "Op", LastError: "x",
		LastErrorAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))}
	e.modems.set(st)
	data, err := ModemJSON(st)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := e.openStream("/v1/events?after=0")
	if _, err := e.store.ModemState(context.Background(), "m1", string(st.State), data); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, stream)
	var list struct{ Modems []json.RawMessage }
	if err := json.Unmarshal([]byte(e.must(http.StatusOK, "GET", "/v1/modems", "").raw), &list); err != nil {
		t.Fatal(err)
	}
	if ev.Type != queue.EventModemState || len(list.Modems) != 1 || string(ev.Data) != string(list.Modems[0]) {
		t.Fatalf("modem.state %s\n%s\nGET /v1/modems %s", ev.Type, ev.Data, list.Modems)
	}
}

func TestEventStreamRefusals(t *testing.T) {
	e := MustServe(t, Options{Tokens: []string{"tok"}, MaxEventStreams: 2}, queue.Options{})
	for _, c := range []struct {
		name, path, field string
		header            []string
		status            int
	}{
		{"unknown type", "/v1/events?types=message.status,sms", "types", nil, 400},
		{"bad after", "/v1/events?after=-1", "after", nil, 400},
		{"bad Last-Event-ID", "/v1/events", "Last-Event-ID", []string{"Last-Event-ID", "x"}, 400},
		{"unknown parameter", "/v1/events?since=1", "since", nil, 400},
		{"no token", "/v1/events", "", []string{"Authorization", "<none>"}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.must(c.status, "GET", c.path, "", c.header...)
			if r.errorField("field") != c.field {
				t.Fatalf("field %q: %s", r.errorField("field"), r.raw)
			}
		})
	}
	_, stop := e.openStream("/v1/events")
	e.openStream("/v1/events")
	if r := e.must(http.StatusServiceUnavailable, "GET", "/v1/events", ""); r.errorField("code") != CodeTooManyStreams {
		t.Fatalf("third stream: %s", r.raw)
	}
	// A limit reached is not a failure of bridged.
	if out := e.log.String(); !strings.Contains(out, "level=WARN msg=\"request refused\"") || strings.Contains(out, "level=ERROR") {
		t.Errorf("log of the refused stream:\n%s", out)
	}
	// A stream that ends gives its place back.
	stop()
	testutil.Eventually(t, "a place for a new stream", func() bool {
		return e.do("GET", "/v1/events?types=sms", "").status == 400 && len(e.h.streams.slots) < 2
	})
	e.openStream("/v1/events")
}

func TestEventStreamKeepaliveAndShutdown(t *testing.T) {
	e := MustServe(t, Options{EventsKeepalive: 20 * time.Millisecond}, queue.Options{})
	e.srv.Config.RegisterOnShutdown(e.h.EndStreams)
	stream, _ := e.openStream("/v1/events")
	if ev, err := stream.Next(); err != nil || ev.Comment != "keepalive" {
		t.Fatalf("first thing on an idle stream: %+v %v", ev, err)
	}
	// Shutdown waits for handlers; a stream must end when told.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	for {
		_, err := stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stream after shutdown: %v", err)
		}
	}
}

// A reader that takes nothing is disconnected once its socket is full,
// rather than having the events buffered for it: its place frees up.
func TestEventStreamSlowReaderDisconnected(t *testing.T) {
	e := MustServe(t, Options{MaxEventStreams: 1, EventsWriteTimeout: 200 * time.Millisecond}, queue.Options{})
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	testutil.Eventually(t, "the stream to open", func() bool { return len(e.h.streams.slots) == 1 })
	text := strings.Repeat("x", 150)
	for range 60 {
		msgs := make([]queue.NewMessage, 200)
		for i := range msgs {
			msgs[i] = queue.NewMessage{To: "+447700900123", Text: text}
		}
		if _, err := e.store.Enqueue(context.Background(), "", msgs...); err != nil {
			t.Fatal(err)
		}
		if len(e.h.streams.slots) == 0 {
			break
		}
	}
	testutil.Eventually(t, "the slow reader to be disconnected", func() bool { return len(e.h.streams.slots) == 0 })
}

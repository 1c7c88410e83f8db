package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// streamed is one event read from GET /v1/events.
type streamed struct {
	id   int64
	typ  string
	body string
	// message.status data: the message's id, status and history length.
	msg     int64
	status  string
	history int
}

// follow opens GET /v1/events with Last-Event-ID after (none when
// negative) and sends what it reads to the channel, which is closed when
// the stream ends (the daemon stopped or died).
func (d *daemon) follow(after int64) <-chan streamed {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+d.addr+"/v1/events", nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if after >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	}
	// No client timeout: it would cover the whole stream.
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		d.t.Fatalf("GET /v1/events: %d", res.StatusCode)
	}
	out := make(chan streamed, 1024)
	go func() {
		defer close(out)
		defer res.Body.Close()
		r := testutil.NewSSEReader(res.Body)
		for {
			ev, err := r.NextEvent()
			if err != nil {
				return
			}
			s := streamed{typ: ev.Event, body: ev.Data}
			s.id, _ = strconv.ParseInt(ev.ID, 10, 64)
			var b struct {
				Data struct {
					ID     json.RawMessage `json:"id"`
					Status string          `json:"status"`
					Events []struct{}      `json:"events"`
				} `json:"data"`
			}
			if json.Unmarshal([]byte(ev.Data), &b) == nil && ev.Event == "message.status" {
				s.msg, _ = strconv.ParseInt(string(b.Data.ID), 10, 64)
				s.status, s.history = b.Data.Status, len(b.Data.Events)
			}
			out <- s
		}
	}()
	return out
}

// next returns the next streamed event, failing the test after 20 s.
func nextStreamed(t *testing.T, ch <-chan streamed) (streamed, bool) {
	t.Helper()
	select {
	case s, ok := <-ch:
		return s, ok
	case <-time.After(20 * time.Second):
		t.Fatal("no event for 20 s")
	}
	return streamed{}, false
}

// A follower of /v1/events that resumes with Last-Event-ID after the daemon
// was killed and restarted misses nothing and sees each message's changes
// in order: every message.status event shows a history one entry longer
// than the one before it, and the events it got are the whole log.
func TestE2EEventsFollowedAcrossRestart(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := w.config("")
	d := startDaemon(t, cfg)
	stream := d.follow(0)
	var got []streamed
	var ids []int64
	for i := range 3 {
		ids = append(ids, d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprint("before ", i)})[0].ID)
	}
	// Read a few, then kill the daemon while the rest may be in flight.
	for len(got) < 4 {
		s, ok := nextStreamed(t, stream)
		if !ok {
			t.Fatal("the stream ended early")
		}
		got = append(got, s)
	}
	d.kill()
	for s := range stream { // what was on its way before the kill
		got = append(got, s)
	}
	d = startDaemon(t, cfg)
	stream = d.follow(got[len(got)-1].id)
	for i := range 3 {
		ids = append(ids, d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprint("after ", i)})[0].ID)
	}
	// Read until every message has been seen delivered.
	final := map[int64]bool{}
	for _, id := range ids {
		d.waitStatus(id, "delivered")
		final[id] = false
	}
	seen := func(s streamed) {
		if _, ok := final[s.msg]; ok && s.status == "delivered" {
			final[s.msg] = true
		}
	}
	for _, s := range got {
		seen(s)
	}
	for slices.Contains(mapValues(final), false) {
		s, ok := nextStreamed(t, stream)
		if !ok {
			t.Fatal("the stream ended early")
		}
		got = append(got, s)
		seen(s)
	}
	history := map[int64]int{}
	for i, s := range got {
		if i > 0 && s.id <= got[i-1].id {
			t.Fatalf("event %d after %d", s.id, got[i-1].id)
		}
		if s.typ != "message.status" {
			continue
		}
		if s.history != history[s.msg]+1 {
			t.Fatalf("message %d: event %d shows %d history entries after %d: one missed or out of order",
				s.msg, s.id, s.history, history[s.msg])
		}
		history[s.msg] = s.history
	}
	// The whole log, read again from the start, is what the follower got.
	all := d.follow(0)
	for _, want := range got {
		s, ok := nextStreamed(t, all)
		if !ok || s.id != want.id || s.body != want.body {
			t.Fatalf("the log has %d %s where the follower got %d", s.id, s.body, want.id)
		}
	}
	// A stop with streams open ends them: the HTTP shutdown does not wait
	// out its timeout for them.
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for range all {
	}
	if out := d.out.String(); strings.Contains(out, "http shutdown") {
		t.Fatalf("the HTTP shutdown waited for the streams:\n%s", out)
	}
}

func mapValues[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

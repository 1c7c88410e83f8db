package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
	"bridged/pdu"
)

func TestE2ESendAndDeliver(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config(""))
	texts := []struct {
		text     string
		encoding string
		parts    int
	}{
		{"Hello from bridged", "gsm7", 1},
		{strings.Repeat("A long message. ", 20), "gsm7", 3},
		{"你好，这是一条中文短信", "ucs2", 1},
		{"Party tonight 🎉🎉 " + strings.Repeat("😀", 40), "ucs2", 2},
	}
	var ids []int64
	for _, tt := range texts {
		ms := d.send(map[string]any{"to": "+447400123456", "text": tt.text, "report": true})
		if len(ms) != 1 || ms[0].Status != "queued" || ms[0].Encoding != tt.encoding || ms[0].Parts != tt.parts || ms[0].To != "+447400123456" {
			t.Fatalf("accepted %+v, want encoding %s parts %d", ms, tt.encoding, tt.parts)
		}
		ids = append(ids, ms[0].ID)
	}
	for i, id := range ids {
		m := d.waitStatus(id, "delivered")
		if m.Text != texts[i].text || m.Modem != "m0" {
			t.Errorf("message %d: %+v", id, m)
		}
	}
	// What reached the network is what was posted.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := w.net.WaitSent(ctx, 1+3+1+2)
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[int][]*pdu.Message{}
	var singles []string
	for _, s := range sent {
		if s.Message.Concat == nil {
			singles = append(singles, s.Message.Text)
			continue
		}
		byRef[s.Message.Concat.Ref] = append(byRef[s.Message.Concat.Ref], s.Message)
	}
	got := map[string]bool{}
	for _, s := range singles {
		got[s] = true
	}
	for _, parts := range byRef {
		r, err := pdu.Reassemble(parts)
		if err != nil || !r.Complete {
			t.Fatalf("reassemble: %v", err)
		}
		got[r.Text] = true
	}
	for _, tt := range texts {
		if !got[tt.text] {
			t.Errorf("the network never got %q", tt.text)
		}
	}
}

func TestE2ESeveralRecipients(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config(""))
	ms := d.send(map[string]any{"to": []string{"+447400123401", "+447400123402", "+8613800138000"}, "text": "to all"})
	if len(ms) != 3 {
		t.Fatalf("accepted %+v", ms)
	}
	for _, m := range ms {
		d.waitStatus(m.ID, "sent", "delivered")
	}
}

func TestE2EInbound(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config(""))
	long := "Inbound " + strings.Repeat("multipart text ", 20)
	if err := w.sims[0].Deliver("+15557770000", long); err != nil {
		t.Fatal(err)
	}
	if err := w.sims[0].Deliver("+8613800138000", "你好 😀"); err != nil {
		t.Fatal(err)
	}
	type inboxMsg struct {
		ID         int64  `json:"id"`
		From       string `json:"from"`
		Modem      string `json:"modem"`
		Text       string `json:"text"`
		Parts      int    `json:"parts"`
		Incomplete bool   `json:"incomplete"`
	}
	var page struct {
		Messages   []inboxMsg `json:"messages"`
		NextCursor string     `json:"next_cursor"`
	}
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond) // polling the API, as a client would
	defer tick.Stop()
	for d.do("GET", "/v1/inbox", nil, &page); len(page.Messages) < 2; d.do("GET", "/v1/inbox", nil, &page) {
		select {
		case <-deadline.C:
			t.Fatalf("inbox %+v", page)
		case <-tick.C:
		}
	}
	if len(page.Messages) != 2 {
		t.Fatalf("inbox %+v", page)
	}
	got := map[string]inboxMsg{}
	for _, m := range page.Messages {
		got[m.From] = m
	}
	if m := got["+15557770000"]; m.Text != long || m.Parts != 3 || m.Modem != "m0" || m.Incomplete {
		t.Errorf("multipart inbound %+v", m)
	}
	if m := got["+8613800138000"]; m.Text != "你好 😀" || m.Parts != 1 {
		t.Errorf("UCS-2 inbound %+v", m)
	}
	// Deleted from the SIM after the commit that put them in the inbox, so
	// possibly a moment after the inbox shows them.
	testutil.Eventually(t, "the SIM emptied", func() bool { return len(w.sims[0].Stored("SM")) == 0 })
	// DELETE removes one.
	if code := d.do("DELETE", fmt.Sprintf("/v1/inbox/%d", page.Messages[0].ID), nil, nil); code != http.StatusNoContent && code != http.StatusOK {
		t.Errorf("DELETE inbox: %d", code)
	}
}

func TestE2EFailureAndRetryOnAnotherModem(t *testing.T) {
	w := mustWorld(t, 2, modemsim.Options{})
	w.sims[0].SetSendErrorRate(1, 42)
	d := startDaemon(t, w.config(""))
	ids := []int64{}
	for i := range 4 {
		ids = append(ids, d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprintf("retry %d", i)})[0].ID)
	}
	for _, id := range ids {
		if m := d.waitStatus(id, "sent", "delivered"); m.Modem != "m1" {
			t.Errorf("message %d sent by %q, want m1", id, m.Modem)
		}
	}
	w.sims[1].SetSendErrors(21) // rejected: permanent
	id := d.send(map[string]any{"to": "+447400123456", "text": "rejected", "modem": "m1"})[0].ID
	m := d.waitStatus(id, "failed")
	if m.Error == nil || m.Error.Code != "cms_21" {
		t.Errorf("failure %+v", m.Error)
	}
}

func TestE2ECancelAndIdempotency(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config(""))
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	m := d.send(map[string]any{"to": "+447400123456", "text": "later", "send_at": later})[0]
	if code := d.do("DELETE", fmt.Sprintf("/v1/messages/%d", m.ID), nil, nil); code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("cancel: %d", code)
	}
	d.waitStatus(m.ID, "cancelled")
	sent := d.send(map[string]any{"to": "+447400123456", "text": "now"})[0]
	d.waitStatus(sent.ID, "sent", "delivered")
	var e apiError
	if code := d.do("DELETE", fmt.Sprintf("/v1/messages/%d", sent.ID), nil, &e); code != http.StatusConflict {
		t.Errorf("cancel a sent message: %d %+v", code, e)
	}

	body := map[string]any{"to": "+447400123456", "text": "once"}
	a := d.send(body, "Idempotency-Key", "k-1")
	b := d.send(body, "Idempotency-Key", "k-1")
	if a[0].ID != b[0].ID {
		t.Errorf("same key, same body: ids %d and %d", a[0].ID, b[0].ID)
	}
	if code := d.do("POST", "/v1/messages", map[string]any{"to": "+447400123456", "text": "other"}, &e, "Idempotency-Key", "k-1"); code != http.StatusConflict {
		t.Errorf("same key, other body: %d", code)
	}
}

func TestE2EErrorsAndAuth(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config("[sms]\nmax_parts = 2\n")+"")
	// /readyz answers 200 once the modem registered; the daemon listens
	// before that.
	d.waitModem("m0", "ready", nil)
	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		code    int
	}{
		{"bad JSON", "POST", "/v1/messages", `{"to": `, nil, 400},
		{"unknown field", "POST", "/v1/messages", `{"to": "+447400123456", "text": "x", "colour": "red"}`, nil, 400},
		{"invalid number", "POST", "/v1/messages", map[string]any{"to": "+44 12", "text": "x"}, nil, 400},
		{"empty text", "POST", "/v1/messages", map[string]any{"to": "+447400123456", "text": ""}, nil, 400},
		{"not JSON", "POST", "/v1/messages", "to=+447400123456", []string{"Content-Type", "text/plain"}, 415},
		{"too many parts", "POST", "/v1/messages", map[string]any{"to": "+447400123456", "text": strings.Repeat("x", 400)}, nil, 422},
		{"body too large", "POST", "/v1/messages", map[string]any{"to": "+447400123456", "text": strings.Repeat("x", 2<<20)}, nil, 413},
		{"unknown message", "GET", "/v1/messages/999999", nil, nil, 404},
		{"estimate", "POST", "/v1/estimate", map[string]any{"text": "€uro"}, nil, 200},
		{"modems", "GET", "/v1/modems", nil, nil, 200},
		{"healthz", "GET", "/healthz", nil, nil, 200},
		{"readyz", "GET", "/readyz", nil, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e apiError
			code := d.do(tt.method, tt.path, tt.body, &e, tt.headers...)
			if code != tt.code {
				t.Errorf("%s %s: %d (%+v), want %d", tt.method, tt.path, code, e, tt.code)
			}
			if code >= 400 && e.Error.Code == "" {
				t.Errorf("error body without code: %+v", e)
			}
		})
	}
	d.stop()

	// With a token, /v1 needs it.
	d2 := startDaemon(t, strings.Replace(w.config(""), "[http]\n", "[http]\ntokens = [\"0123456789abcdef0123456789abcdef\"]\n", 1))
	if code := d2.do("GET", "/v1/modems", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	d2.token = "wrong"
	if code := d2.do("GET", "/v1/modems", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	d2.token = "0123456789abcdef0123456789abcdef"
	if code := d2.do("GET", "/v1/modems", nil, nil); code != http.StatusOK {
		t.Errorf("right token: %d", code)
	}
}

// TestE2ERestartAndSIGTERM stops the daemon with work queued, scheduled and
// in flight, starts it again on the same database, and checks that every
// message ends where it should.
func TestE2ERestartAndSIGTERM(t *testing.T) {
	// Reports come 1.5 s after delivery: the first message is sent before
	// the stop and its report reaches the modem while bridged is down.
	w := mustWorld(t, 1, modemsim.Options{ReportDelay: 1500 * time.Millisecond})
	cfg := w.config("")
	d := startDaemon(t, cfg)
	awaiting := d.send(map[string]any{"to": "+447400123459", "text": "sent, report pending", "report": true})[0]
	d.waitStatus(awaiting.ID, "sent")
	w.sims[0].SetSendLatency(500 * time.Millisecond)
	inflight := d.send(map[string]any{"to": "+447400123456", "text": strings.Repeat("slow multipart ", 20)})[0]
	queued := d.send(map[string]any{"to": "+447400123457", "text": "queued behind it"})[0]
	later := d.send(map[string]any{"to": "+447400123458", "text": "scheduled", "send_at": time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)})[0]
	d.waitStatus(inflight.ID, "sending")
	if code := d.stop(); code != 0 {
		out := d.out.String()
		t.Fatalf("exit code %d after SIGTERM\n%s", code, out)
	}
	d2 := startDaemon(t, cfg)
	for _, id := range []int64{inflight.ID, queued.ID, later.ID} {
		d2.waitStatus(id, "sent", "delivered")
	}
	d2.waitStatus(awaiting.ID, "delivered")
	// No part was sent twice: the part in flight at SIGTERM was allowed to
	// finish and was recorded.
	seen := map[string]int{}
	for _, s := range w.net.Sent() {
		seq := 0
		if s.Message.Concat != nil {
			seq = s.Message.Concat.Seq
		}
		seen[fmt.Sprintf("%s part %d: %s", s.To, seq, s.Message.Text)]++
	}
	for p, n := range seen {
		if n > 1 {
			t.Errorf("part sent %d times: %s", n, p)
		}
	}
}

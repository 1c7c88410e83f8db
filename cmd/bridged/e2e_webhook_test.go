package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// The webhook tests run the real daemon against real receivers on
// 127.0.0.1 (testutil.Receiver), which check each signature with their own
// HMAC code.

const hookSecret = "e2e-webhook-secret-0123456789"

// webhookConfig is a [[webhook]] to rcv with a short timeout and backoff
// cap, so that retries come within a test's time.
func webhookConfig(rcv *testutil.Receiver, extra string) string {
	return fmt.Sprintf("[[webhook]]\nname = \"app\"\nurl = %q\nsecret = %q\ntimeout = \"2s\"\nmax_backoff = \"1s\"\n%s", rcv.URL, hookSecret, extra)
}

// hookEvent is what the tests read of an event body ({"id", "type",
// "created_at", "data"}): its type and, for message.status and
// message.received, the message or inbox message it is about.
type hookEvent struct {
	delivery string
	typ      string
	message  int64
	status   string
	text     string
}

func readHook(t *testing.T, h testutil.Hook) hookEvent {
	t.Helper()
	var p struct {
		Type string `json:"type"`
		Data struct {
			ID     json.RawMessage `json:"id"` // a number, or a modem's name
			Status string          `json:"status"`
			Text   string          `json:"text"`
		} `json:"data"`
	}
	if err := json.Unmarshal(h.Body, &p); err != nil {
		t.Fatalf("webhook body %s: %v", h.Body, err)
	}
	if !h.Verified || h.Event != p.Type {
		t.Fatalf("webhook %s %q: signature verified %v", h.Event, h.Body, h.Verified)
	}
	e := hookEvent{delivery: h.Delivery, typ: p.Type, status: p.Data.Status, text: p.Data.Text}
	if p.Type != "modem.state" {
		if err := json.Unmarshal(p.Data.ID, &e.message); err != nil {
			t.Fatalf("webhook body %s: data.id: %v", h.Body, err)
		}
	}
	return e
}

// statusEvents returns, per message, the statuses its message.status
// events reported, in the order they first arrived: a delivery repeated
// (at least once) counts once.
func statusEvents(t *testing.T, hooks []testutil.Hook) map[int64][]string {
	t.Helper()
	seen := map[string]bool{}
	out := map[int64][]string{}
	for _, h := range hooks {
		e := readHook(t, h)
		if e.typ != "message.status" || seen[e.delivery] {
			continue
		}
		seen[e.delivery] = true
		out[e.message] = append(out[e.message], e.status)
	}
	return out
}

// history is the statuses GET /v1/messages/{id} lists for the message.
func (d *daemon) history(id int64) []string {
	d.t.Helper()
	var m apiMessage
	if code := d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m); code != http.StatusOK {
		d.t.Fatalf("GET message %d: %d", id, code)
	}
	var out []string
	for _, e := range m.Events {
		out = append(out, e.Status)
	}
	return out
}

// waitHistories waits until the receiver has had, for each message, every
// status its history lists, and checks they came in that order.
func waitHistories(t *testing.T, d *daemon, rcv *testutil.Receiver, ids []int64) {
	t.Helper()
	want := map[int64][]string{}
	for _, id := range ids {
		want[id] = d.history(id)
	}
	hooks := rcv.WaitHooks(t, 30*time.Second, "every status of every message", func(hooks []testutil.Hook) bool {
		got := statusEvents(t, hooks)
		for id, w := range want {
			if len(got[id]) < len(w) {
				return false
			}
		}
		return true
	})
	got := statusEvents(t, hooks)
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("message %d: webhook statuses %v, history %v", id, got[id], w)
		}
	}
}

// waitInbox waits until the inbox holds n messages.
func (d *daemon) waitInbox(n int) {
	d.t.Helper()
	testutil.Eventually(d.t, fmt.Sprintf("%d messages in the inbox", n), func() bool {
		var out struct {
			Messages []json.RawMessage `json:"messages"`
		}
		d.do("GET", "/v1/inbox", nil, &out)
		return len(out.Messages) == n
	})
}

type apiDelivery struct {
	ID        int64  `json:"id"`
	Endpoint  string `json:"endpoint"`
	Event     string `json:"event"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

func (d *daemon) deliveries(state string) []apiDelivery {
	d.t.Helper()
	var out struct {
		Deliveries []apiDelivery `json:"deliveries"`
	}
	if code := d.do("GET", "/v1/webhooks/deliveries?limit=500&state="+state, nil, &out); code != http.StatusOK {
		d.t.Fatalf("GET deliveries: %d", code)
	}
	return out.Deliveries
}

// The receiver is down while messages are sent and received, and bridged
// is restarted meanwhile: once the receiver is up, every event arrives,
// signed, each message's in order, and the received SMS too.
func TestE2EWebhookReceiverDownThenUp(t *testing.T) {
	rcv := testutil.NewReceiver(t, hookSecret)
	rcv.Down()
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := w.config(webhookConfig(rcv, ""))
	d := startDaemon(t, cfg)
	var ids []int64
	for i := range 3 {
		ids = append(ids, d.send(map[string]any{"to": fmt.Sprintf("+44740012345%d", i), "text": "while the receiver is down", "report": false})[0].ID)
	}
	// Sending does not wait for the webhook.
	for _, id := range ids {
		d.waitStatus(id, "sent")
	}
	if err := w.sims[0].Deliver("+447700900999", "an inbound SMS"); err != nil {
		t.Fatal(err)
	}
	d.waitInbox(1)
	testutil.Eventually(t, "a failed attempt recorded", func() bool {
		for _, dl := range d.deliveries("pending") {
			if dl.Attempts > 0 && strings.Contains(dl.LastError, "connection refused") {
				return true
			}
		}
		return false
	})
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	d = startDaemon(t, cfg)
	rcv.Up()
	waitHistories(t, d, rcv, ids)
	rcv.WaitHooks(t, 30*time.Second, "the received SMS", func(hooks []testutil.Hook) bool {
		return slices.ContainsFunc(hooks, func(h testutil.Hook) bool {
			e := readHook(t, h)
			return e.typ == "message.received" && e.text == "an inbound SMS"
		})
	})
	testutil.Eventually(t, "nothing pending", func() bool { return len(d.deliveries("pending")) == 0 })
}

// A receiver answering 500 forever: the delivery is dead after its
// attempts, listed, and replayed through the API once the receiver works.
func TestE2EWebhookDeadLetterReplayed(t *testing.T) {
	rcv := testutil.NewReceiver(t, hookSecret)
	rcv.Answer(http.StatusInternalServerError)
	w := mustWorld(t, 1, modemsim.Options{})
	d := startDaemon(t, w.config(webhookConfig(rcv, "max_attempts = 2\nevents = [\"message.status\"]\n")))
	id := d.send(map[string]any{"to": "+447400123456", "text": "dead letters", "report": false})[0].ID
	d.waitStatus(id, "sent")
	want := len(d.history(id))
	var dead []apiDelivery
	testutil.Wait(t, 30*time.Second, "every event dead", func() bool {
		dead = d.deliveries("dead")
		return len(dead) == want
	})
	for _, dl := range dead {
		if dl.Attempts != 2 || dl.LastError != "HTTP 500" || dl.Endpoint != "app" || dl.Event != "message.status" {
			t.Fatalf("dead letter %+v", dl)
		}
	}
	if n := len(rcv.Hooks()); n != 2*want {
		t.Fatalf("%d requests for %d events of 2 attempts", n, want)
	}
	rcv.Answer(http.StatusOK)
	before := len(rcv.Hooks())
	for _, dl := range dead {
		if code := d.do("POST", fmt.Sprintf("/v1/webhooks/deliveries/%d/retry", dl.ID), nil, nil); code != http.StatusAccepted {
			t.Fatalf("retry %d: %d", dl.ID, code)
		}
	}
	if code := d.do("POST", fmt.Sprintf("/v1/webhooks/deliveries/%d/retry", dead[0].ID), nil, nil); code != http.StatusConflict {
		t.Fatalf("retry of a pending or delivered delivery: %d, want 409", code)
	}
	testutil.Eventually(t, "the replayed deliveries delivered", func() bool { return len(d.deliveries("delivered")) == want })
	if got := rcv.Hooks()[before:]; len(got) != want {
		t.Fatalf("%d requests after the replay, want %d", len(got), want)
	}
}

// A receiver that never answers: messages still go out and reach their
// final status, with at most 4 requests waiting on it at a time.
func TestE2EWebhookHangingReceiverDoesNotDelaySends(t *testing.T) {
	rcv := testutil.NewReceiver(t, hookSecret)
	rcv.Hang()
	w := mustWorld(t, 1, modemsim.Options{ReportDelay: 100 * time.Millisecond})
	d := startDaemon(t, w.config(fmt.Sprintf("[[webhook]]\nurl = %q\nsecret = %q\ntimeout = \"5m\"\n", rcv.URL, hookSecret)))
	var ids []int64
	for i := range 8 {
		ids = append(ids, d.send(map[string]any{"to": fmt.Sprintf("+44740012345%d", i), "text": "past a hanging receiver", "report": true})[0].ID)
	}
	rcv.WaitHooks(t, testutil.Timeout, "requests hanging", func([]testutil.Hook) bool { return rcv.MaxInFlight() == 4 })
	for _, id := range ids {
		d.waitStatus(id, "delivered")
	}
	if err := w.sims[0].Deliver("+447700900999", "inbound past a hanging receiver"); err != nil {
		t.Fatal(err)
	}
	d.waitInbox(1)
	if n, in := len(rcv.Hooks()), rcv.MaxInFlight(); n != 4 || in != 4 {
		t.Fatalf("%d requests, %d at once, to a receiver that never answered: want 4", n, in)
	}
	// Answered at last: everything follows, in order.
	rcv.Release()
	waitHistories(t, d, rcv, ids)
}

// SIGKILL while events flow, with the modems in a separate bridged sim
// process: after a restart every event reaches the receiver at least
// once, each message's in order.
func TestE2EWebhookAcrossSIGKILL(t *testing.T) {
	bin := mustBinary(t)
	dir := t.TempDir()
	rcv := testutil.NewReceiver(t, hookSecret)
	sim := startSimProcess(t, bin, dir, crashLog(t, 0, "sim-webhook"), "-n", "1", "-latency", "50ms")
	cfgPath := filepath.Join(dir, "bridged.toml")
	cfg := daemonConfig(filepath.Join(dir, "bridged.db"), sim.paths, nil, webhookConfig(rcv, ""))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridged's output:\n%s", out)
		}
	})
	d := runDaemon(t, bin, cfgPath, out)
	t.Cleanup(d.kill)
	var ids []int64
	for i := range 6 {
		ids = append(ids, d.send(map[string]any{"to": fmt.Sprintf("+44740012345%d", i), "text": "across a kill", "report": false})[0].ID)
	}
	// Killed once the receiver has had some events and not all.
	rcv.WaitHooks(t, testutil.Timeout, "the first events", func(h []testutil.Hook) bool { return len(h) >= 3 })
	d.kill()
	if n := len(rcv.Hooks()); n >= 6*3 {
		t.Fatalf("the kill came after all %d events: it tests nothing", n)
	}
	d = runDaemon(t, bin, cfgPath, out)
	t.Cleanup(d.kill)
	for i := range 3 {
		ids = append(ids, d.send(map[string]any{"to": fmt.Sprintf("+44740012346%d", i), "text": "after the kill", "report": false})[0].ID)
	}
	for _, id := range ids {
		d.waitStatus(id, "sent")
	}
	waitHistories(t, d, rcv, ids)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

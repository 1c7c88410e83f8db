package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/queue"
	"bridged/webhook"
)

var ctx = context.Background()

func openStore(tb testing.TB, eps ...queue.WebhookEndpoint) *queue.Store {
	tb.Helper()
	s, err := queue.Open(filepath.Join(tb.TempDir(), "bridged.db"), queue.Options{
		WebhookEndpoints: eps, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// startSender runs a sender until the test ends.
func startSender(tb testing.TB, s *queue.Store, eps ...webhook.Endpoint) {
	tb.Helper()
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	snd := webhook.New(s, eps, slog.New(slog.DiscardHandler))
	go func() {
		defer close(done)
		snd.Run(c)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
}

func enqueue(tb testing.TB, s *queue.Store, to string) int64 {
	tb.Helper()
	e, err := s.Enqueue(ctx, "", queue.NewMessage{To: to, Text: "hello"})
	if err != nil {
		tb.Fatal(err)
	}
	return e.Messages[0].ID
}

// status is what the tests read of a message.status payload: today's
// payload's fields, or the event body's data once it carries one.
type status struct {
	MessageID int64        `json:"message_id"`
	Status    queue.Status `json:"status"`
	Data      *struct {
		ID     int64        `json:"id"`
		Status queue.Status `json:"status"`
	} `json:"data"`
}

func parseStatus(tb testing.TB, body []byte) (int64, queue.Status) {
	tb.Helper()
	var p status
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("payload %s: %v", body, err)
	}
	if p.Data != nil {
		return p.Data.ID, p.Data.Status
	}
	return p.MessageID, p.Status
}

func deliveries(tb testing.TB, s *queue.Store, state queue.WebhookState) []*queue.WebhookDelivery {
	tb.Helper()
	ds, _, err := s.ListWebhooks(ctx, state, 100, "")
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// The request carries the stored payload byte for byte, the contract's
// headers and a signature that a receiver checks with its own HMAC (and
// openssl, as the README shows) under either secret while it is rotated.
func TestSignedRequest(t *testing.T) {
	rcv := testutil.NewReceiver(t, "old-secret")
	s := openStore(t, queue.WebhookEndpoint{Name: "app"})
	startSender(t, s, webhook.Endpoint{Name: "app", URL: rcv.URL, Secrets: []string{"new-secret", "old-secret"}})
	id := enqueue(t, s, "+447700900123")
	hooks := rcv.WaitHooks(t, testutil.Timeout, "one event", func(h []testutil.Hook) bool { return len(h) >= 1 })
	h := hooks[0]
	if !h.Verified || h.Event != queue.EventMessageStatus || h.ContentType != "application/json" {
		t.Fatalf("hook %+v", h)
	}
	if strings.Count(h.Signature, ",v1=") != 2 {
		t.Fatalf("signature %q: want one v1= per secret", h.Signature)
	}
	if err := testutil.VerifySignature(h.Signature, h.Body, []string{"another"}, time.Now(), time.Minute); err == nil {
		t.Fatal("signature valid under a wrong secret")
	}
	if m, st := parseStatus(t, h.Body); m != id || st != queue.StatusQueued {
		t.Fatalf("payload %s", h.Body)
	}
	testutil.Eventually(t, "delivered", func() bool { return len(deliveries(t, s, queue.WebhookDelivered)) == 1 })
	d := deliveries(t, s, queue.WebhookDelivered)[0]
	if string(d.Payload) != string(h.Body) || h.Delivery != strconv.FormatInt(d.ID, 10) {
		t.Fatalf("body %s delivery %s, stored %s %d", h.Body, h.Delivery, d.Payload, d.ID)
	}
	// openssl dgst -sha256 -hmac, as the README tells a receiver to.
	var ts, first string
	for _, part := range strings.Split(h.Signature, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k == "t" {
			ts = v
		} else if first == "" {
			first = v
		}
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", "new-secret")
	cmd.Stdin = strings.NewReader(ts + "." + string(h.Body))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	if f := strings.Fields(string(out)); len(f) == 0 || f[len(f)-1] != first {
		t.Fatalf("openssl says %q, the first v1= is %s", out, first)
	}
}

// Deliveries pending when the daemon starts (left by the last run) are
// sent, although no commit of this run signals them: the first round
// claims without waiting for one.
func TestPendingAtStartIsSent(t *testing.T) {
	rcv := testutil.NewReceiver(t, "s")
	path := filepath.Join(t.TempDir(), "bridged.db")
	opts := queue.Options{WebhookEndpoints: []queue.WebhookEndpoint{{Name: "app"}}}
	s, err := queue.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	first, second := enqueue(t, s, "+447700900123"), enqueue(t, s, "+447700900124")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = queue.Open(path, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	startSender(t, s, webhook.Endpoint{Name: "app", URL: rcv.URL, Secrets: []string{"s"}})
	hooks := rcv.WaitHooks(t, testutil.Timeout, "two events", func(h []testutil.Hook) bool { return len(h) >= 2 })
	var got []int64
	for _, h := range hooks {
		m, _ := parseStatus(t, h.Body)
		got = append(got, m)
	}
	if len(got) != 2 || !(got[0] == first && got[1] == second || got[0] == second && got[1] == first) {
		t.Fatalf("events of messages %v, want %d and %d", got, first, second)
	}
}

// An endpoint answering 500 forever: the delivery is dead after its
// attempts, other events to it are not held up meanwhile, and replayed it
// is delivered once the endpoint answers.
func TestDeadLetterThenReplay(t *testing.T) {
	rcv := testutil.NewReceiver(t, "s")
	rcv.Answer(http.StatusInternalServerError)
	s := openStore(t, queue.WebhookEndpoint{Name: "app", MaxAttempts: 3})
	startSender(t, s, webhook.Endpoint{Name: "app", URL: rcv.URL, Secrets: []string{"s"}})
	enqueue(t, s, "+447700900123")
	testutil.Eventually(t, "dead letter", func() bool { return len(deliveries(t, s, queue.WebhookDead)) == 1 })
	dead := deliveries(t, s, queue.WebhookDead)[0]
	if dead.Attempts != 3 || dead.LastError != "HTTP 500" || len(rcv.Hooks()) != 3 {
		t.Fatalf("dead %+v after %d requests", dead, len(rcv.Hooks()))
	}
	rcv.Answer(http.StatusNoContent)
	if err := s.RequeueWebhook(ctx, dead.ID); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "replayed and delivered", func() bool { return len(deliveries(t, s, queue.WebhookDelivered)) == 1 })
	if got := rcv.Hooks(); len(got) != 4 || got[3].Delivery != strconv.FormatInt(dead.ID, 10) {
		t.Fatalf("%d requests", len(got))
	}
}

// A redirect is not followed: it counts as a failed attempt.
func TestRedirectNotFollowed(t *testing.T) {
	target := testutil.NewReceiver(t)
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	t.Cleanup(srv.Close)
	s := openStore(t, queue.WebhookEndpoint{Name: "app", MaxAttempts: 1})
	startSender(t, s, webhook.Endpoint{Name: "app", URL: srv.URL})
	enqueue(t, s, "+447700900123")
	testutil.Eventually(t, "dead letter", func() bool { return len(deliveries(t, s, queue.WebhookDead)) == 1 })
	if d := deliveries(t, s, queue.WebhookDead)[0]; d.LastError != "HTTP 302" || len(target.Hooks()) != 0 {
		t.Fatalf("dead %+v, target saw %d", d, len(target.Hooks()))
	}
}

// A hanging endpoint: at most MaxInFlight requests wait on it, each ends
// at its timeout as a failed attempt, and another endpoint gets every
// event meanwhile.
func TestHangingEndpoint(t *testing.T) {
	hung, ok := testutil.NewReceiver(t), testutil.NewReceiver(t)
	hung.Hang()
	s := openStore(t, queue.WebhookEndpoint{Name: "hung"}, queue.WebhookEndpoint{Name: "ok"})
	startSender(t, s,
		webhook.Endpoint{Name: "hung", URL: hung.URL, Timeout: 300 * time.Millisecond},
		webhook.Endpoint{Name: "ok", URL: ok.URL})
	for i := range 10 {
		enqueue(t, s, fmt.Sprintf("+4477009001%02d", i))
	}
	ok.WaitHooks(t, testutil.Timeout, "10 events at the answering endpoint", func(h []testutil.Hook) bool { return len(h) == 10 })
	hung.WaitHooks(t, testutil.Timeout, "a timed-out attempt retried", func(h []testutil.Hook) bool { return len(h) > webhook.DefaultMaxInFlight })
	if n := hung.MaxInFlight(); n > webhook.DefaultMaxInFlight {
		t.Fatalf("%d requests at once to the hanging endpoint", n)
	}
	testutil.Eventually(t, "a timeout recorded", func() bool {
		for _, d := range deliveries(t, s, queue.WebhookPending) {
			if d.LastError == "no answer within 300ms" {
				return true
			}
		}
		return false
	})
}

// Many messages, each through several states, at MaxInFlight requests at
// once: each message's events arrive in the order they happened.
func TestOrderPerMessage(t *testing.T) {
	rcv := testutil.NewReceiver(t)
	// Held until every event is queued: requests pile up to MaxInFlight.
	rcv.Hang()
	s := openStore(t, queue.WebhookEndpoint{Name: "app"})
	startSender(t, s, webhook.Endpoint{Name: "app", URL: rcv.URL})
	const n = 20
	for i := range n {
		enqueue(t, s, fmt.Sprintf("+4477009001%02d", i))
	}
	for range n {
		ms, err := s.Claim(ctx, queue.ClaimRequest{Modem: "a", Lease: time.Minute})
		if err != nil || len(ms) != 1 {
			t.Fatalf("claim %d %v", len(ms), err)
		}
		if err := s.PartSent(ctx, *ms[0].Lease, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	rcv.WaitHooks(t, testutil.Timeout, "requests at once", func([]testutil.Hook) bool { return rcv.MaxInFlight() == webhook.DefaultMaxInFlight })
	rcv.Release()
	hooks := rcv.WaitHooks(t, testutil.Timeout, "every event", func(h []testutil.Hook) bool { return len(h) >= 3*n })
	seen := map[int64][]queue.Status{}
	for _, h := range hooks {
		id, st := parseStatus(t, h.Body)
		seen[id] = append(seen[id], st)
	}
	for id, sts := range seen {
		if fmt.Sprint(sts) != fmt.Sprint([]queue.Status{queue.StatusQueued, queue.StatusSending, queue.StatusSent}) {
			t.Errorf("message %d: events %v", id, sts)
		}
	}
	if len(seen) != n || rcv.MaxInFlight() != webhook.DefaultMaxInFlight {
		t.Fatalf("%d messages seen, %d requests at most at once", len(seen), rcv.MaxInFlight())
	}
}

// Stopping hands the requests in flight back, due at once and their
// attempt not counted, rather than leaving them to their lease.
func TestStopReleasesInFlight(t *testing.T) {
	rcv := testutil.NewReceiver(t)
	rcv.Hang()
	s := openStore(t, queue.WebhookEndpoint{Name: "app"})
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		webhook.New(s, []webhook.Endpoint{{Name: "app", URL: rcv.URL}}, slog.New(slog.DiscardHandler)).Run(c)
	}()
	enqueue(t, s, "+447700900123")
	rcv.WaitHooks(t, testutil.Timeout, "the request", func(h []testutil.Hook) bool { return len(h) == 1 })
	cancel()
	<-done
	r, err := s.SettleWebhooks(ctx, "app", nil, 10, time.Minute)
	ds := r.Claimed
	if err != nil || len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("after stop: %+v %v, want the delivery due with its first attempt", ds, err)
	}
}

package queue

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"bridged/pdu"
)

func TestWebhookDeliveries(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{
		WebhookEndpoints: []WebhookEndpoint{{Name: "https://a.example/hook"}, {Name: "https://b.example/hook"}},
		WebhookAttempts:  3, BackoffBase: 10 * time.Second, BackoffMax: time.Minute,
	})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})[0].ID
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900999", "inbound", clk.Now(), 0, 1, 1), "SM", 1))

	for _, ep := range []string{"https://a.example/hook", "https://b.example/hook"} {
		ds, err := s.ClaimWebhooks(ctx, ep, 10, time.Minute)
		if err != nil || len(ds) != 2 {
			t.Fatalf("%s: %d deliveries %v, want 2", ep, len(ds), err)
		}
		// The event body; without Options.Views its data is the store's
		// own struct.
		var status struct {
			Type string `json:"type"`
			Data Message
		}
		if err := json.Unmarshal(ds[0].Payload, &status); err != nil || status.Type != EventMessageStatus ||
			status.Data.ID != id || status.Data.Status != StatusQueued || ds[0].Attempts != 1 {
			t.Fatalf("first event %s %+v %v", ds[0].Payload, status, err)
		}
		var recv struct {
			Type string `json:"type"`
			Data InboxMessage
		}
		if err := json.Unmarshal(ds[1].Payload, &recv); err != nil || recv.Type != EventMessageReceived ||
			recv.Data.Text != "inbound" || recv.Data.From != "+447700900999" {
			t.Fatalf("second event %s %v", ds[1].Payload, err)
		}
	}
	// Claimed deliveries are not handed out twice while the lease runs...
	if ds, _ := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute); len(ds) != 0 {
		t.Fatalf("claimed twice: %d", len(ds))
	}
	// ...and come back when it ends (the sender crashed).
	clk.Advance(time.Minute)
	ds, err := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute)
	if err != nil || len(ds) != 2 || ds[0].Attempts != 2 {
		t.Fatalf("after the lease: %d %v", len(ds), err)
	}
	if err := s.WebhookDelivered(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.WebhookDelivered(ctx, ds[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delivered twice: %v", err)
	}
	// The second fails: after attempt 2 the backoff is 20 s, of which the
	// first half is fixed and the second half is jitter (none in tests).
	failed := ds[1].ID
	if dead, _, err := s.WebhookFailed(ctx, failed, "HTTP 500", 0); err != nil || dead {
		t.Fatalf("failed: dead %v %v", dead, err)
	}
	clk.Advance(9 * time.Second)
	if ds, _ := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute); len(ds) != 0 {
		t.Fatal("claimed during backoff")
	}
	clk.Advance(time.Second)
	ds, _ = s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute)
	if len(ds) != 1 || ds[0].ID != failed || ds[0].Attempts != 3 || ds[0].LastError != "HTTP 500" {
		t.Fatalf("retry: %+v", ds)
	}
	if dead, _, err := s.WebhookFailed(ctx, failed, "HTTP 502", 0); err != nil || !dead {
		t.Fatalf("third failure: dead %v %v, want dead", dead, err)
	}
	clk.Advance(time.Hour)
	if ds, _ := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute); len(ds) != 0 {
		t.Fatal("a dead delivery was claimed")
	}
	dead, _, err := s.ListWebhooks(ctx, WebhookDead, 10, "")
	if err != nil || len(dead) != 1 || dead[0].ID != failed || dead[0].LastError != "HTTP 502" {
		t.Fatalf("dead letters: %+v %v", dead, err)
	}
	if err := s.RequeueWebhook(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if err := s.RequeueWebhook(ctx, failed); !errors.Is(err, ErrNotDead) {
		t.Fatalf("requeued a pending delivery: %v", err)
	}
	if err := s.RequeueWebhook(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("requeued no delivery: %v", err)
	}
	if ds, _ := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute); len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("requeued: %+v", ds)
	}
	// Endpoint b's deliveries are its own.
	if ds, _ := s.ClaimWebhooks(ctx, "https://b.example/hook", 10, time.Minute); len(ds) != 2 {
		t.Fatalf("b: %d deliveries, want 2 again after its lease", len(ds))
	}
}

// deliverWebhooks claims and delivers endpoint's deliveries until none is
// due and returns how many it delivered.
func deliverWebhooks(tb testing.TB, s *Store, endpoint string) int {
	tb.Helper()
	n := 0
	for {
		ds, err := s.ClaimWebhooks(ctx, endpoint, 100, time.Minute)
		if err != nil {
			tb.Fatal(err)
		}
		if len(ds) == 0 {
			return n
		}
		for _, d := range ds {
			if err := s.WebhookDelivered(ctx, d.ID); err != nil {
				tb.Fatal(err)
			}
		}
		n += len(ds)
	}
}

func statusOf(tb testing.TB, d *WebhookDelivery) Status {
	var p struct{ Data struct{ Status Status } }
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		tb.Fatal(err)
	}
	return p.Data.Status
}

// One message's events go to an endpoint one after the other, in order:
// the next is not claimed while the one before is in flight or waiting
// for its retry, and other messages' events are not held up by it.
func TestWebhookEventsOfAMessageInOrder(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "e", MaxAttempts: 2}}, BackoffBase: 10 * time.Second})
	first := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 1, 3); err != nil {
		t.Fatal(err)
	}
	// nextDue is when a round that finds nothing due says the next
	// delivery falls due (zero: none pending).
	nextDue := func() time.Time {
		t.Helper()
		r, err := s.SettleWebhooks(ctx, "e", nil, 1, time.Minute)
		if err != nil || len(r.Claimed) != 0 {
			t.Fatalf("round: claimed %d, %v; want nothing due", len(r.Claimed), err)
		}
		return r.Next
	}
	var got []Status
	for {
		ds, err := s.ClaimWebhooks(ctx, "e", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		if len(ds) != 1 {
			t.Fatalf("claimed %d events of one message at once", len(ds))
		}
		got = append(got, statusOf(t, ds[0]))
		if len(got) == 1 {
			// The first fails: the others wait for its retry, and
			// the next due is its time, not theirs (due already).
			if _, _, err := s.WebhookFailed(ctx, ds[0].ID, "HTTP 503", 0); err != nil {
				t.Fatal(err)
			}
			second := MustEnqueue(t, s, NewMessage{To: "+447700900124", Text: "other"})[0].ID
			others, err := s.ClaimWebhooks(ctx, "e", 10, time.Minute)
			if err != nil || len(others) != 1 || statusOf(t, others[0]) != StatusQueued || !json.Valid(others[0].Payload) {
				t.Fatalf("another message's event during the retry: %+v %v (message %d)", others, err, second)
			}
			if err := s.WebhookDelivered(ctx, others[0].ID); err != nil {
				t.Fatal(err)
			}
			if next := nextDue(); !next.Equal(clk.Now().Add(5 * time.Second)) {
				t.Fatalf("next webhook %v, want the retry in 5 s", next)
			}
			clk.Advance(5 * time.Second)
			continue
		}
		if err := s.WebhookDelivered(ctx, ds[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 4 || got[0] != StatusQueued || got[1] != StatusQueued || got[2] != StatusSending || got[3] != StatusSent {
		t.Fatalf("events of message %d: %v, want queued (failed once), queued again, sending, sent", first, got)
	}
	if next := nextDue(); !next.IsZero() {
		t.Fatalf("next webhook after all delivered: %v", next)
	}
}

// WebhookSeq counts the commits that SubscribeWebhooks signals, and a
// round's Seq is the count its transaction saw: a sender whose last round
// saw the current count knows nothing came due since.
func TestWebhookSeq(t *testing.T) {
	s, _, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "e", MaxAttempts: 1}}})
	queued, unsubscribe := s.SubscribeWebhooks()
	defer unsubscribe()
	start := s.WebhookSeq()
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})
	if got := s.WebhookSeq(); got != start+1 || len(queued) != 1 {
		t.Fatalf("after a due delivery: seq %d (from %d), %d values", got, start, len(queued))
	}
	<-queued
	r, err := s.SettleWebhooks(ctx, "e", nil, 10, time.Minute)
	if err != nil || len(r.Claimed) != 1 || r.Seq != start+1 {
		t.Fatalf("round: %d claimed, seq %d, %v", len(r.Claimed), r.Seq, err)
	}
	// The message's next event waits for the first: not counted.
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if got := s.WebhookSeq(); got != start+1 || len(queued) != 0 {
		t.Fatalf("after a held delivery: seq %d, %d values", got, len(queued))
	}
	// Its last attempt failed: dead, it lets the held one go.
	r, err = s.SettleWebhooks(ctx, "e", []WebhookOutcome{{ID: r.Claimed[0].ID, Failure: "HTTP 500"}}, 0, 0)
	if err != nil || !r.Settled[0].Dead || s.WebhookSeq() != start+2 {
		t.Fatalf("dead: %+v seq %d %v", r.Settled, s.WebhookSeq(), err)
	}
	r, err = s.SettleWebhooks(ctx, "e", nil, 10, time.Minute)
	if err != nil || len(r.Claimed) != 1 || r.Seq != start+2 || statusOf(t, r.Claimed[0]) != StatusSending {
		t.Fatalf("after the dead one: %+v, seq %d, %v (message %d)", r.Claimed, r.Seq, err, m.ID)
	}
}

// A dead delivery lets its subject's later ones go.
func TestWebhookDeadUnblocksLaterEvents(t *testing.T) {
	s, _, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "e", MaxAttempts: 1}}})
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})
	MustClaim(t, s, ClaimRequest{Modem: "a"})
	ds, _ := s.ClaimWebhooks(ctx, "e", 10, time.Minute)
	if len(ds) != 1 {
		t.Fatalf("claimed %d", len(ds))
	}
	woken, stop := s.SubscribeWebhooks()
	defer stop()
	if dead, _, err := s.WebhookFailed(ctx, ds[0].ID, "HTTP 410", 0); err != nil || !dead {
		t.Fatalf("dead %v %v", dead, err)
	}
	select {
	case <-woken:
	default:
		t.Fatal("a dead delivery did not wake the sender for the ones it held up")
	}
	ds, _ = s.ClaimWebhooks(ctx, "e", 10, time.Minute)
	if len(ds) != 1 || statusOf(t, ds[0]) != StatusSending {
		t.Fatalf("after the dead letter: %+v", ds)
	}
}

// Retry-After is honoured within MaxBackoff, which also caps the backoff.
func TestWebhookRetryAfterAndMaxBackoff(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "e", MaxBackoff: time.Minute}}, BackoffBase: 10 * time.Second})
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})
	for _, c := range []struct {
		retryAfter, want time.Duration
	}{
		// Half of each backoff is fixed, half jitter (none in tests).
		{0, 5 * time.Second}, {30 * time.Second, 30 * time.Second}, // backoff 10 s, Retry-After longer
		{0, 20 * time.Second}, {time.Hour, time.Minute}, // Retry-After capped
		{0, 30 * time.Second}, // backoff 160 s capped at 1 min
	} {
		ds, err := s.ClaimWebhooks(ctx, "e", 10, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %d %v", len(ds), err)
		}
		_, next, err := s.WebhookFailed(ctx, ds[0].ID, "HTTP 429", c.retryAfter)
		if err != nil || next.Sub(clk.Now()) != c.want {
			t.Fatalf("attempt %d, Retry-After %v: next in %v %v, want %v", ds[0].Attempts, c.retryAfter, next.Sub(clk.Now()), err, c.want)
		}
		clk.Advance(c.want)
	}
}

// An endpoint gets only the event types its filter takes, and a commit
// that queued one wakes SubscribeWebhooks' channel.
func TestWebhookEventFilter(t *testing.T) {
	s, _, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{
		{Name: "status", Events: []string{EventMessageStatus}},
		{Name: "inbox", Events: []string{EventMessageReceived}},
	}})
	woken, stop := s.SubscribeWebhooks()
	defer stop()
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})
	select {
	case <-woken:
	default:
		t.Fatal("queueing a delivery did not wake the sender")
	}
	if n := deliverWebhooks(t, s, "inbox"); n != 0 {
		t.Fatalf("inbox endpoint got %d status events", n)
	}
	if n := deliverWebhooks(t, s, "status"); n != 1 {
		t.Fatalf("status endpoint got %d events, want 1", n)
	}
	select { // what the deliveries above left
	case <-woken:
	default:
	}
	MustClaim(t, s, ClaimRequest{Modem: "a"}) // sending: one more status event
	select {
	case <-woken:
	default:
		t.Fatal("queueing the sending event did not wake the sender")
	}
}

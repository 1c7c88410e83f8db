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
		WebhookEndpoints: []string{"https://a.example/hook", "https://b.example/hook"},
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
	if dead, err := s.WebhookFailed(ctx, failed, "HTTP 500"); err != nil || dead {
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
	if dead, err := s.WebhookFailed(ctx, failed, "HTTP 502"); err != nil || !dead {
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
	if ds, _ := s.ClaimWebhooks(ctx, "https://a.example/hook", 10, time.Minute); len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("requeued: %+v", ds)
	}
	// Endpoint b's deliveries are its own.
	if ds, _ := s.ClaimWebhooks(ctx, "https://b.example/hook", 10, time.Minute); len(ds) != 2 {
		t.Fatalf("b: %d deliveries, want 2 again after its lease", len(ds))
	}
}

func TestWebhookEventsFollowStatusChanges(t *testing.T) {
	s, _, _ := MustOpen(t, Options{WebhookEndpoints: []string{"e"}})
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 1, 3); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimWebhooks(ctx, "e", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []Status
	for _, d := range ds {
		var p struct{ Data struct{ Status Status } }
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Data.Status)
	}
	if len(got) != 3 || got[0] != StatusQueued || got[1] != StatusSending || got[2] != StatusSent {
		t.Fatalf("events %v", got)
	}
}

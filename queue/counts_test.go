package queue

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"
)

// TestCounts: the counts by status follow messages through claim, send and
// cancel, and every status change queues one delivery per webhook endpoint.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	s, _, _ := MustOpen(t, Options{WebhookEndpoints: []string{"a", "b"}})
	counts := func() Counts {
		t.Helper()
		c, err := s.Counts(ctx)
		if err != nil {
			t.Fatalf("counts: %v", err)
		}
		return c
	}
	if c := counts(); len(c.Messages) != 0 || c.WebhooksPending != 0 {
		t.Fatalf("empty store: %+v", c)
	}
	ms := MustEnqueue(t, s, NewMessage{To: "+441", Text: "one"}, NewMessage{To: "+442", Text: "two"}, NewMessage{To: "+443", Text: "three"})
	if err := s.Cancel(ctx, ms[2].ID); err != nil {
		t.Fatal(err)
	}
	claimed := MustClaim(t, s, ClaimRequest{Modem: "m", Lease: time.Minute})
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	c := counts()
	want := map[Status]int64{StatusQueued: 1, StatusSending: 1, StatusCancelled: 1}
	if !maps.Equal(c.Messages, want) {
		t.Errorf("after claim: %v, want %v", c.Messages, want)
	}
	// queued ×3, cancelled, sending: 5 events, each for 2 endpoints.
	if c.WebhooksPending != 10 {
		t.Errorf("webhooks pending after 5 events for 2 endpoints: %d", c.WebhooksPending)
	}
	if err := s.PartSent(ctx, *claimed[0].Lease, 1, 7); err != nil {
		t.Fatal(err)
	}
	want = map[Status]int64{StatusQueued: 1, StatusSent: 1, StatusCancelled: 1}
	if c := counts(); !maps.Equal(c.Messages, want) || c.WebhooksPending != 12 {
		t.Errorf("after the send: %v and %d webhooks pending, want %v and 12", c.Messages, c.WebhooksPending, want)
	}
	ds, err := s.ClaimWebhooks(ctx, "a", 1, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim webhooks: %v %v", ds, err)
	}
	if err := s.WebhookDelivered(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c.WebhooksPending != 11 {
		t.Errorf("after one delivery: %d webhooks pending, want 11", c.WebhooksPending)
	}
	if n := s.WriteFailures(); n != 0 {
		t.Errorf("write failures on a healthy disk: %d", n)
	}
	s.Close()
	if _, err := s.Counts(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("counts after close: %v", err)
	}
}

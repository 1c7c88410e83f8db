package queue

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

// TestCounts: the counts by status follow messages through claim, send,
// cancel, report, expiry and prune, and every status change queues one
// delivery per webhook endpoint.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "a"}, {Name: "b"}}})
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
	// A delivery report, an expiry and a prune move or remove messages in
	// other writes: the kept counts still agree with counting the rows.
	if _, err := s.Report(ctx, Report{Modem: "m", Ref: 7, Recipient: "+441", Outcome: "delivered"}); err != nil {
		t.Fatal(err)
	}
	MustExpire(t, s, clk, 3, "expires")
	want = map[Status]int64{StatusQueued: 1, StatusDelivered: 1, StatusCancelled: 1, StatusExpired: 3}
	if c := counts(); !maps.Equal(c.Messages, want) {
		t.Errorf("after report and expiry: %v, want %v", c.Messages, want)
	}
	clk.Advance(48 * time.Hour)
	if _, err := s.PruneOlder(ctx, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	want = map[Status]int64{StatusQueued: 1}
	if c := counts(); !maps.Equal(c.Messages, want) || !maps.Equal(c.Messages, countRows(t, s)) {
		t.Errorf("after pruning: %v, want %v, counted %v", c.Messages, want, countRows(t, s))
	}
	if n := s.WriteFailures(); n != 0 {
		t.Errorf("write failures on a healthy disk: %d", n)
	}
	s.Close()
	if _, err := s.Counts(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("counts after close: %v", err)
	}
}

// countRows counts the messages by status the slow way.
func countRows(t *testing.T, s *Store) map[Status]int64 {
	t.Helper()
	rows, err := s.rdb.Query("SELECT status, count(*) FROM messages GROUP BY status")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[Status]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		out[Status(st)] = n
	}
	return out
}

// TestCountsMigrated: on a database from before the counts were kept, the
// migration that keeps them counts the messages already there. (Its SQL
// is run again on a store without it, rather than the store taken back a
// schema version, so that the test holds wherever the migration is
// numbered.)
func TestCountsMigrated(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	ms := MustEnqueue(t, s, NewMessage{To: "+441", Text: "a"}, NewMessage{To: "+442", Text: "b"})
	if err := s.Cancel(ctx, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	all, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var create string
	for _, m := range all {
		text, err := m.sql()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "CREATE TABLE message_counts") {
			create = text
		}
	}
	if create == "" {
		t.Fatal("no migration creates message_counts")
	}
	for _, q := range []string{"DROP TRIGGER message_counts_insert", "DROP TRIGGER message_counts_update",
		"DROP TRIGGER message_counts_delete", "DROP TABLE message_counts", create} {
		if _, err := s.wdb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	MustEnqueue(t, s, NewMessage{To: "+443", Text: "c"})
	c, err := s.Counts(ctx)
	want := map[Status]int64{StatusQueued: 2, StatusCancelled: 1}
	if err != nil || !maps.Equal(c.Messages, want) {
		t.Errorf("counts after the migration: %v %v, want %v", c.Messages, err, want)
	}
}

// BenchmarkCountsWith1M measures one scrape's read of the store (Counts)
// on the million-message database of BenchmarkEnqueueWith1M.
func BenchmarkCountsWith1M(b *testing.B) {
	s, err := Open(bigDB(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Counts(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

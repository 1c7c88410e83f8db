package queue

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"bridged/pdu"
)

func TestPrune(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{WebhookEndpoints: []WebhookEndpoint{{Name: "e"}}})
	old := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "old delivered", Report: true})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 1, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, Report{Modem: "a", Ref: 9, Recipient: "+447700900123", Outcome: "delivered"}); err != nil {
		t.Fatal(err)
	}
	oldCancelled, err := s.Enqueue(ctx, "old-key", NewMessage{To: "+447700900123", Text: "old cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, oldCancelled.Messages[0].ID); err != nil {
		t.Fatal(err)
	}
	oldQueued := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "old but still queued", SendAt: clk.Now().Add(90 * 24 * time.Hour)})[0].ID
	inPart := pdu.DecodeReceived("a", deliverPDU("+447700900999", "old inbound", clk.Now(), 0, 1, 1), "SM", 1)
	in := mustReceive(t, s, inPart)
	// Deleted from the SIM: prunable after the retention.
	if err := s.Acked(ctx, inPart); err != nil {
		t.Fatal(err)
	}
	half := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900999", "waiting for part 2", clk.Now(), 5, 2, 1), "SM", 2))
	delivered := deliverWebhooks(t, s, "e")
	if delivered < 6 {
		t.Fatalf("webhooks delivered %d", delivered)
	}

	clk.Advance(31 * 24 * time.Hour)
	recent := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "recent"})[0].ID
	if err := s.Cancel(ctx, recent); err != nil {
		t.Fatal(err)
	}

	p, err := s.Prune(ctx, clk.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Messages != 2 || p.InboundParts != 1 || p.IdempotencyKeys != 1 || p.WebhookDeliveries != delivered {
		t.Fatalf("pruned %+v (webhooks delivered %d)", p, delivered)
	}
	for _, id := range []int64{old, oldCancelled.Messages[0].ID} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("message %d: %v, want pruned", id, err)
		}
	}
	for _, id := range []int64{oldQueued, recent} {
		MustGet(t, s, id)
	}
	var n int
	if err := s.rdb.QueryRow("SELECT count(*) FROM message_events WHERE message_id = ?", old).Scan(&n); err != nil || n != 0 {
		t.Fatalf("events of a pruned message: %d %v", n, err)
	}
	// The inbox is the application's: only the raw part went.
	if _, err := s.GetInbox(ctx, in.Message.ID); err != nil {
		t.Fatalf("inbox message pruned: %v", err)
	}
	// A part still waiting for the rest of its message is kept.
	var pdu string
	if err := s.rdb.QueryRow("SELECT pdu FROM inbound_parts WHERE id = ?", half.PartID).Scan(&pdu); err != nil {
		t.Fatalf("open part pruned: %v", err)
	}
	// The key's messages are gone, so the key is free again.
	again, err := s.Enqueue(ctx, "old-key", NewMessage{To: "+447700900123", Text: "new body"})
	if err != nil || again.Replayed {
		t.Fatalf("reuse a pruned key: %+v %v", again, err)
	}
	if p, err := s.Prune(ctx, clk.Now().Add(-30*24*time.Hour)); err != nil || p != (Pruned{}) {
		t.Fatalf("second prune: %+v %v", p, err)
	}
}

func TestPruneInBatches(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	const n = pruneBatch*2 + 7
	MustExpire(t, s, clk, n, "x")
	commits := s.Stats().Commits
	p, err := s.Prune(ctx, clk.Now().Add(time.Second))
	if err != nil || p.Messages != n {
		t.Fatalf("pruned %+v %v", p, err)
	}
	// Three batches of messages, then one empty pass for each other kind.
	if c := s.Stats().Commits - commits; c < 3 {
		t.Fatalf("%d commits: not batched", c)
	}
}

func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open(driverName, dsn(path, Options{BusyTimeout: time.Second}, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(db, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO messages (to_number, body, encoding, parts, status, due_at, created_at, updated_at)
		VALUES ('+1555', 'from v1', 'gsm7', 1, 'delivered', 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.rdb.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() || v < 2 {
		t.Fatalf("version %d %v", v, err)
	}
	if m := MustGet(t, s, 1); m.Text != "from v1" {
		t.Fatalf("message %+v", m)
	}
	var idx string
	if err := s.rdb.QueryRow("SELECT name FROM sqlite_master WHERE name = 'messages_final'").Scan(&idx); err != nil {
		t.Fatalf("migration 2 index: %v", err)
	}
}

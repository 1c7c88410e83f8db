package queue

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/pdu"
)

const pruneMonth = 30 * 24 * time.Hour

// TestPruneKeepsPartsStillOnModem is the open risk of Prune: a raw part
// whose delete from the SIM failed stays on the SIM; if Prune removed it
// after the retention, the next sweep would read it again and deliver it
// to the inbox a second time. A part is pruned only once it is Acked,
// and reading it again takes the mark away.
func TestPruneKeepsPartsStillOnModem(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	stuck := pdu.DecodeReceived("a", deliverPDU("+447700900999", "its +CMGD failed", clk.Now(), 0, 1, 1), "SM", 3)
	gone := pdu.DecodeReceived("a", deliverPDU("+447700900998", "deleted from the SIM", clk.Now(), 0, 1, 1), "SM", 4)
	reread := pdu.DecodeReceived("a", deliverPDU("+447700900997", "deleted, then read again", clk.Now(), 0, 1, 1), "SM", 5)
	r := mustReceive(t, s, stuck)
	mustReceive(t, s, gone)
	mustReceive(t, s, reread)
	for _, in := range []pdu.Received{gone, reread} {
		if err := s.Acked(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// The application has read and deleted it: what is left is the raw part.
	if err := s.DeleteInbox(ctx, r.Message.ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	// A sweep finds it on the SIM again (an earlier delete was lost).
	if d := mustReceive(t, s, reread); !d.Duplicate {
		t.Fatalf("reread: %+v, want a duplicate", d)
	}
	clk.Advance(pruneMonth + time.Hour)
	p, err := s.PruneOlder(ctx, pruneMonth)
	if err != nil {
		t.Fatal(err)
	}
	if p.InboundParts != 1 {
		t.Fatalf("pruned %+v, want only the part deleted from the SIM", p)
	}
	before := inboxCount(t, s)
	for _, in := range []pdu.Received{stuck, reread} {
		if d := mustReceive(t, s, in); !d.Duplicate || d.Message != nil {
			t.Errorf("%s read again after the retention: %+v, want a duplicate", in.PDU[:20], d)
		}
	}
	if n := inboxCount(t, s); n != before {
		t.Fatalf("inbox %d, then %d: a part still on the SIM was delivered twice", before, n)
	}
	// Acked after all: prunable once the retention has passed again.
	if err := s.Acked(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	clk.Advance(pruneMonth + time.Hour)
	if p, err := s.PruneOlder(ctx, pruneMonth); err != nil || p.InboundParts != 1 {
		t.Fatalf("prune after the ack: %+v %v", p, err)
	}
	if err := s.Acked(ctx, pdu.DecodeReceived("a", "0011", "SM", 9)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ack of an unknown part: %v", err)
	}
}

// TestPruneHonoursRetention: with a month's retention, only what ended
// (or left the SIM) more than a month ago goes; everything newer, and
// everything not final, stays with its history.
func TestPruneHonoursRetention(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	old := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "old, cancelled"})[0].ID
	if err := s.Cancel(ctx, old); err != nil {
		t.Fatal(err)
	}
	pending := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "old, still queued", SendAt: clk.Now().Add(60 * 24 * time.Hour)})[0].ID
	clk.Advance(pruneMonth - time.Minute)
	young := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "a minute under a pruneMonth"})[0].ID
	if err := s.Cancel(ctx, young); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	p, err := s.PruneOlder(ctx, pruneMonth)
	if err != nil || p.Messages != 1 {
		t.Fatalf("pruned %+v %v, want the one old final message", p, err)
	}
	if _, err := s.Get(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old message: %v", err)
	}
	for _, id := range []int64{pending, young} {
		if m := MustGet(t, s, id); len(m.Events) == 0 {
			t.Fatalf("message %d kept without its events", id)
		}
	}
}

// dbFileSize is the database as the file system sees it: the file and its WAL.
func dbFileSize(t *testing.T, path string) int64 {
	t.Helper()
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		fi, err := os.Stat(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestPruneShrinksFile: the file itself gets smaller once old messages are
// pruned, measured on the file system, not in SQLite's page counts.
func TestPruneShrinksFile(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	const n = 3000
	MustExpire(t, s, clk, n, strings.Repeat("x", 600))
	kept := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "kept"})[0].ID
	if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	full := dbFileSize(t, path)
	clk.Advance(pruneMonth + time.Minute)
	p, err := s.PruneOlder(ctx, pruneMonth)
	if err != nil || p.Messages != n || p.PagesFreed == 0 {
		t.Fatalf("pruned %+v %v", p, err)
	}
	sp, err := s.Space(ctx)
	if err != nil || !sp.Incremental || sp.FreePages != 0 {
		t.Fatalf("space %+v %v", sp, err)
	}
	db, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if db.Size() > full/4 {
		t.Fatalf("database file %d bytes after pruning, %d before: did not shrink", db.Size(), full)
	}
	t.Logf("database and WAL %d bytes before pruning, file %d after (WAL %d)", full, db.Size(), dbFileSize(t, path)-db.Size())
	MustGet(t, s, kept)
}

// TestPruneLetsWritesThrough: Prune is many short writes, not one long
// one. Between two of its batches an enqueue commits: the hook runs after
// each batch, on Prune's goroutine, so Prune cannot go on until that
// enqueue is durable, which it could not be if Prune held the writer.
func TestPruneLetsWritesThrough(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	const n = pruneBatch*4 + 1
	MustExpire(t, s, clk, n, "x")
	clk.Advance(pruneMonth + time.Minute)
	var mu sync.Mutex
	var between []int64
	s.pruneBatchDone = func() {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, err := s.Enqueue(c, "", NewMessage{To: "+447700900123", Text: "between batches"})
		if err != nil {
			t.Errorf("enqueue between prune batches: %v", err)
			return
		}
		mu.Lock()
		between = append(between, res.Messages[0].ID)
		mu.Unlock()
	}
	p, err := s.PruneOlder(ctx, pruneMonth)
	s.pruneBatchDone = nil
	if err != nil || p.Messages != n {
		t.Fatalf("pruned %+v %v", p, err)
	}
	// Five batches of messages, then the vacuum's steps.
	if len(between) < 5 {
		t.Fatalf("%d enqueues went between prune's writes, want at least 5", len(between))
	}
	for _, id := range between {
		if m := MustGet(t, s, id); m.Status != StatusQueued {
			t.Fatalf("message %d: %s", id, m.Status)
		}
	}
}

// TestOpenEnablesIncrementalVacuum: a database made by an older bridged
// (auto_vacuum NONE) is converted once at Open, keeping its rows.
func TestOpenEnablesIncrementalVacuum(t *testing.T) {
	s, _, path := MustOpen(t, Options{})
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "kept through the VACUUM"})
	if _, err := s.wdb.Exec("PRAGMA auto_vacuum = NONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.Exec("VACUUM"); err != nil {
		t.Fatal(err)
	}
	if sp, err := s.Space(ctx); err != nil || sp.Incremental {
		t.Fatalf("as an older bridged left it: %+v %v", sp, err)
	}
	s2 := MustReopen(t, s, path, Options{})
	if sp, err := s2.Space(ctx); err != nil || !sp.Incremental || s2.VacuumError() != nil {
		t.Fatalf("after Open: %+v %v %v", sp, err, s2.VacuumError())
	}
	if m := MustGet(t, s2, 1); m.Text != "kept through the VACUUM" {
		t.Fatalf("message %+v", m)
	}
}

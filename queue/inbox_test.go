package queue

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"bridged/pdu"
)

// readmePDU is the README's example: "hellohello" from 27838890001, GSM 7-bit.
const readmePDU = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"

func mustReceive(t *testing.T, s *Store, in pdu.Received) Received {
	t.Helper()
	r, err := s.Receive(ctx, in)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return r
}

func inboxCount(t *testing.T, s *Store) int {
	t.Helper()
	p, err := s.ListInbox(ctx, InboxFilter{Limit: MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Messages)
}

func TestReceiveSinglePart(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	r := mustReceive(t, s, pdu.DecodeReceived("a", strings.ToLower(readmePDU), "SM", 1))
	if r.Duplicate || r.Message == nil {
		t.Fatalf("%+v", r)
	}
	m, err := s.GetInbox(ctx, r.Message.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Date(1999, 3, 29, 13, 16, 59, 0, time.UTC)
	if m.Text != "hellohello" || m.From != "27838890001" || m.Modem != "a" || m.Parts != 1 || m.Incomplete ||
		m.Encoding != pdu.GSM7 || m.SentAt == nil || !m.SentAt.Equal(sent) || !m.ReceivedAt.Equal(clk.Now()) {
		t.Fatalf("inbox message %+v", m)
	}
}

func TestReceiveMultipartOutOfOrderWithDuplicates(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	at := clk.Now().Add(-time.Minute)
	texts := []string{"第一部分，", "第二部分，", "第三部分。"}
	pdus := make([]string, 3)
	for i, tx := range texts {
		pdus[i] = deliverPDU("+8613800138000", tx, at, 42, 3, i+1)
	}
	steps := []struct {
		seq, slot int
		dup, done bool
	}{
		{3, 5, false, false},
		{1, 3, false, false},
		{3, 5, true, false}, // read again after a crash before +CMGD
		{2, 4, false, true},
		{2, 4, true, false}, // and again after the message was complete
	}
	for i, st := range steps {
		r := mustReceive(t, s, pdu.DecodeReceived("a", pdus[st.seq-1], "SM", st.slot))
		if r.Duplicate != st.dup || (r.Message != nil) != st.done {
			t.Fatalf("step %d (part %d): duplicate %v message %v", i, st.seq, r.Duplicate, r.Message)
		}
		if st.done {
			m := r.Message
			if m.Text != strings.Join(texts, "") || m.Parts != 3 || m.Incomplete || m.From != "+8613800138000" || m.Encoding != pdu.UCS2 {
				t.Fatalf("joined: %+v", m)
			}
		}
	}
	if n := inboxCount(t, s); n != 1 {
		t.Fatalf("%d inbox messages, want 1", n)
	}
}

func TestReceiveKeepsIdenticalTexts(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	at := clk.Now()
	same := deliverPDU("+447700900123", "POS 51.5,-0.1", at, 0, 1, 1)
	later := deliverPDU("+447700900123", "POS 51.5,-0.1", at.Add(time.Second), 0, 1, 1)
	steps := []struct {
		name string
		in   pdu.Received
		dup  bool
	}{
		{"first", pdu.DecodeReceived("a", same, "SM", 1), false},
		{"same PDU side by side in another slot", pdu.DecodeReceived("a", same, "SM", 2), false},
		{"same PDU same slot other storage", pdu.DecodeReceived("a", same, "ME", 1), false},
		{"slot 1 read again", pdu.DecodeReceived("a", same, "SM", 1), true},
		{"same words a second later in a reused slot", pdu.DecodeReceived("a", later, "SM", 1), false},
		{"same PDU on another modem", pdu.DecodeReceived("b", same, "SM", 1), false},
	}
	want := 0
	for _, st := range steps {
		r := mustReceive(t, s, st.in)
		if r.Duplicate != st.dup {
			t.Fatalf("%s: duplicate %v, want %v", st.name, r.Duplicate, st.dup)
		}
		if !st.dup {
			want++
		}
		if n := inboxCount(t, s); n != want {
			t.Fatalf("%s: %d inbox messages, want %d", st.name, n, want)
		}
	}
}

func TestReceiveDirectRedelivery(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{RedeliveryWindow: 10 * time.Minute})
	p := deliverPDU("+447700900123", "direct", clk.Now(), 0, 1, 1)
	if r := mustReceive(t, s, pdu.DecodeReceived("a", p, "", -1)); r.Duplicate {
		t.Fatal("first +CMT is a duplicate")
	}
	clk.Advance(9 * time.Minute)
	if r := mustReceive(t, s, pdu.DecodeReceived("a", p, "", -1)); !r.Duplicate {
		t.Fatal("redelivery within the window was kept twice")
	}
	clk.Advance(2 * time.Minute)
	if r := mustReceive(t, s, pdu.DecodeReceived("a", p, "", -1)); r.Duplicate {
		t.Fatal("a +CMT outside the window was dropped")
	}
	if n := inboxCount(t, s); n != 2 {
		t.Fatalf("%d inbox messages, want 2", n)
	}
}

func TestReassemblyTimeout(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{ReassemblyTimeout: time.Hour})
	at := clk.Now()
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "one ", at, 9, 3, 1), "SM", 1))
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "three", at, 9, 3, 3), "SM", 2))
	clk.Advance(59 * time.Minute)
	if got, err := s.ReleaseIncomplete(ctx); err != nil || len(got) != 0 {
		t.Fatalf("released early: %v %v", got, err)
	}
	clk.Advance(time.Minute)
	got, err := s.ReleaseIncomplete(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("release: %v %v", got, err)
	}
	m := got[0]
	if !m.Incomplete || fmt.Sprint(m.Missing) != "[2]" || m.Text != "one three" || m.Parts != 3 {
		t.Fatalf("released %+v", m)
	}
	stored, err := s.GetInbox(ctx, m.ID)
	if err != nil || !stored.Incomplete || fmt.Sprint(stored.Missing) != "[2]" {
		t.Fatalf("stored %+v %v", stored, err)
	}
	// The missing part turns up late: it starts a message of its own
	// rather than being lost or joined to a message already delivered.
	r := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "two ", at, 9, 3, 2), "SM", 3))
	if r.Message != nil || r.Duplicate {
		t.Fatalf("late part: %+v", r)
	}
	clk.Advance(time.Hour)
	if got, _ := s.ReleaseIncomplete(ctx); len(got) != 1 || got[0].Text != "two " {
		t.Fatalf("late part released: %+v", got)
	}
}

func TestReceiveReusedReference(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	at := clk.Now()
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "old 1", at, 7, 2, 1), "SM", 1))
	// Part 1 of a new message with the same reference: the old one is
	// released incomplete, the new one starts.
	r := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "new 1", at.Add(time.Hour), 7, 2, 1), "SM", 2))
	if r.Message != nil {
		t.Fatalf("%+v", r)
	}
	r = mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900123", "new 2", at.Add(time.Hour), 7, 2, 2), "SM", 3))
	if r.Message == nil || r.Message.Text != "new 1new 2" {
		t.Fatalf("new message: %+v", r.Message)
	}
	p, _ := s.ListInbox(ctx, InboxFilter{})
	if len(p.Messages) != 2 || !p.Messages[0].Incomplete || p.Messages[0].Text != "old 1" {
		t.Fatalf("inbox %+v", p.Messages)
	}
}

func TestReceiveUndecodableAndWrongType(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	bad := pdu.DecodeReceived("a", "0004ZZ", "SM", 1)
	if bad.DecodeErr == nil {
		t.Fatal("0004ZZ decoded")
	}
	r := mustReceive(t, s, bad)
	if r.PartID == 0 || r.Message != nil {
		t.Fatalf("undecodable: %+v", r)
	}
	if again := mustReceive(t, s, pdu.DecodeReceived("a", "0004zz", "SM", 1)); !again.Duplicate {
		t.Fatal("undecodable part stored twice")
	}
	if n := inboxCount(t, s); n != 0 {
		t.Fatalf("%d inbox messages", n)
	}
	// Stored raw, as the modem printed it, with the reason: what a person
	// needs to look at it later.
	var (
		modem, storage, raw, why string
		slot                     sql.NullInt64
		acked                    sql.NullInt64
	)
	err := s.rdb.QueryRowContext(ctx, `SELECT modem, storage, slot, pdu, decode_error, acked_at FROM inbound_parts WHERE id = ?`, r.PartID).
		Scan(&modem, &storage, &slot, &raw, &why, &acked)
	if err != nil || modem != "a" || storage != "SM" || !slot.Valid || slot.Int64 != 1 || raw != "0004ZZ" || why != bad.DecodeErr.Error() || acked.Valid {
		t.Fatalf("stored part %s %s %v %s %q acked %v: %v", modem, storage, slot, raw, why, acked, err)
	}
	// Stored, so the modem may free the SIM slot; the part is then found
	// by its dedupe key like any other.
	if err := s.Acked(ctx, bad); err != nil {
		t.Fatalf("acked: %v", err)
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT acked_at FROM inbound_parts WHERE id = ?`, r.PartID).Scan(&acked); err != nil || !acked.Valid {
		t.Fatalf("acked_at %v: %v", acked, err)
	}
	if _, err := s.Receive(ctx, pdu.DecodeReceived("a", statusReportPDU(1, "+1555", clk.Now(), 0), "SM", 0)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("status report: %v, want ErrInvalid", err)
	}
	if _, err := s.Receive(ctx, pdu.Received{Modem: "a", PDU: readmePDU, Storage: "SM", Slot: 2}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a PDU never decoded: %v, want ErrInvalid", err)
	}
}

func TestInboxListDelete(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	var ids []int64
	for i := range 7 {
		from := "+1555000" + fmt.Sprint(i%2)
		r := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU(from, fmt.Sprint(i), clk.Now(), 0, 1, 1), "SM", i))
		ids = append(ids, r.Message.ID)
		clk.Advance(time.Minute)
	}
	var got []int64
	cursor := ""
	for {
		p, err := s.ListInbox(ctx, InboxFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) == 0 {
			if p.NextCursor != cursor {
				t.Fatalf("empty page moved the cursor")
			}
			break
		}
		for _, m := range p.Messages {
			got = append(got, m.ID)
		}
		cursor = p.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("walk %v, want %v (oldest first)", got, ids)
	}
	// A poller resuming from the last cursor sees only what is new.
	r := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+15550009", "new", clk.Now(), 0, 1, 1), "SM", 9))
	p, _ := s.ListInbox(ctx, InboxFilter{Cursor: cursor})
	if len(p.Messages) != 1 || p.Messages[0].ID != r.Message.ID {
		t.Fatalf("poll: %+v", p.Messages)
	}
	p, _ = s.ListInbox(ctx, InboxFilter{From: "+15550001"})
	if len(p.Messages) != 3 {
		t.Fatalf("from: %d, want 3", len(p.Messages))
	}
	p, _ = s.ListInbox(ctx, InboxFilter{Since: testStart.Add(5 * time.Minute)})
	if len(p.Messages) != 3 || p.Messages[0].ID != ids[5] {
		t.Fatalf("since: %d messages from %v", len(p.Messages), idsOfInbox(p.Messages))
	}
	p, err := s.ListInbox(ctx, InboxFilter{Since: clk.Now().Add(time.Hour), Cursor: cursor})
	if err != nil || len(p.Messages) != 0 || p.NextCursor != cursor {
		t.Fatalf("since the future: %+v %v", p, err)
	}
	if err := s.DeleteInbox(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetInbox(ctx, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteInbox(ctx, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// The raw part is kept: the same SMS read again from its slot is not
	// delivered a second time.
	again := mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+15550000", "0", testStart, 0, 1, 1), "SM", 0))
	if !again.Duplicate {
		t.Fatal("deleted message came back")
	}
}

func idsOfInbox(ms []*InboxMessage) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

package queue

import (
	"errors"
	"strings"
	"testing"
	"time"

	"bridged/pdu"
)

// sendAll claims one message on modem and confirms its parts with refs.
func sendAll(t *testing.T, s *Store, modem string, refs ...int) *Message {
	t.Helper()
	ms := MustClaim(t, s, ClaimRequest{Modem: modem})
	if len(ms) != 1 {
		t.Fatalf("claimed %d messages", len(ms))
	}
	for i, ref := range refs {
		if err := s.PartSent(ctx, *ms[0].Lease, i+1, ref); err != nil {
			t.Fatal(err)
		}
	}
	return ms[0]
}

// mustReport applies a status report from modem a for +447700900123, the
// recipient of these tests' messages.
func mustReport(t *testing.T, s *Store, ref, st int, outcome pdu.Outcome) Reported {
	t.Helper()
	r, err := s.Report(ctx, Report{Modem: "a", Ref: ref, Recipient: "+447700900123", Status: st, Outcome: outcome})
	if err != nil {
		t.Fatalf("report ref %d: %v", ref, err)
	}
	return r
}

func TestReportsDeliverEveryPart(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("z", 300), Report: true})[0].ID
	sendAll(t, s, "a", 40, 41)
	if r := mustReport(t, s, 41, 0x20, pdu.OutcomePending); r.MessageID != id || r.Seq != 2 || r.Status != StatusSent {
		t.Fatalf("pending: %+v", r)
	}
	if r := mustReport(t, s, 40, 0x00, pdu.OutcomeDelivered); r.Status != StatusSent {
		t.Fatalf("one of two parts delivered: %+v", r)
	}
	if r := mustReport(t, s, 41, 0x00, pdu.OutcomeDelivered); r.Seq != 2 || r.Status != StatusDelivered {
		t.Fatalf("both delivered: %+v", r)
	}
	m := MustGet(t, s, id)
	if m.Status != StatusDelivered || m.DeliveredAt == nil || m.SentParts[1].Outcome != pdu.OutcomeDelivered || *m.SentParts[1].ReportStatus != 0 {
		t.Fatalf("message %+v parts %+v", m, m.SentParts)
	}
	if got := statuses(m.Events); len(got) != 4 || got[3] != StatusDelivered {
		t.Fatalf("history %v", got)
	}
}

func TestReportFailedFailsMessage(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("z", 300), Report: true})[0].ID
	sendAll(t, s, "a", 1, 2)
	if _, err := s.Report(ctx, Report{Modem: "a", Ref: 1, Recipient: "447700900123", Status: 0, Outcome: pdu.OutcomeDelivered}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, Report{Modem: "a", Ref: 2, Recipient: "447700900123", Status: 0x41, Outcome: pdu.OutcomeFailed})
	if err != nil || r.Status != StatusFailed {
		t.Fatalf("failed report: %+v %v", r, err)
	}
	m := MustGet(t, s, id)
	if m.Status != StatusFailed || m.Error == nil || m.Error.Code != CodeDeliveryFailed || !strings.Contains(m.Error.Message, "0x41") {
		t.Fatalf("message %s %+v", m.Status, m.Error)
	}
}

func TestReportMatchingAndReferenceWraparound(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{ReportWindow: 24 * time.Hour})
	const to = "+447700900123"
	// 300 single-part messages through modem a: references 0..255, then 0..43 again.
	var ids []int64
	for i := range 300 {
		ids = append(ids, MustEnqueue(t, s, NewMessage{To: to, Text: "n", Report: true})[0].ID)
		sendAll(t, s, "a", i%256)
		clk.Advance(time.Second)
	}
	// Modem b reuses reference 5 for another message to the same number.
	onB := MustEnqueue(t, s, NewMessage{To: to, Text: "b", Report: true})[0].ID
	sendAll(t, s, "b", 5)

	r, err := s.Report(ctx, Report{Modem: "a", Ref: 5, Recipient: "07700900123", Outcome: pdu.OutcomeDelivered})
	if err != nil || r.MessageID != ids[256+5] {
		t.Fatalf("ref 5 on a matched %+v %v, want message %d (the newer use of the reference)", r, err, ids[256+5])
	}
	if MustGet(t, s, ids[5]).Status != StatusSent {
		t.Fatal("the older message with the same reference was touched")
	}
	r, err = s.Report(ctx, Report{Modem: "b", Ref: 5, Recipient: to, Outcome: pdu.OutcomeDelivered})
	if err != nil || r.MessageID != onB {
		t.Fatalf("ref 5 on b matched %+v %v, want %d", r, err, onB)
	}
	// Reference 100 was used once, 100 s in (the clock is now at 300 s);
	// another recipient does not match it.
	if r, err := s.Report(ctx, Report{Modem: "a", Ref: 100, Recipient: "+447700900999", Outcome: pdu.OutcomeDelivered}); err != nil || !r.Held {
		t.Fatalf("other recipient: %+v %v, want held", r, err)
	}
	// Past the window, reference 100's part no longer matches.
	clk.Advance(24*time.Hour - 199*time.Second)
	if r, err := s.Report(ctx, Report{Modem: "a", Ref: 100, Recipient: to, Outcome: pdu.OutcomeDelivered}); err != nil || !r.Held {
		t.Fatalf("outside the window: %+v %v, want held", r, err)
	}
	if _, err := s.Report(ctx, Report{Modem: "a", Ref: 200, Recipient: to, Outcome: pdu.OutcomeDelivered}); err != nil {
		t.Fatalf("just inside the window: %v", err)
	}
}

func TestReportFromPDU(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi", Report: true})[0].ID
	sendAll(t, s, "a", 77)
	m, err := pdu.Decode(statusReportPDU(77, "+447700900123", clk.Now(), 0x00))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReportFromPDU("a", m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx, r)
	if err != nil || got.MessageID != id || got.Status != StatusDelivered {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ReportFromPDU("a", &pdu.Message{Type: pdu.TypeDeliver}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("deliver as report: %v", err)
	}
}

func TestSameNumber(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"447700900123", "447700900123", true},
		{"447700900123", "07700900123", true},
		{"447700900123", "7700900123", true},
		{"447700900123", "447700900124", false},
		{"447700900123", "123", false},
		{"12345", "12345", true},
	}
	for _, tt := range tests {
		if got := sameNumber(digits(tt.a), digits(tt.b)); got != tt.want {
			t.Errorf("sameNumber(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestReportBeforePartSentIsHeld(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{ReportHold: 10 * time.Minute})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("z", 300), Report: true})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	// The network answers faster than the dispatcher records: both parts'
	// reports are in before PartSent.
	for _, ref := range []int{30, 31} {
		r, err := s.Report(ctx, Report{Modem: "a", Ref: ref, Recipient: "447700900123", Outcome: pdu.OutcomeDelivered})
		if err != nil || !r.Held {
			t.Fatalf("early report %d: %+v %v", ref, r, err)
		}
	}
	// Another modem's part with the same reference does not take them.
	other := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "other", Report: true})[0].ID
	o := MustClaim(t, s, ClaimRequest{Modem: "b"})[0]
	if err := s.PartSent(ctx, *o.Lease, 1, 30); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, other); got.Status != StatusSent {
		t.Fatalf("modem b's message: %s", got.Status)
	}
	if err := s.PartSent(ctx, *m.Lease, 1, 30); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, id); got.Status != StatusSending || got.SentParts[0].Outcome != pdu.OutcomeDelivered {
		t.Fatalf("after part 1: %s %+v", got.Status, got.SentParts)
	}
	if err := s.PartSent(ctx, *m.Lease, 2, 31); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, id); got.Status != StatusDelivered {
		t.Fatalf("after part 2: %s", got.Status)
	}
	// Held reports are used once, and not after ReportHold.
	late := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "late", Report: true})[0].ID
	if r, err := s.Report(ctx, Report{Modem: "a", Ref: 99, Recipient: "447700900123", Outcome: pdu.OutcomeFailed}); err != nil || !r.Held {
		t.Fatalf("%+v %v", r, err)
	}
	clk.Advance(11 * time.Minute)
	l := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *l.Lease, 1, 99); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, late); got.Status != StatusSent {
		t.Fatalf("a report held past ReportHold was applied: %s", got.Status)
	}
}

// TestReportFailedWhileSending: a failed report on part 2 of 4 arrives
// while parts 3 and 4 are still to be sent, and another on part 3 while the
// rest waits for a retry. The lease holds, every part is recorded, and the
// message fails with delivery_failed naming both parts only once the last
// part is recorded. Part details show each part's state.
func TestReportFailedWhileSending(t *testing.T) {
	s, _, _ := MustOpen(t, Options{BackoffBase: 1, BackoffMax: 1})
	text := strings.Repeat("w", 600) // 4 parts of 153 septets
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: text, Report: true})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if m.Parts != 4 {
		t.Fatalf("%d parts", m.Parts)
	}
	for seq, ref := range map[int]int{1: 10, 2: 11} {
		if err := s.PartSent(ctx, *m.Lease, seq, ref); err != nil {
			t.Fatal(err)
		}
	}
	mustReport(t, s, 10, 0x00, pdu.OutcomeDelivered)
	if r := mustReport(t, s, 11, 0x41, pdu.OutcomeFailed); r.Seq != 2 || r.Status != StatusSending {
		t.Fatalf("failed report while sending: %+v, want the message still sending", r)
	}
	// The worker keeps its claim: the next part is recorded.
	if err := s.PartSent(ctx, *m.Lease, 3, 12); err != nil {
		t.Fatalf("part 3 after a failed report: %v", err)
	}
	// The send of part 4 fails transiently; part 3's failure arrives while
	// the message waits for its retry.
	if err := s.Retry(ctx, *m.Lease, Error{Code: "cms_42", Message: "part 4: congestion"}); err != nil {
		t.Fatal(err)
	}
	if r := mustReport(t, s, 12, 0x45, pdu.OutcomeFailed); r.Status != StatusQueued {
		t.Fatalf("failed report while queued: %+v", r)
	}
	got := MustGet(t, s, id)
	wantParts := []PartDetail{
		{Seq: 1, Status: PartDelivered}, {Seq: 2, Status: PartFailed}, {Seq: 3, Status: PartFailed}, {Seq: 4, Status: PartPending},
	}
	checkParts(t, got.PartDetails(), wantParts)
	// The retry sends only part 4: failed parts are not sent again.
	m = MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if p := m.Pending(); len(p) != 1 || p[0] != 4 {
		t.Fatalf("pending on retry %v, want [4]", p)
	}
	if err := s.PartSent(ctx, *m.Lease, 4, 13); err != nil {
		t.Fatal(err)
	}
	got = MustGet(t, s, id)
	if got.Status != StatusFailed || got.Error == nil || got.Error.Code != CodeDeliveryFailed ||
		got.Error.Message != "part 2 of 4 not delivered: status 0x41; part 3 of 4 not delivered: status 0x45" {
		t.Fatalf("message %s %+v", got.Status, got.Error)
	}
	if got.SentAt == nil {
		t.Errorf("sent_at not set although every part went out")
	}
	if h := statuses(got.Events); h[len(h)-2] != StatusSent || h[len(h)-1] != StatusFailed {
		t.Errorf("history %v, want ... sent, failed", h)
	}
	wantParts[3].Status = PartSent
	checkParts(t, got.PartDetails(), wantParts)
	// A late report for the last part changes nothing.
	if r := mustReport(t, s, 13, 0x00, pdu.OutcomeDelivered); r.Status != StatusFailed {
		t.Errorf("late delivered report: %+v", r)
	}
}

// TestReportFailedAfterLastPartHeld: the failed report of the last part
// beats its PartSent (held); applied when the part is recorded, it fails
// the message just sent.
func TestReportFailedAfterLastPartHeld(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "one part", Report: true})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if r, err := s.Report(ctx, Report{Modem: "a", Ref: 7, Recipient: "+447700900123", Status: 0x41, Outcome: pdu.OutcomeFailed}); err != nil || !r.Held {
		t.Fatalf("report before the part: %+v %v", r, err)
	}
	if err := s.PartSent(ctx, *m.Lease, 1, 7); err != nil {
		t.Fatal(err)
	}
	got := MustGet(t, s, id)
	if got.Status != StatusFailed || got.Error == nil || got.Error.Message != "part 1 of 1 not delivered: status 0x41" {
		t.Fatalf("message %s %+v", got.Status, got.Error)
	}
}

func checkParts(t *testing.T, got, want []PartDetail) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d parts, want %d", len(got), len(want))
	}
	for i := range want {
		g := got[i]
		if g.Seq != want[i].Seq || g.Status != want[i].Status || (g.Ref == nil) != (g.Status == PartPending) ||
			(g.ReportedAt != nil) != (g.Status == PartDelivered || g.Status == PartFailed) {
			t.Errorf("part %d: %+v (ref %v, reported %v), want %s", i+1, g, g.Ref, g.ReportedAt, want[i].Status)
		}
	}
}

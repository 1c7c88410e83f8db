package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/pdu"
)

// loggedEvents reads the whole event log straight from the table, as
// another program would see it.
func loggedEvents(t *testing.T, s *Store) []LoggedEvent {
	t.Helper()
	rows, err := s.rdb.Query(`SELECT id, type, subject, body FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := collect(rows, func(r rowScanner) (LoggedEvent, error) {
		var e LoggedEvent
		var body string
		err := r.Scan(&e.ID, &e.Type, &e.Subject, &body)
		e.Body = []byte(body)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// eventBody is the contract's body, with data as the store's struct.
type eventBody[T any] struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Data      T      `json:"data"`
}

func decodeBody[T any](t *testing.T, e LoggedEvent) eventBody[T] {
	t.Helper()
	var b eventBody[T]
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatalf("event %d: %v: %s", e.ID, err, e.Body)
	}
	if b.ID != fmt.Sprint(e.ID) || b.Type != e.Type {
		t.Fatalf("event %d %s has body id %q type %q", e.ID, e.Type, b.ID, b.Type)
	}
	return b
}

// Each status change and its event are in one transaction: after every
// step the log holds exactly the changes made, and a write that fails
// leaves neither the change nor its event.
func TestEventsWrittenWithTheirChange(t *testing.T) {
	refuse := errors.New("view refused")
	var refuseSending bool
	s, clk, _ := MustOpen(t, Options{Views: Views{Message: func(m *Message) ([]byte, error) {
		if refuseSending && m.Status == StatusSending {
			return nil, refuse
		}
		return json.Marshal(m)
	}}})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})[0].ID
	statuses := func() []Status {
		var out []Status
		for _, e := range loggedEvents(t, s) {
			if e.Type == EventMessageStatus && e.Subject == fmt.Sprint(id) {
				out = append(out, decodeBody[Message](t, e).Data.Status)
			}
		}
		return out
	}
	if got := statuses(); !slices.Equal(got, []Status{StatusQueued}) {
		t.Fatalf("after enqueue: %v", got)
	}
	sameAsGet := func() {
		t.Helper()
		es := loggedEvents(t, s)
		last := decodeBody[Message](t, es[len(es)-1])
		got := MustGet(t, s, id)
		want, _ := json.Marshal(got)
		have, _ := json.Marshal(last.Data)
		if string(want) != string(have) || last.CreatedAt != got.UpdatedAt.Format(timeFormat) {
			t.Fatalf("event data\n%s\nGet\n%s (at %s)", have, want, last.CreatedAt)
		}
	}
	// Enqueue renders the message it holds rather than reading it back.
	sameAsGet()
	// The event cannot be written, so neither is the claim.
	refuseSending = true
	if _, err := s.Claim(ctx, ClaimRequest{Modem: "a", Lease: time.Minute}); !errors.Is(err, refuse) {
		t.Fatalf("claim with a failing event: %v", err)
	}
	if m := MustGet(t, s, id); m.Status != StatusQueued || len(m.Events) != 1 {
		t.Fatalf("the claim stayed without its event: %s, %d history entries", m.Status, len(m.Events))
	}
	if got := statuses(); !slices.Equal(got, []Status{StatusQueued}) {
		t.Fatalf("after the failed claim: %v", got)
	}
	refuseSending = false
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if got := statuses(); !slices.Equal(got, []Status{StatusQueued, StatusSending}) {
		t.Fatalf("after claim: %v", got)
	}
	// Claim renders the message it holds, its history read back.
	sameAsGet()
	if err := s.PartSent(ctx, *m.Lease, 1, 7); err != nil {
		t.Fatal(err)
	}
	// The data is the message as Get shows it right after the change.
	sameAsGet()
	// A refused change writes no event.
	if err := s.Cancel(ctx, id); !errors.Is(err, ErrNotCancellable) {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got := statuses(); !slices.Equal(got, []Status{StatusQueued, StatusSending, StatusSent}) {
		t.Fatalf("after sent and a refused cancel: %v", got)
	}
}

func TestEventsOfReceivedMessages(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900999", "first half ", clk.Now(), 9, 2, 1), "SM", 1))
	if es := loggedEvents(t, s); len(es) != 0 {
		t.Fatalf("a part alone is in the log: %s", es[0].Body)
	}
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900999", "second", clk.Now(), 9, 2, 2), "SM", 2))
	es := loggedEvents(t, s)
	if len(es) != 1 || es[0].Type != EventMessageReceived {
		t.Fatalf("events %+v", es)
	}
	b := decodeBody[InboxMessage](t, es[0])
	in, err := s.GetInbox(ctx, b.Data.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(in)
	have, _ := json.Marshal(b.Data)
	if string(want) != string(have) || es[0].Subject != fmt.Sprint(in.ID) {
		t.Fatalf("event data\n%s\nGetInbox\n%s", have, want)
	}
}

func TestModemStateLoggedOnChange(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	step := func(state string, want bool) {
		t.Helper()
		got, err := s.ModemState(ctx, "m1", state, []byte(fmt.Sprintf(`{"id":"m1","state":%q}`, state)))
		if err != nil || got != want {
			t.Fatalf("%s: logged %v %v, want %v", state, got, err, want)
		}
	}
	step("ready", true)
	step("ready", false)
	step("disconnected", true)
	step("ready", true)
	// The last state told outlives a restart and the events' retention.
	clk.Advance(48 * time.Hour)
	// The newest is kept: ids are counted from it.
	if p, err := s.Prune(ctx, clk.Now()); err != nil || p.Events != 2 {
		t.Fatalf("prune %+v %v", p, err)
	}
	s = MustReopen(t, s, path, Options{Now: clk.Now})
	step("ready", false)
	step("sim-error", true)
	// Ids go on after the pruned ones, never reused.
	es := loggedEvents(t, s)
	if len(es) != 2 || es[0].ID != 3 || es[1].ID != 4 || es[1].Subject != "m1" || s.LastEventID() != 4 {
		t.Fatalf("after prune and reopen: %+v, last %d", es, s.LastEventID())
	}
	b := decodeBody[struct{ State string }](t, es[1])
	if b.Data.State != "sim-error" || b.Type != EventModemState {
		t.Fatalf("body %s", es[1].Body)
	}
}

// A caller whose context ends after the writer ran its write but before
// the commit answered gets the context's error, and no answer read from
// the closure the writer filled in (the race detector failed the daemon on
// exactly that read).
func TestModemStateCancelledBeforeCommit(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	answered := make(chan error, 1)
	var logged bool
	// The writer runs ModemState's write and blocks before the commit.
	cancel, commit := heldBatch(t, s, func(ctx context.Context) {
		var err error
		logged, err = s.ModemState(ctx, "m1", "ready", []byte(`{}`))
		answered <- err
	})
	cancel()
	if err := <-answered; !errors.Is(err, context.Canceled) || logged {
		t.Fatalf("cancelled ModemState: logged %v, %v", logged, err)
	}
	commit()
	// The cancelled write committed all the same: the state is logged, and
	// asking again is the no-op that proves it.
	again, err := s.ModemState(ctx, "m1", "ready", []byte(`{}`))
	if err != nil || again {
		t.Fatalf("after the cancelled write: logged %v, %v", again, err)
	}
}

func TestEventsAfterAndSubscribe(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	woke, stop := s.SubscribeEvents()
	defer stop()
	if s.LastEventID() != 0 {
		t.Fatalf("last event id %d in an empty log", s.LastEventID())
	}
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "a"}, NewMessage{To: "+447700900124", Text: "b"})
	select {
	case <-woke:
	default:
		t.Fatal("no wake after a commit with events")
	}
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+447700900999", "in", clk.Now(), 0, 1, 1), "SM", 1))
	if _, err := s.ModemState(ctx, "m1", "ready", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if s.LastEventID() != 4 {
		t.Fatalf("last event id %d, want 4", s.LastEventID())
	}
	all, err := s.EventsAfter(ctx, 0, nil, 0)
	if err != nil || len(all) != 4 {
		t.Fatalf("all events: %d %v", len(all), err)
	}
	for i, e := range all {
		if e.ID != int64(i+1) || !e.CreatedAt.Equal(clk.Now()) {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	page, err := s.EventsAfter(ctx, 1, nil, 2)
	if err != nil || len(page) != 2 || page[0].ID != 2 || page[1].ID != 3 {
		t.Fatalf("page after 1: %+v %v", page, err)
	}
	typed, err := s.EventsAfter(ctx, 0, []string{EventModemState, EventMessageReceived}, 0)
	if err != nil || len(typed) != 2 || typed[0].Type != EventMessageReceived || typed[1].Type != EventModemState {
		t.Fatalf("typed: %+v %v", typed, err)
	}
	// A write without an event wakes nobody.
	<-woke
	if _, err := s.ModemState(ctx, "m1", "ready", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
		t.Fatal("woken by a commit without events")
	default:
	}
}

// Enqueue renders the message it inserted without reading it back: every
// field must be what Get reads.
func TestEnqueueEventSameAsGet(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	at := clk.Now().Add(90 * time.Minute).In(time.FixedZone("CST", 8*3600))
	for _, nm := range []NewMessage{
		{To: "+447700900123", Text: "plain"},
		{To: "+8613800138000", Text: "你好 😀", Priority: PriorityHigh, SendAt: at, ValidFor: 3 * time.Hour,
			Flash: true, Report: true, Modem: "m2"},
		{To: "+447700900123", Text: "past send_at", SendAt: clk.Now().Add(-time.Hour)},
	} {
		id := MustEnqueue(t, s, nm)[0].ID
		es := loggedEvents(t, s)
		have, _ := json.Marshal(decodeBody[Message](t, es[len(es)-1]).Data)
		want, _ := json.Marshal(MustGet(t, s, id))
		if string(have) != string(want) {
			t.Errorf("%q: event data\n%s\nGet\n%s", nm.Text, have, want)
		}
	}
}

// Claim renders the message it holds too: a second claim, of a message
// with a part already sent and an error from its first attempt, shows
// what Get reads.
func TestClaimEventSameAsGet(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("long ", 60), Modem: "a"})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 1, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, *m.Lease, Error{Code: "modem_error", Message: "+CMS ERROR: 500"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	MustClaim(t, s, ClaimRequest{Modem: "a"})
	es := loggedEvents(t, s)
	last := decodeBody[Message](t, es[len(es)-1])
	have, _ := json.Marshal(last.Data)
	want, _ := json.Marshal(MustGet(t, s, id))
	if last.Data.Status != StatusSending || len(last.Data.SentParts) != 1 || string(have) != string(want) {
		t.Fatalf("event data\n%s\nGet\n%s", have, want)
	}
}

// PartSent renders the message it holds too, when its last part makes it
// sent: here a message of two parts, the first sent by an attempt that
// failed and reported failed meanwhile, the second by a later attempt on
// another lease, so that the event shows an error cleared, a report and
// a part inserted after another. The failure that the report then causes
// is its own event, after the sent one.
func TestSentEventSameAsGet(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("long ", 60), Modem: "a", Report: true})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 2, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, Report{Modem: "a", Ref: 9, Recipient: "+447700900123", Status: 0x41, Outcome: pdu.OutcomeFailed}); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, *m.Lease, Error{Code: "modem_error", Message: "+CMS ERROR: 500"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	m = MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	clk.Advance(time.Second)
	if err := s.PartSent(ctx, *m.Lease, 1, 10); err != nil {
		t.Fatal(err)
	}
	es := loggedEvents(t, s)
	if len(es) < 2 {
		t.Fatalf("%d events", len(es))
	}
	sent := decodeBody[Message](t, es[len(es)-2]).Data
	failed := decodeBody[Message](t, es[len(es)-1]).Data
	got := MustGet(t, s, id)
	if failed.Status != StatusFailed || got.Status != StatusFailed {
		t.Fatalf("last event %s, message %s: want failed", failed.Status, got.Status)
	}
	// The sent event is Get's message as it was before the failure: the
	// failure changed the status, the error, updated_at and the history
	// only.
	want := *got
	want.Status, want.Error, want.Events = StatusSent, nil, got.Events[:len(got.Events)-1]
	have, _ := json.Marshal(sent)
	wantJSON, _ := json.Marshal(&want)
	if sent.Status != StatusSent || len(sent.SentParts) != 2 || string(have) != string(wantJSON) {
		t.Fatalf("sent event data\n%s\nGet before the failure\n%s", have, wantJSON)
	}
	haveFailed, _ := json.Marshal(failed)
	gotJSON, _ := json.Marshal(got)
	if string(haveFailed) != string(gotJSON) {
		t.Fatalf("failed event data\n%s\nGet\n%s", haveFailed, gotJSON)
	}
}

// Prune removes old events batch by batch, oldest ids first, and keeps
// the newest, from which the next id is counted.
func TestPruneEvents(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	MustExpire(t, s, clk, 700, "old") // 700 queued and 700 expired events
	clk.Advance(time.Hour)
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "new"})[0].ID
	if p, err := s.Prune(ctx, clk.Now().Add(-time.Minute)); err != nil || p.Events != 1400 {
		t.Fatalf("prune: %+v %v, want 1400 events", p, err)
	}
	es := loggedEvents(t, s)
	if len(es) != 1 || es[0].Subject != fmt.Sprint(id) || es[0].ID != 1401 {
		t.Fatalf("left: %+v", es)
	}
	clk.Advance(time.Hour)
	if p, err := s.Prune(ctx, clk.Now()); err != nil || p.Events != 0 || len(loggedEvents(t, s)) != 1 {
		t.Fatalf("the newest event was pruned: %+v %v", p, err)
	}
}

package queue

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bridged/internal/testutil"
)

var parkReq = ClaimRequest{Modem: "m0", Lease: time.Minute}

// mustPark parks reqs on s, failing the test if the store refuses.
func mustPark(t *testing.T, s *Store, still func() bool, reqs ...ClaimRequest) *Park {
	t.Helper()
	p, err := s.Park(still, reqs...)
	if err != nil {
		t.Fatalf("park: %v", err)
	}
	return p
}

// waitAnswered waits until the writer has answered p and returns what
// Unpark hands over.
func waitAnswered(t *testing.T, p *Park) ([]*Message, error) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(testutil.Timeout):
		t.Fatal("the parked claim was never answered")
	}
	return p.Unpark()
}

// TestParkClaimedInTheEnqueueCommit: a parked claim is run in the
// enqueue's own transaction: one commit queues the message and puts it
// under the park's lease, its queued event comes before its sending event,
// with the same time, and the status lines are logged in that order.
func TestParkClaimedInTheEnqueueCommit(t *testing.T) {
	var out testutil.Buffer
	s, _, _ := MustOpen(t, Options{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	p := mustPark(t, s, nil, parkReq)
	before := s.Stats().Commits
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "claimed as it is queued"})[0].ID
	ms, err := waitAnswered(t, p)
	if err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("unpark: %v %v, want message %d", ms, err, id)
	}
	if c := s.Stats().Commits - before; c != 1 {
		t.Errorf("%d commits for the enqueue and its claim, want 1", c)
	}
	l := *ms[0].Lease
	if l.Modem != "m0" || l.Attempt != 1 || ms[0].Status != StatusSending {
		t.Errorf("claimed %+v under %+v", ms[0], l)
	}
	m, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Events) != 2 || m.Events[0].Status != StatusQueued || m.Events[1].Status != StatusSending ||
		!m.Events[0].At.Equal(m.Events[1].At) {
		t.Errorf("history %+v, want queued and sending at one time", m.Events)
	}
	evs, err := s.EventsAfter(ctx, 0, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, e := range evs {
		var body struct{ Data struct{ Status string } }
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, body.Data.Status)
	}
	if strings.Join(statuses, " ") != "queued sending" {
		t.Errorf("events in id order show %v, want queued then sending", statuses)
	}
	log := out.String()
	if q, c := strings.Index(log, "status=queued"), strings.Index(log, "status=sending"); q < 0 || c < q {
		t.Errorf("status lines out of order:\n%s", log)
	}
	// The lease is the park's to use: the send is recorded under it.
	if err := s.PartSent(ctx, l, 1, 7); err != nil {
		t.Errorf("part sent under the parked claim's lease: %v", err)
	}
}

// TestParkTakenBack: a park taken back before any commit claims nothing,
// and a message queued afterwards stays queued for the normal path.
func TestParkTakenBack(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	if _, err := s.Park(nil, ClaimRequest{Modem: "m0"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a park without a lease: %v, want ErrInvalid", err)
	}
	p := mustPark(t, s, nil, parkReq)
	if ms, err := p.Unpark(); ms != nil || err != nil {
		t.Fatalf("unpark before any commit: %v %v", ms, err)
	}
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "nobody parked"})[0].ID
	if m, err := s.Get(ctx, id); err != nil || m.Status != StatusQueued {
		t.Fatalf("after the enqueue: %v %v, want queued", m, err)
	}
	if ms, err := p.Unpark(); ms != nil || err != nil {
		t.Errorf("second unpark: %v %v", ms, err)
	}
}

// TestParkWaitsForAQueuedMessage: a commit that makes nothing claimable
// does not run a parked claim; the next one that does, does.
func TestParkWaitsForAQueuedMessage(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	p := mustPark(t, s, nil, parkReq)
	if _, err := s.ModemState(ctx, "m0", "ready", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		t.Fatal("a commit that queued nothing ran the parked claim")
	default:
	}
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "later"})[0].ID
	if ms, err := waitAnswered(t, p); err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("unpark: %v %v, want message %d", ms, err, id)
	}
}

// TestParkNotInARelaxedCommit: a batch committed without an fsync (only
// relaxed writes) runs no parked claim, even one that made a message
// claimable: a claim's event must be durable.
func TestParkNotInARelaxedCommit(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "waiting"})[0].ID
	p := mustPark(t, s, nil, parkReq)
	if err := s.writeRelaxed(ctx, "probe", func(w *wtx) error { w.woke = true; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		t.Fatal("a relaxed commit ran the parked claim")
	default:
	}
	if err := s.write(ctx, func(w *wtx) error { w.woke = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if ms, err := waitAnswered(t, p); err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("unpark after a durable commit: %v %v, want message %d", ms, err, id)
	}
}

// TestParkFailingClaimKeepsTheEnqueue: a parked claim that fails is rolled
// back alone: the enqueue in the same transaction commits, and a park after
// it in the same commit still claims.
func TestParkFailingClaimKeepsTheEnqueue(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	// More prefixes than SQLite takes variables in one statement: the
	// claim's query fails.
	bad := parkReq
	for i := range 20000 {
		bad.Prefixes = append(bad.Prefixes, "+"+strings.Repeat("4", i%5+1))
	}
	failing := mustPark(t, s, nil, bad)
	good := parkReq
	good.Modem = "m1"
	other := mustPark(t, s, nil, good)
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "kept"})[0].ID
	if ms, err := waitAnswered(t, failing); err == nil || ms != nil {
		t.Errorf("failing park: %v %v, want an error", ms, err)
	}
	ms, err := waitAnswered(t, other)
	if err != nil || len(ms) != 1 || ms[0].ID != id || ms[0].ClaimedBy != "m1" {
		t.Fatalf("second park: %v %v, want message %d on m1", ms, err, id)
	}
	if m, err := s.Get(ctx, id); err != nil || m.Status != StatusSending || len(m.Events) != 2 {
		t.Errorf("message after the commit: %+v %v", m, err)
	}
}

// TestParkCommitFails: when the commit that ran a parked claim fails, the
// park gets nothing but the error, the message stays queued, and parking
// works again afterwards.
func TestParkCommitFails(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "left queued"})[0].ID
	p := mustPark(t, s, nil, parkReq)
	// A write that makes the message claimable again and leaves a foreign
	// key broken until COMMIT, which SQLite then refuses.
	err := s.write(ctx, func(w *wtx) error {
		if err := w.event(id, StatusQueued, "probe"); err != nil {
			return err
		}
		if _, err := w.Exec("PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		_, err := w.Exec(qInsertEvent, id+1000, string(StatusQueued), 0, "")
		return err
	})
	if err == nil {
		t.Fatal("the commit with a broken foreign key succeeded")
	}
	if ms, err := waitAnswered(t, p); err == nil || ms != nil {
		t.Errorf("park after the failed commit: %v %v, want an error", ms, err)
	}
	if m, err := s.Get(ctx, id); err != nil || m.Status != StatusQueued || m.Lease != nil {
		t.Fatalf("message after the failed commit: %+v %v", m, err)
	}
	again := mustPark(t, s, nil, parkReq)
	MustEnqueue(t, s, NewMessage{To: "+447700900124", Text: "after"})
	if ms, err := waitAnswered(t, again); err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Errorf("park after the failure: %v %v, want the older message %d", ms, err, id)
	}
}

// TestParkOneMessageEach: parks are answered in order with at most one
// message each; one message goes to one park, and what is left of a batch
// stays queued.
func TestParkOneMessageEach(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	var parks []*Park
	for _, m := range []string{"m0", "m1"} {
		r := parkReq
		r.Modem = m
		parks = append(parks, mustPark(t, s, nil, r))
	}
	one := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "one"})[0].ID
	ms0, err0 := waitAnswered(t, parks[0])
	ms1, err1 := waitAnswered(t, parks[1])
	if err0 != nil || err1 != nil || len(ms0) != 1 || ms0[0].ID != one || ms1 != nil {
		t.Fatalf("one message, two parks: %v %v / %v %v", ms0, err0, ms1, err1)
	}

	parks = parks[:0]
	for _, m := range []string{"m0", "m1"} {
		r := parkReq
		r.Modem = m
		parks = append(parks, mustPark(t, s, nil, r))
	}
	three := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "a"},
		NewMessage{To: "+447700900123", Text: "b"}, NewMessage{To: "+447700900123", Text: "c"})
	for i, p := range parks {
		ms, err := waitAnswered(t, p)
		if err != nil || len(ms) != 1 || ms[0].ID != three[i].ID {
			t.Errorf("park %d: %v %v, want message %d", i, ms, err, three[i].ID)
		}
	}
	if m, err := s.Get(ctx, three[2].ID); err != nil || m.Status != StatusQueued {
		t.Errorf("the third message: %+v %v, want queued", m, err)
	}
}

// TestParkRequestsInOrder: a park's requests are tried in order until
// one claims: the own routes first, then the rest, as a worker claims.
func TestParkRequestsInOrder(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	own := parkReq
	own.Prefixes = []string{"+44"}
	p := mustPark(t, s, nil, own, parkReq)
	msgs := MustEnqueue(t, s, NewMessage{To: "+33612345678", Text: "elsewhere"}, NewMessage{To: "+447700900123", Text: "own route"})
	if ms, err := waitAnswered(t, p); err != nil || len(ms) != 1 || ms[0].ID != msgs[1].ID {
		t.Fatalf("unpark: %v %v, want the own route's message %d", ms, err, msgs[1].ID)
	}
	p = mustPark(t, s, nil, own, parkReq)
	MustEnqueue(t, s, NewMessage{To: "+33612345679", Text: "wake"})
	if ms, err := waitAnswered(t, p); err != nil || len(ms) != 1 || ms[0].ID != msgs[0].ID {
		t.Fatalf("unpark: %v %v, want the other message %d", ms, err, msgs[0].ID)
	}
}

// TestParkStill: a park whose requests no longer hold when the writer
// would run them (still says false) claims nothing: the message stays
// queued for a claim made afresh.
func TestParkStill(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	var asked atomic.Int32
	p := mustPark(t, s, func() bool { asked.Add(1); return false }, parkReq)
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "peers changed"})[0].ID
	if ms, err := waitAnswered(t, p); ms != nil || err != nil || asked.Load() != 1 {
		t.Errorf("unpark: %v %v after %d questions, want nothing after 1", ms, err, asked.Load())
	}
	if m, err := s.Get(ctx, id); err != nil || m.Status != StatusQueued {
		t.Errorf("message %+v %v, want queued", m, err)
	}
}

// TestParkClose: Close answers the parks still waiting, with ErrClosed,
// and a Park after Close is refused.
func TestParkClose(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	p := mustPark(t, s, nil, parkReq)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ms, err := waitAnswered(t, p); ms != nil || !errors.Is(err, ErrClosed) {
		t.Errorf("unpark after close: %v %v, want ErrClosed", ms, err)
	}
	if _, err := s.Park(nil, parkReq); !errors.Is(err, ErrClosed) {
		t.Errorf("park after close: %v, want ErrClosed", err)
	}
}

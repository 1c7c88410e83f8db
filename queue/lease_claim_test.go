package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
)

// TestPartSentClaimIsOneCommit: the last part of one message and the claim
// of the next commit together, in event order, and the part sent is the
// same as PartSent would have recorded.
func TestPartSentClaimIsOneCommit(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	ms := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "first"}, NewMessage{To: "+447700900124", Text: "second"})
	req := ClaimRequest{Modem: "a", Lease: time.Minute}
	first := MustClaim(t, s, req)[0]
	commits := s.Stats().Commits
	n, err := s.PartSentClaim(ctx, *first.Lease, 1, 7, nil, req)
	next, looked := n.Message, n.Looked
	if err != nil || !looked || next == nil {
		t.Fatalf("PartSentClaim: %v, looked %v, next %v", err, looked, next)
	}
	if c := s.Stats().Commits - commits; c != 1 {
		t.Errorf("%d commits, want 1", c)
	}
	if next.ID != ms[1].ID || next.Status != StatusSending || next.Lease == nil || next.Lease.Modem != "a" {
		t.Errorf("claimed %+v", next)
	}
	got := MustGet(t, s, first.ID)
	if got.Status != StatusSent || len(got.SentParts) != 1 || got.SentParts[0].Ref != 7 {
		t.Errorf("first: %s, parts %+v", got.Status, got.SentParts)
	}
	if g := MustGet(t, s, ms[1].ID); g.Status != StatusSending || g.Attempts != 1 {
		t.Errorf("second: %s after %d attempts", g.Status, g.Attempts)
	}
	// The log reads sent before the next one's sending, as they happened.
	var order []string
	for _, e := range loggedEvents(t, s) {
		if st := decodeBody[Message](t, e).Data.Status; st == StatusSent || (st == StatusSending && e.Subject == fmt.Sprint(ms[1].ID)) {
			order = append(order, e.Subject+" "+string(st))
		}
	}
	if want := []string{fmt.Sprint(first.ID) + " sent", fmt.Sprint(ms[1].ID) + " sending"}; !slices.Equal(order, want) {
		t.Errorf("events %v, want %v", order, want)
	}
	// With nothing left to claim it still records the part and says it looked.
	n, err = s.PartSentClaim(ctx, *next.Lease, 1, 8, nil, req)
	next, looked = n.Message, n.Looked
	if err != nil || !looked || next != nil {
		t.Fatalf("with nothing to claim: %v, looked %v, next %v", err, looked, next)
	}
	if g := MustGet(t, s, ms[1].ID); g.Status != StatusSent {
		t.Errorf("second: %s", g.Status)
	}
}

// TestPartSentClaimTriesRequestsInOrder: a modem with routes asks for its
// own recipients first.
func TestPartSentClaimTriesRequestsInOrder(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	ms := MustEnqueue(t, s,
		NewMessage{To: "+447700900123", Text: "the one claimed first"},
		NewMessage{To: "+8613800138000", Text: "older than the next, not routed here"},
		NewMessage{To: "+447700900125", Text: "routed here"})
	any := ClaimRequest{Modem: "a", Lease: time.Minute, Routes: []string{"+44"}}
	own := any
	own.Prefixes = any.Routes
	first := MustClaim(t, s, own)[0]
	n, err := s.PartSentClaim(ctx, *first.Lease, 1, 1, nil, own, any)
	next := n.Message
	if err != nil || next == nil || next.ID != ms[2].ID {
		t.Fatalf("claimed %v (%v), want message %d", next, err, ms[2].ID)
	}
	n, err = s.PartSentClaim(ctx, *next.Lease, 1, 2, nil, own, any)
	next = n.Message
	if err != nil || next == nil || next.ID != ms[1].ID {
		t.Fatalf("then claimed %v (%v), want message %d", next, err, ms[1].ID)
	}
}

// TestPartSentClaimKeepsThePartWhenTheClaimFails: a claim that cannot be
// written (here its event) is rolled back alone; the part stays recorded,
// the next message stays queued, and its status change is not logged.
func TestPartSentClaimKeepsThePartWhenTheClaimFails(t *testing.T) {
	refuse := errors.New("view refused")
	var refuseSending bool
	var out testutil.Buffer
	s, _, _ := MustOpen(t, Options{Logger: slog.New(slog.NewTextHandler(&out, nil)), Views: Views{Message: func(m *Message) ([]byte, error) {
		if refuseSending && m.Status == StatusSending {
			return nil, refuse
		}
		return json.Marshal(m)
	}}})
	ms := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "first"}, NewMessage{To: "+447700900124", Text: "second"})
	req := ClaimRequest{Modem: "a", Lease: time.Minute}
	first := MustClaim(t, s, req)[0]
	refuseSending = true
	n, err := s.PartSentClaim(ctx, *first.Lease, 1, 7, nil, req)
	next, looked := n.Message, n.Looked
	if err != nil || looked || next != nil {
		t.Fatalf("PartSentClaim with a failing claim: %v, looked %v, next %v", err, looked, next)
	}
	if g := MustGet(t, s, first.ID); g.Status != StatusSent || len(g.SentParts) != 1 {
		t.Errorf("first: %s, parts %+v", g.Status, g.SentParts)
	}
	if g := MustGet(t, s, ms[1].ID); g.Status != StatusQueued || g.Attempts != 0 || len(g.Events) != 1 {
		t.Errorf("second: %s after %d attempts, %d history entries", g.Status, g.Attempts, len(g.Events))
	}
	for _, e := range loggedEvents(t, s) {
		if e.Subject == fmt.Sprint(ms[1].ID) && decodeBody[Message](t, e).Data.Status != StatusQueued {
			t.Errorf("event of the rolled-back claim: %s", e.Body)
		}
	}
	if log := out.String(); !strings.Contains(log, "status=sent") || strings.Contains(log, fmt.Sprintf("message=%d status=sending", ms[1].ID)) {
		t.Errorf("status log: the sent part missing, or the rolled-back claim logged:\n%s", log)
	}
	// The claim works again once its event can be written.
	refuseSending = false
	if got := MustClaim(t, s, req); len(got) != 1 || got[0].ID != ms[1].ID {
		t.Errorf("claim afterwards: %+v", got)
	}
}

// TestPartSentClaimParksWhenNothingIsDue: with nothing to claim, the write
// that records the part parks the claim, so that a message queued right
// after is claimed in its enqueue's commit; with a message to claim it
// parks nothing.
func TestPartSentClaimParksWhenNothingIsDue(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	req := ClaimRequest{Modem: "a", Lease: time.Minute}
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "first"}, NewMessage{To: "+447700900124", Text: "second"})
	first := MustClaim(t, s, req)[0]
	always := func() bool { return true }
	n, err := s.PartSentClaim(ctx, *first.Lease, 1, 1, always, req)
	if err != nil || n.Message == nil || n.Park != nil {
		t.Fatalf("with a message due: %+v, %v; want it claimed and no park", n, err)
	}
	n, err = s.PartSentClaim(ctx, *n.Message.Lease, 1, 2, always, req)
	if err != nil || n.Message != nil || !n.Looked || n.Park == nil {
		t.Fatalf("with nothing due: %+v, %v; want a park", n, err)
	}
	commits := s.Stats().Commits
	id := MustEnqueue(t, s, NewMessage{To: "+447700900125", Text: "third"})[0].ID
	ms, err := waitAnswered(t, n.Park)
	if err != nil || len(ms) != 1 || ms[0].ID != id || ms[0].Lease == nil || ms[0].Lease.Modem != "a" {
		t.Fatalf("the park's claim: %+v, %v; want message %d", ms, err, id)
	}
	if c := s.Stats().Commits - commits; c != 1 {
		t.Errorf("%d commits for the enqueue and its claim, want 1", c)
	}
}

// TestClaimTriesRequestsInOneWrite: Claim with a modem's own routes first,
// then the rest, finds the routed message first and commits once.
func TestClaimTriesRequestsInOneWrite(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	ms := MustEnqueue(t, s,
		NewMessage{To: "+8613800138000", Text: "older, not routed here"},
		NewMessage{To: "+447700900125", Text: "routed here"})
	any := ClaimRequest{Modem: "a", Lease: time.Minute, Routes: []string{"+44"}}
	own := any
	own.Prefixes = any.Routes
	commits := s.Stats().Commits
	got, err := s.Claim(ctx, own, any)
	if err != nil || len(got) != 1 || got[0].ID != ms[1].ID {
		t.Fatalf("claimed %v (%v), want message %d", got, err, ms[1].ID)
	}
	if c := s.Stats().Commits - commits; c != 1 {
		t.Errorf("%d commits, want 1", c)
	}
	if got, err = s.Claim(ctx, own, any); err != nil || len(got) != 1 || got[0].ID != ms[0].ID {
		t.Fatalf("then claimed %v (%v), want message %d", got, err, ms[0].ID)
	}
	if _, err := s.Claim(ctx); !errors.Is(err, ErrInvalid) {
		t.Errorf("a claim of nothing: %v, want ErrInvalid", err)
	}
}

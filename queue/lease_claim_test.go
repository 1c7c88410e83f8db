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
	next, looked, err := s.PartSentClaim(ctx, *first.Lease, 1, 7, req)
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
	next, looked, err = s.PartSentClaim(ctx, *next.Lease, 1, 8, req)
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
	next, _, err := s.PartSentClaim(ctx, *first.Lease, 1, 1, own, any)
	if err != nil || next == nil || next.ID != ms[2].ID {
		t.Fatalf("claimed %v (%v), want message %d", next, err, ms[2].ID)
	}
	next, _, err = s.PartSentClaim(ctx, *next.Lease, 1, 2, own, any)
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
	next, looked, err := s.PartSentClaim(ctx, *first.Lease, 1, 7, req)
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

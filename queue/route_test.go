package queue

import (
	"slices"
	"strings"
	"testing"
)

// TestClaimExcludePrefixes: a modem without routes leaves the recipients
// routed to other modems alone, and takes the rest.
func TestClaimExcludePrefixes(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	MustEnqueue(t, s,
		NewMessage{To: "+8613800138000", Text: "cn"},
		NewMessage{To: "+447700900123", Text: "uk"},
		NewMessage{To: "+85291234567", Text: "hk"},
		NewMessage{To: "+15551234567", Text: "us"},
	)
	got := MustClaim(t, s, ClaimRequest{Modem: "any", Limit: 10, ExcludePrefixes: []string{"+86", "+852"}})
	var to []string
	for _, m := range got {
		to = append(to, m.To)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"+15551234567", "+447700900123"}) {
		t.Errorf("claimed %v, want the UK and US numbers", to)
	}
	got = MustClaim(t, s, ClaimRequest{Modem: "china", Limit: 10, Prefixes: []string{"+86", "+852"}, ExcludePrefixes: []string{"+852"}})
	if len(got) != 1 || got[0].To != "+8613800138000" {
		t.Errorf("claimed %v, want only the +86 number", got)
	}
}

// TestClaimSkipOwnRetries: a message that failed on modem a is left for
// another modem when a asks to skip its own retries.
func TestClaimSkipOwnRetries(t *testing.T) {
	s, _, _ := MustOpen(t, Options{BackoffBase: 1, BackoffMax: 1})
	MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "x"})
	got := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 1})
	if len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	if err := s.Retry(t.Context(), *got[0].Lease, Error{Code: "cms_42", Message: "congestion"}); err != nil {
		t.Fatal(err)
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 1, SkipOwnRetries: true}); len(got) != 0 {
		t.Fatalf("modem a claimed its own retry: %+v", got)
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "b", Limit: 1, SkipOwnRetries: true}); len(got) != 1 {
		t.Fatalf("modem b claimed %d, want the retry", len(got))
	}
}

// TestSentClearsError: a message that failed once and then went through
// carries no error; the failure stays in its events.
func TestSentClearsError(t *testing.T) {
	s, _, _ := MustOpen(t, Options{BackoffBase: 1, BackoffMax: 1})
	MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "x"})
	m := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 1})[0]
	if err := s.Retry(t.Context(), *m.Lease, Error{Code: "cms_42", Message: "congestion"}); err != nil {
		t.Fatal(err)
	}
	m = MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 1})[0]
	if err := s.PartSent(t.Context(), *m.Lease, 1, 7); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), m.ID)
	if err != nil || got.Status != StatusSent || got.Error != nil {
		t.Fatalf("after sending: status %s error %+v (%v)", got.Status, got.Error, err)
	}
	found := false
	for _, e := range got.Events {
		found = found || strings.Contains(e.Detail, "congestion")
	}
	if !found {
		t.Errorf("the retry is gone from the events: %+v", got.Events)
	}
}

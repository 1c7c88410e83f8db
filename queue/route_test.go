package queue

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClaimLeavesPeersRoutes: a modem without routes leaves the recipients
// routed to ready peers alone and takes the rest; a modem with routes takes
// its own even when a peer shares one of them.
func TestClaimLeavesPeersRoutes(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	MustEnqueue(t, s,
		NewMessage{To: "+8613800138000", Text: "cn"},
		NewMessage{To: "+447700900123", Text: "uk"},
		NewMessage{To: "+85291234567", Text: "hk"},
		NewMessage{To: "+15551234567", Text: "us"},
		NewMessage{To: "+8613800138001", Text: "cn, only any", Modem: "any"},
	)
	peers := []Peer{{Modem: "china", Routes: []string{"+86", "+852"}}}
	got := MustClaim(t, s, ClaimRequest{Modem: "any", Limit: 10, Peers: peers})
	var to []string
	for _, m := range got {
		to = append(to, m.To)
	}
	slices.Sort(to)
	// The message restricted to "any" is its, routes or not.
	if !slices.Equal(to, []string{"+15551234567", "+447700900123", "+8613800138001"}) {
		t.Errorf("claimed %v, want the UK and US numbers and the one restricted to it", to)
	}
	got = MustClaim(t, s, ClaimRequest{Modem: "china", Limit: 10, Routes: []string{"+86"}, Prefixes: []string{"+86"},
		Peers: []Peer{{Modem: "hk", Routes: []string{"+852", "+86"}}}})
	if len(got) != 1 || got[0].To != "+8613800138000" {
		t.Errorf("claimed %v, want only the +86 number", got)
	}
}

// TestClaimSkipOwnRetries: a message that failed on modem a is left for a
// peer allowed to send it, and retried by a when there is none.
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
	if got := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 1, Peers: []Peer{{Modem: "b"}}}); len(got) != 0 {
		t.Fatalf("modem a claimed its own retry: %+v", got)
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "b", Limit: 1, Peers: []Peer{{Modem: "a"}}}); len(got) != 1 {
		t.Fatalf("modem b claimed %d, want the retry", len(got))
	}
}

// TestClaimFailover: who may take a message to +44, routed to modem uk,
// after its last attempt failed on uk (a transient +CMS ERROR). "Allowed
// to send it" is: a route that matches, no routes at all, or no ready
// modem with a matching route.
func TestClaimFailover(t *testing.T) {
	uk := []string{"+44"}
	tests := []struct {
		name string
		req  ClaimRequest
		want bool
	}{
		{"a modem without routes takes it", ClaimRequest{Modem: "any", Peers: []Peer{{Modem: "uk", Routes: uk}}}, true},
		{"a modem routed elsewhere does not",
			ClaimRequest{Modem: "cn", Routes: []string{"+86"}, Peers: []Peer{{Modem: "uk", Routes: uk}}}, false},
		{"another +44 modem takes it (own routes first)",
			ClaimRequest{Modem: "uk2", Routes: uk, Prefixes: uk, Peers: []Peer{{Modem: "uk", Routes: uk}}}, true},
		{"uk leaves it to a modem without routes",
			ClaimRequest{Modem: "uk", Routes: uk, Prefixes: uk, Peers: []Peer{{Modem: "any"}}}, false},
		{"uk leaves it to another +44 modem",
			ClaimRequest{Modem: "uk", Routes: uk, Prefixes: uk, Peers: []Peer{{Modem: "uk2", Routes: []string{"+447"}}}}, false},
		{"uk retries it when only a modem routed elsewhere is ready",
			ClaimRequest{Modem: "uk", Routes: uk, Prefixes: uk, Peers: []Peer{{Modem: "cn", Routes: []string{"+86"}}}}, true},
		{"uk retries it alone", ClaimRequest{Modem: "uk", Routes: uk, Prefixes: uk}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := MustOpen(t, Options{BackoffBase: 1, BackoffMax: 1})
			MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "x"})
			got := MustClaim(t, s, ClaimRequest{Modem: "uk", Routes: uk, Prefixes: uk})
			if len(got) != 1 {
				t.Fatalf("uk claimed %d", len(got))
			}
			if err := s.Retry(t.Context(), *got[0].Lease, Error{Code: "cms_500", Message: "unknown error"}); err != nil {
				t.Fatal(err)
			}
			tt.req.Lease = time.Minute
			got = MustClaim(t, s, tt.req)
			if (len(got) == 1) != tt.want {
				t.Errorf("claimed %d, want %v", len(got), tt.want)
			}
		})
	}
}

// TestClaimUnroutedRetryGoesToAnyPeer: a message to a number no route
// matches, failed on a, goes to a peer even if that peer has routes of its
// own, and is retried by a when no peer is ready.
func TestClaimUnroutedRetryGoesToAnyPeer(t *testing.T) {
	failedOnA := func() *Store {
		s, _, _ := MustOpen(t, Options{BackoffBase: 1, BackoffMax: 1})
		MustEnqueue(t, s, NewMessage{To: "+15551234567", Text: "x"})
		got := MustClaim(t, s, ClaimRequest{Modem: "a", Routes: []string{"+44"}})
		if len(got) != 1 {
			t.Fatalf("a claimed %d", len(got))
		}
		if err := s.Retry(t.Context(), *got[0].Lease, Error{Code: "cms_42", Message: "congestion"}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := failedOnA()
	if got := MustClaim(t, s, ClaimRequest{Modem: "a", Routes: []string{"+44"}, Peers: []Peer{{Modem: "b", Routes: []string{"+86"}}}}); len(got) != 0 {
		t.Fatalf("a claimed its own retry while b could take it")
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "b", Routes: []string{"+86"}, Peers: []Peer{{Modem: "a", Routes: []string{"+44"}}}}); len(got) != 1 {
		t.Fatalf("b, routed to +86, claimed %d, want a's unrouted retry", len(got))
	}
	s = failedOnA()
	if got := MustClaim(t, s, ClaimRequest{Modem: "a", Routes: []string{"+44"}}); len(got) != 1 {
		t.Fatalf("a alone claimed %d, want its retry", len(got))
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

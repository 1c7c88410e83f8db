package queue

import (
	"testing"
	"time"

	"bridged/pdu"
)

func TestSubscribeWakesOnClaimableWork(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	wake, stop := s.Subscribe()
	defer stop()
	woken := func() bool {
		select {
		case <-wake:
			return true
		default:
			return false
		}
	}
	id := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "x"})[0].ID
	// The value is sent before Enqueue returns, after the commit.
	if !woken() {
		t.Fatal("no wake-up after an enqueue")
	}
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if woken() {
		t.Fatal("woken by a claim, which makes nothing claimable")
	}
	if err := s.Retry(ctx, *m.Lease, Error{Message: "busy"}); err != nil {
		t.Fatal(err)
	}
	if !woken() {
		t.Fatal("no wake-up after a retry")
	}
	if err := s.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if woken() {
		t.Fatal("woken by a cancel")
	}
	// Many commits, one waiting value.
	for range 3 {
		MustEnqueue(t, s, NewMessage{To: "+1555", Text: "y"})
	}
	if !woken() || woken() {
		t.Fatal("values are not coalesced")
	}
	stop()
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "z"})
	if woken() {
		t.Fatal("woken after unsubscribing")
	}
}

func TestNextDue(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	if _, ok, err := s.NextDue(ctx, ClaimRequest{Modem: "a"}); ok || err != nil {
		t.Fatalf("empty queue: %v %v", ok, err)
	}
	now := clk.Now()
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "due now"})
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "only b", Modem: "b", SendAt: now.Add(time.Minute)})
	MustEnqueue(t, s, NewMessage{To: "+86138", Text: "china", SendAt: now.Add(2 * time.Minute)})
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "later", SendAt: now.Add(time.Hour)})
	tests := []struct {
		name string
		req  ClaimRequest
		want time.Duration // from now; 0: none
	}{
		{"a skips what is due now and what is b's", ClaimRequest{Modem: "a"}, 2 * time.Minute},
		{"b", ClaimRequest{Modem: "b"}, time.Minute},
		{"a routed to +1", ClaimRequest{Modem: "a", Prefixes: []string{"+1"}}, time.Hour},
		{"a routed to +44", ClaimRequest{Modem: "a", Prefixes: []string{"+44"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.NextDue(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if ok {
					t.Fatalf("due %v, want none", got)
				}
				return
			}
			if !ok || !got.Equal(now.Add(tt.want)) {
				t.Fatalf("due %v %v, want %v", got, ok, now.Add(tt.want))
			}
		})
	}
}

func TestNextDeadline(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{ReassemblyTimeout: time.Hour})
	deadline := func() (time.Duration, bool) {
		t.Helper()
		at, ok, err := s.NextDeadline(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return at.Sub(clk.Now()), ok
	}
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "no validity"})
	if d, ok := deadline(); ok {
		t.Fatalf("a message without validity: deadline in %v", d)
	}
	MustEnqueue(t, s, NewMessage{To: "+1555", Text: "valid 3h", ValidFor: 3 * time.Hour})
	if d, ok := deadline(); !ok || d != 3*time.Hour {
		t.Fatalf("validity: %v %v, want 3h", d, ok)
	}
	// The message without validity is claimed (lease 10m): its lease is
	// now the earliest, and counts as run out just after its end.
	MustClaim(t, s, ClaimRequest{Modem: "a", Lease: 10 * time.Minute})
	if d, ok := deadline(); !ok || d != 10*time.Minute+time.Nanosecond {
		t.Fatalf("lease: %v %v, want 10m1ns", d, ok)
	}
	// An incomplete multipart message is released an hour after its first part.
	mustReceive(t, s, pdu.DecodeReceived("a", deliverPDU("+8613800138000", "part", clk.Now(), 7, 2, 1), "SM", 1))
	clk.Advance(time.Minute)
	// Lease ends in 9m, release in 59m, validity in 2h59m.
	if d, ok := deadline(); !ok || d != 9*time.Minute+time.Nanosecond {
		t.Fatalf("after a minute: %v %v, want 9m1ns", d, ok)
	}
	clk.Advance(9*time.Minute + time.Nanosecond)
	// Expire recovers the lease itself now, without a claim.
	if _, err := s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := deadline(); !ok || d != 50*time.Minute-time.Nanosecond {
		t.Fatalf("after the lease: %v %v, want the release in 50m", d, ok)
	}
	clk.Advance(time.Hour)
	if ms, err := s.ReleaseIncomplete(ctx); err != nil || len(ms) != 1 {
		t.Fatalf("release: %d %v", len(ms), err)
	}
	if d, ok := deadline(); !ok || d != 3*time.Hour-(70*time.Minute+time.Nanosecond) {
		t.Fatalf("after the release: %v %v, want the validity", d, ok)
	}
	clk.Advance(2 * time.Hour)
	if n, err := s.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if d, ok := deadline(); ok {
		t.Fatalf("nothing left waiting on time, deadline in %v", d)
	}
	s.Close()
	if _, _, err := s.NextDeadline(ctx); err == nil {
		t.Fatal("next deadline of a closed store")
	}
}

package queue

import (
	"context"
	"testing"
	"time"
)

func TestNextDue(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	ctx := context.Background()
	if _, ok, err := s.NextDue(ctx, "m0"); err != nil || ok {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	later := clk.Now().Add(time.Hour)
	MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "later", SendAt: later})
	MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "not mine", SendAt: clk.Now().Add(time.Minute), Modem: "m1"})
	got, ok, err := s.NextDue(ctx, "m0")
	if err != nil || !ok || !got.Equal(later) {
		t.Errorf("m0: %v %v %v, want %v", got, ok, err, later)
	}
	if got, _, _ := s.NextDue(ctx, "m1"); !got.Equal(clk.Now().Add(time.Minute)) {
		t.Errorf("m1: %v, want the message restricted to it", got)
	}
	// A claim's lease end counts: an expired claim comes back then.
	MustEnqueue(t, s, NewMessage{To: "+447400123456", Text: "now"})
	ms := MustClaim(t, s, ClaimRequest{Modem: "m0", Lease: 10 * time.Minute})
	if len(ms) != 1 {
		t.Fatalf("claimed %d", len(ms))
	}
	if got, _, _ := s.NextDue(ctx, "m0"); !got.Equal(ms[0].Lease.Until) {
		t.Errorf("with a claim: %v, want its lease end %v", got, ms[0].Lease.Until)
	}
}

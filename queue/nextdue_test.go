package queue

import (
	"testing"
	"time"
)

// TestNextDueAfterTheClaim: a message that fell due between a worker's
// empty claim and its look at NextDue is still reported (due since the
// claim), so that the worker claims it instead of sleeping past it.
func TestNextDueAfterTheClaim(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	due := clk.Now().Add(time.Second)
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "x", SendAt: due})
	claimed := clk.Now()
	if got := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(got) != 0 {
		t.Fatalf("claimed %d before it was due", len(got))
	}
	clk.Advance(2 * time.Second) // the claim and the look at NextDue are apart
	if _, ok, err := s.NextDue(ctx, ClaimRequest{Modem: "a"}); err != nil || ok {
		t.Fatalf("without After: ok %v, %v; want nothing due strictly after now", ok, err)
	}
	got, ok, err := s.NextDue(ctx, ClaimRequest{Modem: "a", After: claimed})
	if err != nil || !ok || !got.Equal(due) {
		t.Fatalf("with After: %v %v %v, want %v", got, ok, err, due)
	}
}

package queue

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestInterruptedNow: a send cut off by a disconnect is ended at once by
// the interrupted-send policy, as a lease that ran out would be: retried
// now (kept on the modem that sent part 1, not after a backoff) or failed
// as may_have_been_sent. A lease no longer current is refused.
func TestInterruptedNow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy InterruptedPolicy
		parts  int // confirmed before the cut
		want   Status
		modem  string
	}{
		{"retry, nothing confirmed: any modem", RetryInterrupted, 0, StatusQueued, ""},
		{"retry, part 1 confirmed: kept on a", RetryInterrupted, 1, StatusQueued, "a"},
		{"fail", FailInterrupted, 1, StatusFailed, "a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, clk, _ := MustOpen(t, Options{Interrupted: tt.policy})
			id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("y", 200)})[0].ID
			m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
			for seq := 1; seq <= tt.parts; seq++ {
				if err := s.PartSent(ctx, *m.Lease, seq, seq); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Interrupted(ctx, *m.Lease, "modem a disconnected during the send"); err != nil {
				t.Fatal(err)
			}
			got := MustGet(t, s, id)
			inFlight := fmt.Sprintf("modem a disconnected during the send: part %d of 2 may have been sent", tt.parts+1)
			last := got.Events[len(got.Events)-1]
			if got.Status != tt.want || !strings.Contains(last.Detail, inFlight) {
				t.Fatalf("%s, last event %+v", got.Status, last)
			}
			if tt.want == StatusQueued {
				if got.Modem != tt.modem || got.NextAttemptAt.After(clk.Now()) || got.Attempts != 1 {
					t.Errorf("modem %q, due %v (now %v), %d attempts", got.Modem, got.NextAttemptAt, clk.Now(), got.Attempts)
				}
			} else if got.Error == nil || got.Error.Code != CodeMayHaveBeenSent {
				t.Errorf("error %+v", got.Error)
			}
			if err := s.Interrupted(ctx, *m.Lease, "again"); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("second call: %v, want ErrLeaseLost", err)
			}
		})
	}
}

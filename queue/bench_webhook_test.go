package queue

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkWebhookRound is the webhook sender's store work per delivery
// at a given round size: each round records that many deliveries
// delivered and claims as many, whose next events (of the same messages)
// they unblock, as a sender with that many requests in flight does.
func BenchmarkWebhookRound(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("inFlight=%d", n), func(b *testing.B) {
			s, _, _ := MustOpen(b, Options{Now: time.Now, WebhookEndpoints: []WebhookEndpoint{{Name: "e"}}})
			ctx := context.Background()
			// Each message's queued, sending and sent events: three
			// deliveries a message, one after the other.
			for range (b.N + 2) / 3 {
				if _, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
					b.Fatal(err)
				}
				ms, err := s.Claim(ctx, ClaimRequest{Modem: "m0", Lease: time.Minute})
				if err != nil || len(ms) != 1 {
					b.Fatalf("claim: %d %v", len(ms), err)
				}
				if err := s.PartSent(ctx, *ms[0].Lease, 1, 1); err != nil {
					b.Fatal(err)
				}
			}
			before := s.Stats()
			cpu := cpuTime()
			b.ResetTimer()
			var out []WebhookOutcome
			for done := 0; done < b.N; {
				r, err := s.SettleWebhooks(ctx, "e", out, n, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				done += len(out)
				out = out[:0]
				for _, d := range r.Claimed {
					out = append(out, WebhookOutcome{ID: d.ID})
				}
				if len(out) == 0 {
					break
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/delivery")
			after := s.Stats()
			b.ReportMetric(float64(after.Statements-before.Statements)/float64(b.N), "statements/delivery")
		})
	}
}

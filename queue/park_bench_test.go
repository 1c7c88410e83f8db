package queue

import (
	"context"
	"testing"
	"time"
)

// BenchmarkEnqueueToClaim measures what an idle modem's worker waits for
// between an enqueue's answer (the API's 202) and a message in hand to
// send, one message at a time, as bench/load's latency scenario posts
// them: "wake" is the path before parked claims (Subscribe, then Claim:
// a commit of its own), "park" a parked claim run in the enqueue's commit.
// The worker loops as dispatch's sendLoop does. ns/op is a whole round
// (enqueue, claim, the claim after it that finds nothing); µs-202-to-claim
// the part after Enqueue returned.
func BenchmarkEnqueueToClaim(b *testing.B) {
	for _, mode := range []string{"wake", "park"} {
		b.Run("mode="+mode, func(b *testing.B) {
			s, _, _ := MustOpen(b, Options{Now: time.Now})
			benchEnqueueToClaim(b, s, mode == "park")
		})
	}
}

func benchEnqueueToClaim(b *testing.B, s *Store, park bool) {
	ctx := context.Background()
	req := ClaimRequest{Modem: "m0", Lease: time.Minute}
	wake, unsubscribe := s.Subscribe()
	defer unsubscribe()
	got := make(chan time.Time)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ms, err := s.Claim(ctx, req)
			if err != nil {
				b.Error(err)
				return
			}
			if len(ms) > 0 {
				got <- time.Now()
				continue
			}
			var p *Park
			if park {
				if p, err = s.Park(nil, req); err != nil {
					b.Error(err)
					return
				}
			}
			select {
			case <-stop:
				if p != nil {
					p.Unpark()
				}
				return
			case <-p.Done():
			case <-wake:
			}
			if p == nil {
				continue
			}
			if ms, _ := p.Unpark(); len(ms) > 0 {
				got <- time.Now()
				select {
				case <-wake:
				default:
				}
			}
		}
	}()
	before := s.Stats()
	cpu := cpuTime()
	var after time.Duration
	b.ResetTimer()
	for range b.N {
		if _, err := s.Enqueue(ctx, "", NewMessage{To: "+447700900123", Text: benchText}); err != nil {
			b.Fatal(err)
		}
		answered := time.Now()
		after += (<-got).Sub(answered)
	}
	b.StopTimer()
	close(stop)
	<-done
	st := s.Stats()
	b.ReportMetric(float64(after.Microseconds())/float64(b.N), "µs-202-to-claim")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(float64(st.Commits-before.Commits)/float64(b.N), "commits/msg")
}

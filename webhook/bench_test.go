package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/queue"
	"bridged/webhook"
)

// BenchmarkSender: a message's three status events (queued, sending, sent)
// delivered to a receiver that answers at once; per message.
func BenchmarkSender(b *testing.B) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := openStore(b, queue.WebhookEndpoint{Name: "app"})
	startSender(b, s, webhook.Endpoint{Name: "app", URL: srv.URL})
	cpu := cpuTime()
	b.ResetTimer()
	for range b.N {
		enqueue(b, s, "+447700900123")
		ms, err := s.Claim(ctx, queue.ClaimRequest{Modem: "a", Lease: time.Minute})
		if err != nil || len(ms) != 1 {
			b.Fatal(len(ms), err)
		}
		if err := s.PartSent(ctx, *ms[0].Lease, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
	if !testutil.Until(time.Minute, func() bool { return got.Load() >= int64(3*b.N) }) {
		b.Fatalf("%d of %d events", got.Load(), 3*b.N)
	}
	b.StopTimer()
	// The process's CPU (store, sender and receiver alike) per message:
	// steadier than wall time on a shared machine, and the fsync wait is
	// not in it.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/message")
}

// cpuTime is the process's user plus system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
}

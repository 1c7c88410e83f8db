package dispatch_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/metrics"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// TestSendLatencyObserved: each message sent through a modem is one sample
// of bridged_send_latency_seconds, however many parts it has. (Not
// parallel: the histogram is process-wide.)
func TestSendLatencyObserved(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	exp := metrics.New(b.store, nil, metrics.Options{})
	count := func() float64 {
		t.Helper()
		var out bytes.Buffer
		exp.Write(context.Background(), &out)
		m, err := testutil.ParseMetrics(&out)
		if err != nil {
			t.Fatal(err)
		}
		return m.Must(t, "bridged_send_latency_seconds")
	}
	before := count()
	ms := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "one part"},
		queue.NewMessage{To: "+447700900123", Text: strings.Repeat("three parts ", 30)})
	for _, m := range ms {
		b.waitStatus(m.ID, queue.StatusSent)
	}
	// The sample follows the store's "sent" by a moment: wait for it, then
	// see that no part made another.
	testutil.Eventually(t, "two samples", func() bool { return count()-before >= 2 })
	if d := count() - before; d != 2 {
		t.Errorf("two messages sent (four parts): the histogram grew by %v, want 2", d)
	}
}

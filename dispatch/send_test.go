package dispatch_test

import (
	"fmt"
	"testing"

	"bridged/dispatch"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// TestBusyModemClaimsWithTheLastPart: with messages waiting, the write that
// records one message as sent also claims the next, so a busy modem commits
// once between two messages. A history entry carries its transaction's
// time: each "sending" is at the very time of the "sent" before it.
func TestBusyModemClaimsWithTheLastPart(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	b.offNetwork(0)
	var msgs []queue.NewMessage
	for i := range 5 {
		msgs = append(msgs, queue.NewMessage{To: "+447700900123", Text: fmt.Sprintf("message %d", i)})
	}
	queued := b.enqueue(msgs...)
	b.sims[0].SetRegistration(modemsim.RegHome)
	var sentAt []string
	for i, q := range queued {
		m := b.waitStatus(q.ID, queue.StatusSent)
		at := map[queue.Status]string{}
		for _, e := range m.Events {
			at[e.Status] = e.At.String()
		}
		if i > 0 && at[queue.StatusSending] != sentAt[i-1] {
			t.Errorf("message %d claimed at %s, the one before it sent at %s: two commits", q.ID, at[queue.StatusSending], sentAt[i-1])
		}
		sentAt = append(sentAt, at[queue.StatusSent])
	}
	if sent := b.net.Sent(); len(sent) != len(queued) {
		t.Errorf("the network got %d messages, want %d", len(sent), len(queued))
	}
}

package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/internal/testutil"
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

// TestNextMessageNeedsNoClaimCommit: a message posted the moment the one
// before is on the air is claimed either with that one's last part or, by
// the claim that write parked, in the commit that queues it: never by a
// commit of its own in between (the window between a worker's last write
// and its park).
func TestNextMessageNeedsNoClaimCommit(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	b.settle("m0")
	sent := len(b.net.Sent())
	prev := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "first"})[0].ID
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
		_, err := b.net.WaitSent(ctx, sent+i+1)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: fmt.Sprintf("next %d", i)})[0].ID
		before := b.waitStatus(prev, queue.StatusSent)
		m := b.waitStatus(id, queue.StatusSent)
		at := func(m *queue.Message, st queue.Status) time.Time {
			for _, e := range m.Events {
				if e.Status == st {
					return e.At
				}
			}
			return time.Time{}
		}
		claimed := at(m, queue.StatusSending)
		if !claimed.Equal(at(m, queue.StatusQueued)) && !claimed.Equal(at(before, queue.StatusSent)) {
			t.Errorf("message %d queued %v, claimed %v, the one before sent %v: a claim commit of its own",
				id, at(m, queue.StatusQueued), claimed, at(before, queue.StatusSent))
		}
		prev = id
	}
}

package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// TestMultipartFailedReportSendsEveryPart: the status report of part 1 of
// a 6-part message says failed while the other parts are still being sent
// (each takes the simulated network 150 ms). Every part still reaches the
// network, once; then the message fails with delivery_failed naming part
// 1, and its parts show what each report said.
func TestMultipartFailedReportSendsEveryPart(t *testing.T) {
	var net atomic.Pointer[modemsim.Network]
	var once sync.Once
	// Only the first part's report fails: the network switches to
	// delivered reports once it has decided that one.
	simLog := slog.New(&watchLog{on: func(msg string, _ map[string]string) {
		if msg == "sent out of the network" {
			once.Do(func() { net.Load().SetReports(modemsim.ReportDelivered, 0) })
		}
	}})
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{SendLatency: 150 * time.Millisecond,
		ReportOutcome: modemsim.ReportFailed, Logger: simLog})
	net.Store(b.net)
	text := strings.Repeat("six parts ", 90) // 900 GSM characters: 6 parts of 153
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: text, Report: true})[0].ID
	m := b.waitStatus(id, queue.StatusFailed)
	if m.Parts != 6 {
		t.Fatalf("%d parts, want 6", m.Parts)
	}
	if m.Error == nil || m.Error.Code != queue.CodeDeliveryFailed || m.Error.Message != "part 1 of 6 not delivered: status 0x41" {
		t.Errorf("error %+v", m.Error)
	}
	// Every part went to the network exactly once.
	seen := map[int]int{}
	for _, s := range b.net.Sent() {
		if s.Message.Concat == nil || s.Message.Concat.Total != 6 {
			t.Fatalf("the network got %+v", s.Message)
		}
		seen[s.Message.Concat.Seq]++
	}
	for seq := 1; seq <= 6; seq++ {
		if seen[seq] != 1 {
			t.Errorf("part %d reached the network %d times, want once (all: %v)", seq, seen[seq], seen)
		}
	}
	if m.Attempts != 1 || len(m.SentParts) != 6 {
		t.Fatalf("%d attempts, %d parts recorded; events %+v", m.Attempts, len(m.SentParts), m.Events)
	}
	// The failure arrived while the message was still being sent.
	if r := m.SentParts[0].ReportedAt; r == nil || !r.Before(m.SentParts[5].SentAt) {
		t.Errorf("part 1 reported at %v, part 6 sent at %v: the report did not come mid-send", r, m.SentParts[5].SentAt)
	}
	// The other parts' reports still land on their parts.
	testutil.Eventually(t, "parts 2-6 reported delivered", func() bool {
		got, err := b.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got.PartDetails()[1:] {
			if p.Status != queue.PartDelivered {
				return false
			}
		}
		m = got
		return true
	})
	if p := m.PartDetails()[0]; p.Status != queue.PartFailed || p.Ref == nil || p.ReportedAt == nil {
		t.Errorf("part 1: %+v", p)
	}
	if m.Status != queue.StatusFailed {
		t.Errorf("status %s after the late reports, want failed", m.Status)
	}
}

// TestRoutedTransientErrorFailsOver: a message routed to m0, whose network
// answers +CMS ERROR: 500 (unknown, transient) to every send, goes through
// m2, which has no routes, on the next attempt; m1, routed elsewhere, is
// not allowed to send it.
func TestRoutedTransientErrorFailsOver(t *testing.T) {
	b := MustBridge(t, 3, dispatch.Options{Routes: map[string]dispatch.Route{
		"m0": {Prefixes: []string{"+44"}}, "m1": {Prefixes: []string{"+86"}},
	}}, modemsim.Options{})
	b.settle("m2")
	b.sims[0].SetSendErrorRate(1, 500)
	// Should m0's driver lose it (a command timing out on a loaded machine
	// makes it reopen the port), no ready modem has a +44 route and m1 may
	// then take the message too: that is the rule, so note it.
	flapped := b.watchLeavesReady(0)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "routed, failing"})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if flapped() {
		t.Logf("m0 was not ready for a while; events %+v", m.Events)
		if m.SentParts[0].Modem == "m0" {
			t.Errorf("sent by m0, which fails every send")
		}
		return
	}
	if m.SentParts[0].Modem != "m2" || m.Attempts != 2 {
		t.Errorf("sent by %s after %d attempts, want m2 on the second; events %+v", m.SentParts[0].Modem, m.Attempts, m.Events)
	}
	for _, e := range m.Events {
		if strings.Contains(e.Detail, "modem m1") {
			t.Errorf("m1, routed to +86, took it: %+v", e)
		}
	}
}

// settle sends one message through modem id and waits until it is sent;
// it returns how many parts the network has by then. Every worker wakes
// for its enqueue and claims afresh, so claims computed while the modems
// were coming up (with the routes of modems not yet ready) are done by
// then, and none of them takes the message a test enqueues next. Through
// a modem the test does not rate-limit, so that no limit is spent.
func (b *bridge) settle(id string) int {
	b.t.Helper()
	m := b.enqueue(queue.NewMessage{To: "+15550100", Text: "warm-up", Modem: id})[0]
	b.waitStatus(m.ID, queue.StatusSent)
	return len(b.net.Sent())
}

// watchLeavesReady watches modem i until the test ends; the function it
// returns reports whether the modem was ever not ready meanwhile.
func (b *bridge) watchLeavesReady(i int) func() bool {
	var left atomic.Bool
	done := make(chan struct{})
	stopped := make(chan struct{})
	b.t.Cleanup(func() { close(done); <-stopped })
	m := b.mods[i]
	ch := m.Changed()
	if m.Status().State != modem.StateReady {
		left.Store(true)
	}
	go func() {
		defer close(stopped)
		// Any change of a ready modem's state is a change away from ready,
		// however soon it came back.
		select {
		case <-done:
		case <-ch:
			left.Store(true)
		}
	}()
	return left.Load
}

// TestRateLimitedModemLeavesWorkToIdleOne: m0 may send one part a minute;
// m1 is idle. The queued messages go through m1 instead of waiting a
// minute each for m0, whether they are routed to m0 or not.
func TestRateLimitedModemLeavesWorkToIdleOne(t *testing.T) {
	for _, tt := range []struct {
		name   string
		routes []string
		to     string
	}{
		{"unrouted", nil, "+15550100"},
		{"routed to the limited modem", []string{"+44"}, "+447700900123"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := MustBridge(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{
				"m0": {Prefixes: tt.routes, PerMinute: 1},
			}}, modemsim.Options{})
			var ids []int64
			for i := range 4 {
				ids = append(ids, b.enqueue(queue.NewMessage{To: tt.to, Text: fmt.Sprintf("message %d", i)})[0].ID)
			}
			byM0 := 0
			for _, id := range ids {
				m := b.waitStatus(id, queue.StatusSent)
				if m.SentParts[0].Modem == "m0" {
					byM0++
				}
				if m.Attempts != 1 {
					t.Errorf("message %d: %d attempts; events %+v", id, m.Attempts, m.Events)
				}
			}
			if byM0 > 1 {
				t.Errorf("m0 sent %d messages at one a minute", byM0)
			}
		})
	}
}

// TestUnpluggedModemGivesClaimBack: m0 is unplugged while it sends a
// message routed to it. The cut-off send is an interrupted send, ended at
// once by the store's policy (here: send again), not retried after a
// backoff (here a minute), and the message goes through m1.
func TestUnpluggedModemGivesClaimBack(t *testing.T) {
	simLog, waitAccepted := sendAccepted(t, "sim0")
	b := mustBridgeStore(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{"m0": {Prefixes: []string{"+44"}}}},
		modemsim.Options{Logger: simLog}, queue.Options{BackoffBase: time.Minute, BackoffMax: time.Minute}, nil)
	before := b.settle("m1")
	b.sims[0].SetSendLatency(time.Second)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "unplugged mid-send"})[0].ID
	waitAccepted()
	b.sims[0].Unplug(time.Minute)
	m := b.waitStatus(id, queue.StatusSent)
	if m.SentParts[0].Modem != "m1" || m.Attempts != 2 {
		t.Errorf("sent by %s after %d attempts, want m1 on the second; events %+v", m.SentParts[0].Modem, m.Attempts, m.Events)
	}
	found := false
	for _, e := range m.Events {
		found = found || strings.Contains(e.Detail, "modem m0 disconnected during the send: part 1 of 1 may have been sent; sending it again")
		if strings.Contains(e.Detail, "retry in") {
			t.Errorf("retried after a backoff: %+v", e)
		}
	}
	if !found {
		t.Errorf("no interrupted-send event: %+v", m.Events)
	}
	if sent := b.net.Sent(); len(sent)-before != 1 {
		t.Errorf("the network got %d parts, want 1", len(sent)-before)
	}
}

// TestUnpluggedBetweenPartsReleases: m0 may send a part every 30 s; it
// sent part 1 of 2 and is unplugged while it waits to send part 2. The
// claim comes back at once as a release (no attempt spent), kept for m0,
// which sent part 1, instead of when the wait ends.
func TestUnpluggedBetweenPartsReleases(t *testing.T) {
	b := MustBridge(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{"m0": {Prefixes: []string{"+44"}, PerMinute: 2}}},
		modemsim.Options{})
	before := b.settle("m1")
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: strings.Repeat("two parts ", 20)})[0].ID
	testutil.Eventually(t, "part 1 recorded", func() bool {
		m, err := b.store.Get(context.Background(), id)
		return err == nil && len(m.SentParts) == 1
	})
	b.sims[0].Unplug(time.Minute)
	m := b.waitStatus(id, queue.StatusQueued)
	last := m.Events[len(m.Events)-1]
	if last.Detail != "released by modem m0" || m.Attempts != 0 || m.Modem != "m0" {
		t.Errorf("%d attempts, modem %q, last event %+v; want released by m0 and kept for it", m.Attempts, m.Modem, last)
	}
	if sent := b.net.Sent(); len(sent)-before != 1 {
		t.Errorf("the network got %d parts, want 1 (part 2 must wait for m0)", len(sent)-before)
	}
}

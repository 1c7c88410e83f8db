package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
	"bridged/queue"
)

func logger() *slog.Logger {
	if os.Getenv("DISPATCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// bridge is a store on a real SQLite file, simulated modems on their ptys,
// drivers for them and a dispatcher: the daemon without its HTTP side.
type bridge struct {
	t     *testing.T
	store *queue.Store
	net   *modemsim.Network
	sims  []*modemsim.Modem
	mods  []*modem.Modem
	disp  *dispatch.Dispatcher
}

func MustBridge(t *testing.T, n int, opts dispatch.Options, simOpts modemsim.Options) *bridge {
	t.Helper()
	return mustBridgeStore(t, n, opts, simOpts, queue.Options{}, nil)
}

// mustBridgeStore is MustBridge with store options; retries back off 50 to
// 200 ms unless they say otherwise. wrap, if set, gives the dispatcher
// the store it returns (to inject a fault) instead of the store itself.
func mustBridgeStore(t *testing.T, n int, opts dispatch.Options, simOpts modemsim.Options, qOpts queue.Options, wrap func(*queue.Store) dispatch.Store) *bridge {
	t.Helper()
	dir := t.TempDir()
	if qOpts.BackoffBase == 0 {
		qOpts.BackoffBase, qOpts.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	}
	store, err := queue.Open(filepath.Join(dir, "bridged.db"), qOpts)
	if err != nil {
		t.Fatal(err)
	}
	simOpts.Dir = dir
	if simOpts.Logger == nil {
		simOpts.Logger = logger()
	}
	net := modemsim.NewNetwork(simOpts)
	b := &bridge{t: t, store: store, net: net}
	var dm []dispatch.Modem
	for i := range n {
		sim, err := net.AddModem(modemsim.Config{})
		if err != nil {
			t.Fatal(err)
		}
		m := modem.New(modem.Config{ID: fmt.Sprintf("m%d", i), Device: sim.Path(), CommandTimeout: time.Second, SendTimeout: 2 * time.Second, ReconnectMax: 100 * time.Millisecond, Logger: logger()})
		b.sims, b.mods = append(b.sims, sim), append(b.mods, m)
		dm = append(dm, m)
	}
	opts.Logger = logger()
	opts.SendTimeout = 2 * time.Second
	var ds dispatch.Store = store
	if wrap != nil {
		ds = wrap(store)
	}
	b.disp = dispatch.New(ds, dm, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runAll := make(chan struct{}, len(b.mods)+1)
		for _, m := range b.mods {
			go func() { m.Run(ctx); runAll <- struct{}{} }()
		}
		b.disp.Run(ctx)
		for range b.mods {
			<-runAll
		}
	}()
	// Stop in reverse order of start: dispatcher and drivers, then the
	// network, then the store.
	t.Cleanup(func() {
		cancel()
		<-done
		net.Close()
		store.Close()
	})
	for _, m := range b.mods {
		waitReady(t, m)
	}
	return b
}

func waitReady(t *testing.T, m *modem.Modem) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		changed := m.Changed()
		if m.Status().State == modem.StateReady {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("modem %s: %s", m.ID(), m.Status().State)
		}
	}
}

// offNetwork deregisters modem i and waits until its driver has seen it.
func (b *bridge) offNetwork(i int) {
	b.t.Helper()
	b.sims[i].SetRegistration(modemsim.RegSearching)
	testutil.Eventually(b.t, "the modem off the network", func() bool { return b.mods[i].Status().State != modem.StateReady })
}

func (b *bridge) enqueue(msgs ...queue.NewMessage) []*queue.Message {
	b.t.Helper()
	res, err := b.store.Enqueue(context.Background(), "", msgs...)
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Messages
}

// waitStatus waits until message id reaches status.
func (b *bridge) waitStatus(id int64, want queue.Status) *queue.Message {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		m, err := b.store.Get(context.Background(), id)
		if err != nil {
			b.t.Fatal(err)
		}
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("message %d is %s (error %+v), want %s; events %+v", id, m.Status, m.Error, want, m.Events)
		}
		<-tick.C
	}
}

func TestSendThroughModem(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	texts := []string{"hello", strings.Repeat("multipart ", 40), "中文 😀 " + strings.Repeat("长", 90)}
	var ids []int64
	for _, text := range texts {
		ids = append(ids, b.enqueue(queue.NewMessage{To: "+447700900123", Text: text})[0].ID)
	}
	for _, id := range ids {
		b.waitStatus(id, queue.StatusSent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := b.net.WaitSent(ctx, 1+3+2)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*pdu.Message
	for _, s := range sent {
		parts = append(parts, s.Message)
	}
	for _, text := range texts {
		var mine []*pdu.Message
		for _, p := range parts {
			if p.Concat == nil && p.Text == text {
				mine = append(mine, p)
			}
			if p.Concat != nil && strings.Contains(text, p.Text) {
				mine = append(mine, p)
			}
		}
		got, err := pdu.Reassemble(mine)
		if err != nil || got.Text != text {
			t.Errorf("network got %q (%v), want %q", got.Text, err, text)
		}
	}
}

func TestDeliveryReport(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: strings.Repeat("report ", 30), Report: true})[0].ID
	m := b.waitStatus(id, queue.StatusDelivered)
	if m.DeliveredAt == nil || len(m.SentParts) != 2 {
		t.Errorf("delivered message %+v", m)
	}
}

func TestFailedReport(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{ReportOutcome: modemsim.ReportFailed})
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "will fail", Report: true})[0].ID
	m := b.waitStatus(id, queue.StatusFailed)
	if m.Error == nil || m.Error.Code != queue.CodeDeliveryFailed {
		t.Errorf("error %+v", m.Error)
	}
}

func TestInbound(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	text := strings.Repeat("inbound multipart ", 20)
	if err := b.sims[0].Deliver("+15557770000", text); err != nil {
		t.Fatal(err)
	}
	if err := b.sims[0].Deliver("+15557770001", "short one"); err != nil {
		t.Fatal(err)
	}
	var page queue.InboxPage
	testutil.Eventually(t, "two messages in the inbox", func() bool {
		var err error
		page, err = b.store.ListInbox(context.Background(), queue.InboxFilter{})
		return err == nil && len(page.Messages) == 2
	})
	if len(page.Messages) != 2 {
		t.Fatalf("inbox holds %d messages", len(page.Messages))
	}
	got := map[string]string{}
	for _, m := range page.Messages {
		got[m.From] = m.Text
	}
	if got["+15557770000"] != text || got["+15557770001"] != "short one" {
		t.Errorf("inbox %v", got)
	}
	// Acknowledged, hence deleted from the SIM.
	testutil.Eventually(t, "the SIM emptied", func() bool { return len(b.sims[0].Stored("SM")) == 0 })
}

func TestPermanentErrorFails(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	b.sims[0].SetSendErrors(1) // unassigned number
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "nobody"})[0].ID
	m := b.waitStatus(id, queue.StatusFailed)
	if m.Error == nil || m.Error.Code != "cms_1" || !strings.Contains(m.Error.Message, "unassigned number") {
		t.Errorf("error %+v", m.Error)
	}
}

func TestTransientErrorRetries(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	b.sims[0].SetSendErrors(42, 38) // congestion, then network out of order, then success
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "persist"})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if m.Attempts != 3 {
		t.Errorf("attempts %d, want 3", m.Attempts)
	}
}

func TestRetryOnAnotherModem(t *testing.T) {
	b := MustBridge(t, 2, dispatch.Options{}, modemsim.Options{})
	// Whichever modem claims first fails with congestion every time; the
	// message must get through the other one.
	b.sims[0].SetSendErrorRate(1, 42)
	b.sims[1].SetSendErrorRate(0)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "any modem will do"})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if len(m.SentParts) != 1 || m.SentParts[0].Modem != "m1" {
		t.Errorf("sent by %+v, want m1", m.SentParts)
	}
}

func TestRoutes(t *testing.T) {
	b := MustBridge(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{"m1": {Prefixes: []string{"+86"}}}}, modemsim.Options{})
	var ids []int64
	for range 4 {
		ids = append(ids, b.enqueue(queue.NewMessage{To: "+8613800138000", Text: "to china"})[0].ID)
	}
	for _, id := range ids {
		m := b.waitStatus(id, queue.StatusSent)
		if m.SentParts[0].Modem != "m1" {
			t.Errorf("message %d went through %s, want m1 (route +86)", id, m.SentParts[0].Modem)
		}
	}
}

func TestModemRestriction(t *testing.T) {
	b := MustBridge(t, 2, dispatch.Options{}, modemsim.Options{})
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "only m0", Modem: "m0"})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if m.SentParts[0].Modem != "m0" {
		t.Errorf("sent by %s", m.SentParts[0].Modem)
	}
}

// TestInboundUndecodable: a PDU that does not decode is stored raw, and
// only then deleted from the SIM.
func TestInboundUndecodable(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	if err := b.sims[0].DeliverCorrupt("0003DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the SIM emptied", func() bool { return len(b.sims[0].Stored("SM")) == 0 })
	// Stored raw: the same PDU handed over again is a duplicate.
	rec, err := b.store.Receive(context.Background(), pdu.DecodeReceived("m0", "0003DEADBEEF", "SM", 1))
	if err != nil || !rec.Duplicate || rec.Message != nil {
		t.Errorf("receive again: %+v, %v; want a duplicate, not in the inbox", rec, err)
	}
}

// TestScheduledMessageSentOnTime: a message with send_at is sent when due,
// found through NextDue: nothing else wakes the worker.
func TestScheduledMessageSentOnTime(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	at := time.Now().Add(300 * time.Millisecond)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "on time", SendAt: at})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if m.SentAt.Before(at) {
		t.Errorf("sent at %v, before its send_at %v", m.SentAt, at)
	}
}

// TestRateLimit: a modem capped at 600 parts a minute sends one part every
// 100 ms at most, however many are waiting. A worker claims a message only
// once its rate allows the next part, and claims are timestamped by the
// store after the call, so the claims of these one-part messages are at
// least 100 ms apart: the spacing of the AT+CMGS starts that follow them,
// without the scheduling noise of the times the network records.
func TestRateLimit(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{Routes: map[string]dispatch.Route{"m0": {PerMinute: 600}}}, modemsim.Options{})
	var ids []int64
	for i := range 5 {
		ids = append(ids, b.enqueue(queue.NewMessage{To: "+447700900123", Text: fmt.Sprintf("paced %d", i)})[0].ID)
	}
	var claims []time.Time
	for _, id := range ids {
		m := b.waitStatus(id, queue.StatusSent)
		for _, e := range m.Events {
			if e.Status == queue.StatusSending {
				claims = append(claims, e.At)
			}
		}
	}
	if sent := b.net.Sent(); len(sent) != 5 {
		t.Fatalf("%d sent", len(sent))
	}
	slices.SortFunc(claims, time.Time.Compare)
	for i := 1; i < len(claims); i++ {
		if gap := claims[i].Sub(claims[i-1]); gap < 100*time.Millisecond {
			t.Errorf("sends %d and %d only %v apart, want at least 100 ms", i, i+1, gap)
		}
	}
}

// TestRoutedMessageTakenWhenItsModemGoesDown: a message held back for the
// modem its route names goes through another modem once that modem drops
// off the network, and the message that modem was sending comes back to
// the queue kept for it, because its first part went through it.
//
// m0 is busy with part 1 of a two-part message (its network takes a
// second) when the held message is queued and m0 drops off the network.
// Part 2 then finds the modem not ready (released) or, when the driver has
// not yet read the registration change, the network refusing it (+CMS
// ERROR: 331, retried): either way the claim ends as soon as part 1 is out.
func TestRoutedMessageTakenWhenItsModemGoesDown(t *testing.T) {
	simLog, waitAccepted := sendAccepted(t, "sim0")
	b := MustBridge(t, 2, dispatch.Options{Routes: map[string]dispatch.Route{"m0": {Prefixes: []string{"+44"}}}},
		modemsim.Options{Logger: simLog})
	b.settle("m1")
	b.sims[0].SetSendLatency(time.Second)
	busy := b.enqueue(queue.NewMessage{To: "+447700900123", Text: strings.Repeat("keeps m0 busy ", 12)})[0].ID
	// Part 1 in flight: the simulated network has the PDU and takes a second.
	waitAccepted()
	held := b.enqueue(queue.NewMessage{To: "+447700900124", Text: "for m0's route"})[0].ID
	// m1 woke for the enqueue and left the message to m0, which is ready
	// but busy. m0 now loses the network.
	b.sims[0].SetRegistration(modemsim.RegSearching)
	m := b.waitStatus(held, queue.StatusSent)
	if m.SentParts[0].Modem != "m1" {
		t.Errorf("sent by %s, want m1", m.SentParts[0].Modem)
	}
	// The first message is back in the queue, waiting for m0: its second
	// part must go through the modem that sent the first.
	first := b.waitStatus(busy, queue.StatusQueued)
	if first.Modem != "m0" || len(first.SentParts) != 1 {
		t.Errorf("first message: modem %q, %d parts sent, events %+v; want it kept for m0", first.Modem, len(first.SentParts), first.Events)
	}
}

// TestIncompleteReleasedOnTime: the first of two parts arrives and the
// second never does; the incomplete message reaches the inbox when the
// reassembly timeout ends, found through the store's NextDeadline.
func TestIncompleteReleasedOnTime(t *testing.T) {
	const timeout = 300 * time.Millisecond
	b := mustBridgeStore(t, 1, dispatch.Options{Maintenance: 50 * time.Millisecond}, modemsim.Options{},
		queue.Options{ReassemblyTimeout: timeout}, nil)
	enc, err := smsc.Deliver{From: "+15557770000", Text: strings.Repeat("two parts ", 20), Ref: 9}.Encode()
	if err != nil || len(enc.Parts) != 2 {
		t.Fatalf("encode: %v, %d parts", err, len(enc.Parts))
	}
	sent := time.Now()
	if err := b.sims[0].DeliverPDU(enc.Parts[0].PDU); err != nil {
		t.Fatal(err)
	}
	var page queue.InboxPage
	testutil.Eventually(t, "the incomplete message in the inbox", func() bool {
		page, err = b.store.ListInbox(context.Background(), queue.InboxFilter{})
		return err == nil && len(page.Messages) == 1
	})
	if m := page.Messages[0]; !m.Incomplete || time.Since(sent) < timeout {
		t.Errorf("released after %v (timeout %v), incomplete %v", time.Since(sent), timeout, m.Incomplete)
	}
}

// TestExpiredWithNoModemReady: a message whose validity ends while no modem
// can send it is expired by the maintainer, which learnt of the deadline
// from the enqueue.
func TestExpiredWithNoModemReady(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{Maintenance: 50 * time.Millisecond}, modemsim.Options{})
	b.offNetwork(0)
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "too late", ValidFor: 200 * time.Millisecond})[0].ID
	m := b.waitStatus(id, queue.StatusExpired)
	if m.Error == nil || m.Error.Code != queue.CodeExpired {
		t.Errorf("error %+v", m.Error)
	}
}

// TestRateLimitedMultipartKeepsItsClaim: the wait between the parts of a
// rate-limited message is part of the claim, so the claim does not run out
// between two parts (the maintainer would hand the message out again and
// its second part would go twice).
func TestRateLimitedMultipartKeepsItsClaim(t *testing.T) {
	// 20 parts a minute: 3 s between parts, longer than the send timeout
	// (2 s) plus the margin.
	b := MustBridge(t, 1, dispatch.Options{
		Routes:      map[string]dispatch.Route{"m0": {PerMinute: 20}},
		LeaseMargin: 100 * time.Millisecond, Maintenance: 50 * time.Millisecond,
	}, modemsim.Options{})
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: strings.Repeat("two parts ", 20)})[0].ID
	m := b.waitStatus(id, queue.StatusSent)
	if m.Attempts != 1 || len(m.SentParts) != 2 {
		t.Errorf("%d attempts, %d parts recorded; events %+v", m.Attempts, len(m.SentParts), m.Events)
	}
	if sent := b.net.Sent(); len(sent) != 2 {
		t.Errorf("the network got %d parts, want 2", len(sent))
	}
}

// failPartSent is the real store, except that recording a sent part fails once (as when
// the disk fills just after a part went on the air) and NextDeadline calls
// are counted.
type failPartSent struct {
	*queue.Store
	failed atomic.Bool
	looks  atomic.Int64
}

func (f *failPartSent) PartSent(ctx context.Context, l queue.Lease, seq, ref int) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("disk full (injected)")
	}
	return f.Store.PartSent(ctx, l, seq, ref)
}

// PartSentClaim records a message's last part (and claims the next).
func (f *failPartSent) PartSentClaim(ctx context.Context, l queue.Lease, seq, ref int, still func() bool, reqs ...queue.ClaimRequest) (queue.Next, error) {
	if f.failed.CompareAndSwap(false, true) {
		return queue.Next{}, errors.New("disk full (injected)")
	}
	return f.Store.PartSentClaim(ctx, l, seq, ref, still, reqs...)
}

func (f *failPartSent) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	f.looks.Add(1)
	return f.Store.NextDeadline(ctx)
}

// TestUnrecordedSendEndsWhenItsClaimRunsOut: a part is sent but cannot be
// recorded, and nothing else happens afterwards; the claim still runs out on
// time and the interrupted-send policy (here: fail) ends the message, rather
// than leaving it "sending" until the next enqueue. The claim comes after the
// maintainer's last look, so only the claim itself can tell it of the lease.
func TestUnrecordedSendEndsWhenItsClaimRunsOut(t *testing.T) {
	var fs *failPartSent
	b := mustBridgeStore(t, 1, dispatch.Options{LeaseMargin: 100 * time.Millisecond, Maintenance: 10 * time.Millisecond},
		modemsim.Options{}, queue.Options{Interrupted: queue.FailInterrupted},
		func(s *queue.Store) dispatch.Store { fs = &failPartSent{Store: s}; return fs })
	b.offNetwork(0)
	looked := fs.looks.Load()
	id := b.enqueue(queue.NewMessage{To: "+447700900123", Text: "sent, not recorded"})[0].ID
	testutil.Eventually(t, "the maintainer's look after the enqueue", func() bool { return fs.looks.Load() > looked })
	b.sims[0].SetRegistration(modemsim.RegHome)
	m := b.waitStatus(id, queue.StatusFailed)
	if m.Error == nil || m.Error.Code != queue.CodeMayHaveBeenSent {
		t.Errorf("error %+v", m.Error)
	}
	if sent := b.net.Sent(); len(sent) != 1 {
		t.Errorf("the network got %d parts, want 1", len(sent))
	}
}

// sendAccepted returns a simulator logger and a function that waits until
// simulated modem sim has accepted a send: its network has the PDU, so
// the driver's send is in flight.
func sendAccepted(t *testing.T, sim string) (*slog.Logger, func()) {
	accepted := make(chan struct{})
	var once sync.Once
	log := slog.New(&watchLog{on: func(msg string, attrs map[string]string) {
		if msg == "send accepted" && attrs["modem"] == sim {
			once.Do(func() { close(accepted) })
		}
	}})
	return log, func() {
		t.Helper()
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never started the send", sim)
		}
	}
}

// watchLog hands every log record's message and attributes to on.
type watchLog struct {
	attrs []slog.Attr
	on    func(msg string, attrs map[string]string)
}

func (h *watchLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *watchLog) Handle(_ context.Context, r slog.Record) error {
	all := map[string]string{}
	for _, a := range h.attrs {
		all[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { all[a.Key] = a.Value.String(); return true })
	h.on(r.Message, all)
	return nil
}
func (h *watchLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &watchLog{attrs: append(append([]slog.Attr(nil), h.attrs...), as...), on: h.on}
}
func (h *watchLog) WithGroup(string) slog.Handler { return h }

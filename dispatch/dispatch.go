// Package dispatch moves messages between the queue and the modems: one
// worker per modem claims due messages and sends them part by part, and one
// receiver per modem stores what the modem hands over before letting it
// delete it.
//
// dispatch.go wires them (New, Run) and holds the claim rule's inputs
// (peers, canSend); send.go is a worker's send path (sendLoop, claim,
// sendMessage, sendFailed, limit: a busy worker records a message's last
// part and claims the next in one write); park.go its claim while idle,
// parked in the store so that the commit that queues a message claims it;
// receive.go its receive path
// (receiveLoop, storeInbound); maintain.go meets the store's deadlines
// (expiry, incomplete multipart messages) and answers alive.go's liveness
// pings (Alive, for the systemd watchdog); prune.go applies the retention;
// modemstate.go logs each modem's state changes as modem.state events.
package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

// Store is what the dispatcher needs of the queue (*queue.Store).
type Store interface {
	Claim(ctx context.Context, reqs ...queue.ClaimRequest) ([]*queue.Message, error)
	PartSent(ctx context.Context, l queue.Lease, seq, ref int) error
	PartSentClaim(ctx context.Context, l queue.Lease, seq, ref int, still func() bool, reqs ...queue.ClaimRequest) (queue.Next, error)
	Retry(ctx context.Context, l queue.Lease, e queue.Error) error
	Release(ctx context.Context, l queue.Lease) error
	Fail(ctx context.Context, l queue.Lease, e queue.Error) error
	Interrupted(ctx context.Context, l queue.Lease, why string) error
	Receive(ctx context.Context, in pdu.Received) (queue.Received, error)
	Report(ctx context.Context, r queue.Report) (queue.Reported, error)
	Expire(ctx context.Context) (int, error)
	ReleaseIncomplete(ctx context.Context) ([]*queue.InboxMessage, error)
	NextDue(ctx context.Context, req queue.ClaimRequest) (time.Time, bool, error)
	NextDeadline(ctx context.Context) (time.Time, bool, error)
	Subscribe() (<-chan struct{}, func())
	Park(still func() bool, reqs ...queue.ClaimRequest) (*queue.Park, error)
	CheckWritable(ctx context.Context) error
}

// Modem is what the dispatcher needs of a modem (*modem.Modem).
type Modem interface {
	ID() string
	Send(ctx context.Context, part pdu.Part) (int, error)
	Status() modem.Status
	Changed() <-chan struct{}
	Inbound() <-chan *modem.Inbound
}

// Route says which recipients a modem prefers and how fast it may send.
//
// Which modem may send what is decided by one rule (queue.ClaimRequest): a
// modem is allowed to send a message when one of its prefixes matches the
// recipient, when it has no prefixes, or when no modem that can send now
// has a matching prefix. A message routed to a modem that can send now is
// left to it, except that after a transient failure there any other
// allowed modem that can send now takes it. A modem "can send now" when it
// is ready and not waiting for its rate limit.
type Route struct {
	// Prefixes are recipient prefixes ("+44", "+8613") this modem sends
	// to first; other modems take them only when no modem with a matching
	// route can send now, or after a transient failure on it. A modem
	// without prefixes sends anything.
	Prefixes []string
	// PerMinute caps parts sent per minute; 0 is no cap. A modem waiting
	// for its cap claims nothing and holds no route back, so that an idle
	// modem allowed to send the waiting messages sends them.
	PerMinute int
}

// Options tune a Dispatcher.
type Options struct {
	// Routes by modem ID.
	Routes map[string]Route
	// Encoding is how a message's text is encoded and split: the value the
	// store and the API are given, so that what is sent is what they
	// counted. A message queued with more parts than its MaxParts (the
	// limit was lowered since) is still sent whole.
	Encoding pdu.Options
	// SendTimeout is the modems' send timeout. A claim, renewed with
	// every part sent, lasts this plus the modem's rate-limit interval plus
	// LeaseMargin: long enough for the wait and the send of the next part,
	// so that the claim of a live worker never runs out (its message would
	// be claimed again and a part sent twice), short enough that the claim
	// of a worker that could not record its send comes back.
	SendTimeout time.Duration
	// LeaseMargin is the slack in a claim; default 30 s.
	LeaseMargin time.Duration
	// Maintenance is how soon after new work (an enqueue, a retry, a claim,
	// a part of a multipart message received) the maintainer looks for the
	// deadlines it brings: validity expiry, the release of an incomplete
	// multipart message, a lease that runs out. Deadlines it knows of it
	// meets on time (the store's NextDeadline). Under steady traffic it so
	// looks at most once per Maintenance. Default one second.
	Maintenance time.Duration
	Logger      *slog.Logger
	// Retention is how long history is kept when the store is also a
	// Pruner (prune.go); 0 keeps everything. PruneDelay and PruneInterval
	// default to DefaultPruneDelay and DefaultPruneInterval.
	Retention, PruneDelay, PruneInterval time.Duration
	// ModemView renders a modem as the API shows it, the data of its
	// modem.state events (modemstate.go); default its Status as JSON.
	ModemView func(modem.Status) ([]byte, error)
}

// afterError is how soon a worker or the maintainer looks at the store
// again after it failed to answer: soon enough, without a log line a second.
const afterError = 30 * time.Second

// afterClaimError is how soon a worker whose claim failed tries again: a
// store that refused a write (disk full) may take them again any moment,
// and the messages due meanwhile should not wait for the next enqueue.
const afterClaimError = 5 * time.Second

// Dispatcher runs the workers. Create it with New, start it with Run.
type Dispatcher struct {
	store  Store
	modems []Modem
	opts   Options
	log    *slog.Logger

	wakes []chan struct{} // one per worker, capacity 1
	// limited holds, per worker, its next (the UnixNano time before which
	// its rate limit lets no part out), for the others' peers: written
	// by that worker wherever it sets next, read by the others.
	limited []atomic.Int64
	// touched tells the maintainer that something with a deadline may have
	// been written; capacity 1.
	touched chan struct{}
	// pings carries Alive's requests to the maintainer (alive.go).
	pings chan chan<- struct{}
}

// New returns a Dispatcher for the modems over store.
func New(store Store, modems []Modem, opts Options) *Dispatcher {
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = modem.DefaultSendTimeout
	}
	if opts.LeaseMargin <= 0 {
		opts.LeaseMargin = 30 * time.Second
	}
	if opts.Maintenance <= 0 {
		opts.Maintenance = time.Second
	}
	if opts.PruneDelay <= 0 {
		opts.PruneDelay = DefaultPruneDelay
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ModemView == nil {
		opts.ModemView = modemJSON
	}
	d := &Dispatcher{store: store, modems: modems, opts: opts, log: opts.Logger, touched: make(chan struct{}, 1),
		pings: make(chan chan<- struct{}), limited: make([]atomic.Int64, len(modems))}
	for range modems {
		d.wakes = append(d.wakes, make(chan struct{}, 1))
	}
	return d
}

// wake tells idle workers that a message may be claimable. It never blocks.
func (d *Dispatcher) wake() {
	for _, w := range d.wakes {
		signal(w)
	}
}

// wakeOthers wakes every worker but self's.
func (d *Dispatcher) wakeOthers(self int) {
	for i, w := range d.wakes {
		if i != self {
			signal(w)
		}
	}
}

// signal sends on a channel of capacity 1 unless a value already waits.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run runs a sender and a receiver per modem and the periodic maintenance
// until ctx ends. A send in flight then finishes (it is bounded by the send
// timeout) and is recorded before Run returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	// The store signals every commit that made a message claimable: an
	// enqueue, and a retry, release or recovered claim that another modem
	// may now take. Workers sleep on that, never polling.
	commits, unsubscribe := d.store.Subscribe()
	defer unsubscribe()
	var wg sync.WaitGroup
	forward(ctx, &wg, func() <-chan struct{} { return commits }, func() {
		d.wake()
		signal(d.touched)
	})
	for _, m := range d.modems {
		// A modem that goes down or comes up changes which messages the
		// others may take (routes, retries elsewhere): every worker looks.
		forward(ctx, &wg, m.Changed, d.wake)
	}
	for i, m := range d.modems {
		w := &worker{d: d, i: i, m: m, wake: d.wakes[i], route: d.opts.Routes[m.ID()], log: d.log.With("modem", m.ID())}
		wg.Add(3)
		go func() { defer wg.Done(); w.sendLoop(ctx) }()
		go func() { defer wg.Done(); w.receiveLoop(ctx) }()
		go func() { defer wg.Done(); d.logModemStates(ctx, m) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); d.maintain(ctx) }()
	// On this goroutine, which would otherwise only wait: one stack
	// fewer for the idle daemon to keep.
	d.prune(ctx)
	wg.Wait()
	return nil
}

// forward calls f each time the channel that next returns is ready, until
// ctx ends.
func forward(ctx context.Context, wg *sync.WaitGroup, next func() <-chan struct{}, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-next():
				f()
			}
		}
	}()
}

// peers are the modems other than self that can send now (ready and not
// waiting for their rate limit), with their routes: the claim rule of
// queue.ClaimRequest decides from them what self may take.
func (d *Dispatcher) peers(self int) []queue.Peer {
	var out []queue.Peer
	now := time.Now()
	for i, m := range d.modems {
		if i == self || !canSend(m) || d.limited[i].Load() > now.UnixNano() {
			continue
		}
		out = append(out, queue.Peer{Modem: m.ID(), Routes: d.opts.Routes[m.ID()].Prefixes})
	}
	return out
}

// canSend reports whether m can send now. Any state but ready (starting,
// not registered, disconnected, a SIM error, one added later) cannot.
func canSend(m Modem) bool { return m.Status().State == modem.StateReady }

type worker struct {
	d     *Dispatcher
	i     int // index in d.modems
	m     Modem
	wake  chan struct{}
	route Route
	log   *slog.Logger
	next  time.Time // rate limit: earliest time of the next part; see limited
	// sending is held from the start of a part's AT+CMGS until its
	// message reference is on disk. A status report can arrive right after
	// +CMGS answers; the receiver takes sending before matching one, so that
	// the part it reports on is recorded by then.
	sending sync.Mutex
}

package modemsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"bridged/pdu"
)

// The simulator's numbers are in the North American range 555-0100 to
// 555-0199, set aside for fiction, under area code 201: libphonenumber,
// and so bridged's API, accepts them as valid, which the 555-0000 numbers
// outside that range and the UK's drama ranges are not.

// EchoNumber is the built-in echo phone: whatever is sent to it comes back
// to the sender as "Echo: <text>", multipart joined first.
const EchoNumber = "+12015550199"

// DefaultSMSC is the service centre number the network's modems report.
const DefaultSMSC = "+12015550100"

// DefaultAckTimeout is how long the network waits for +CNMA: about the
// relay timer TR2M of TS 24.011 (12-20 s).
const DefaultAckTimeout = 15 * time.Second

// ReportOutcome is what the network says in the status report of a sent
// message that asked for one.
type ReportOutcome int

// The outcomes of a status report.
const (
	// ReportDelivered reports TP-ST 0x00 once the message reached its
	// destination (for a simulated modem: once it stored or showed it).
	ReportDelivered ReportOutcome = iota
	// ReportFailed reports TP-ST 0x41 (incompatible destination, a
	// permanent error); a simulated destination does not get the message.
	ReportFailed
	// ReportNever sends no report at all, as happens on real networks.
	ReportNever
)

// reportOutcomeNames are the names ParseReportOutcome takes.
var reportOutcomeNames = map[string]ReportOutcome{
	"": ReportDelivered, "delivered": ReportDelivered, "failed": ReportFailed, "never": ReportNever,
}

// ParseReportOutcome maps "delivered", "failed" and "never" to an outcome.
func ParseReportOutcome(s string) (ReportOutcome, error) {
	return parseName(reportOutcomeNames, s, "report outcome", "delivered, failed or never")
}

// Options configure a Network. The zero value is what tests want: no
// latency, immediate reports that say delivered.
type Options struct {
	// Dir is where modems publish their paths; default os.TempDir().
	Dir string
	// SMSC is the service centre number; default DefaultSMSC.
	SMSC string
	// SendLatency is how long AT+CMGS takes to answer.
	SendLatency time.Duration
	// ReportDelay is how long after delivery a status report arrives.
	ReportDelay time.Duration
	// ReportOutcome is what status reports say.
	ReportOutcome ReportOutcome
	// AckTimeout is how long the network waits for +CNMA after a +CMT or
	// +CDS under AT+CSMS=1; default DefaultAckTimeout.
	AckTimeout time.Duration
	// EchoDelay is how long the echo phone takes to reply.
	EchoDelay time.Duration
	// Clock gives the service centre time stamps (TP-SCTS, TP-DT); default
	// time.Now. A fixed clock makes PDUs, and so transcripts, repeatable.
	Clock func() time.Time
	// Seed makes random send errors repeatable; 0 picks one.
	Seed uint64
	// Logger receives Debug logs of every command and fault; default
	// slog.Default().
	Logger *slog.Logger
	// KeepSent bounds how many of the parts that left the network Sent
	// keeps, dropping the oldest; 0 keeps them all, as a test wants. A
	// long-running simulator sets it so that its memory stays bounded.
	KeepSent int
}

// SentSMS is one SMS-SUBMIT part that left the virtual network: sent to a
// number no simulated modem has, or to the echo phone.
type SentSMS struct {
	From string // the sending modem's number
	To   string
	// MessageRef is the TP-MR the sending modem answered with +CMGS.
	MessageRef int
	// PDU is the SMS-SUBMIT as written after the prompt, with the modem's
	// TP-MR in it.
	PDU string
	// Message is PDU decoded; join multipart parts with pdu.Reassemble.
	Message *pdu.Message
	Time    time.Time
	// Seq numbers the parts that left the network, from 1, so that a
	// reader of a bounded Sent knows what it has seen.
	Seq int
}

// Network joins simulated modems: an SMS from one to another's number
// arrives there as an SMS-DELIVER; anything else is recorded in Sent.
type Network struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	modems  []*Modem
	added   int           // modems ever added, for default names
	sent    []SentSMS     // the last opts.KeepSent parts, or all
	total   int           // parts that ever left
	changed chan struct{} // closed and replaced when a part leaves
	ref     uint8         // concatenation reference for injected texts
	echo    map[string][]*pdu.Message
	timers  map[*time.Timer]bool
	closed  bool
}

// NewNetwork returns an empty network.
func NewNetwork(opts Options) *Network {
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	if opts.SMSC == "" {
		opts.SMSC = DefaultSMSC
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = DefaultAckTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Network{
		opts: opts, log: opts.Logger, changed: make(chan struct{}),
		echo: map[string][]*pdu.Message{}, timers: map[*time.Timer]bool{},
	}
}

// DefaultNumber is the number AddModem gives the nth modem of a network
// (from 0) that has none: "+120155501NN", NN being n+1.
func DefaultNumber(n int) string { return fmt.Sprintf("+120155501%02d", n+1) }

// AddModem plugs in a new modem and publishes its path. It fails if the
// pty cannot be opened, the path is taken by something other than a
// symlink, or the number or name is already in use.
func (n *Network) AddModem(cfg Config) (*Modem, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("add modem: network closed")
	}
	i := n.added
	n.added++
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("sim%d", i)
	}
	if cfg.Number == "" {
		cfg.Number = DefaultNumber(i)
	}
	for _, o := range n.modems {
		if o.cfg.Name == cfg.Name || sameNumber(o.cfg.Number, cfg.Number) {
			n.mu.Unlock()
			return nil, fmt.Errorf("add modem %s: name or number %s already in use", cfg.Name, cfg.Number)
		}
	}
	if sameNumber(cfg.Number, EchoNumber) {
		n.mu.Unlock()
		return nil, fmt.Errorf("add modem %s: %s is the echo phone", cfg.Name, cfg.Number)
	}
	n.mu.Unlock()

	fill := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	fill(&cfg.Path, filepath.Join(n.opts.Dir, "bridged-"+cfg.Name))
	fill(&cfg.Manufacturer, "Bridged")
	fill(&cfg.Model, "SimModem")
	fill(&cfg.Revision, "SIM1.0")
	fill(&cfg.IMEI, fmt.Sprintf("35000000%07d", i+1))
	fill(&cfg.IMSI, fmt.Sprintf("00101%010d", i+1))
	fill(&cfg.ICCID, fmt.Sprintf("8900101%012d", i+1))
	fill(&cfg.Operator, "Bridged Sim")
	fill(&cfg.Balance, "Your balance is 12.34 USD.")
	if cfg.Signal <= 0 || cfg.Signal > 31 {
		cfg.Signal = 20
	}
	if cfg.SMCapacity <= 0 {
		cfg.SMCapacity = DefaultSMCapacity
	}
	if cfg.MECapacity <= 0 {
		cfg.MECapacity = DefaultMECapacity
	}
	seed := n.opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	m := &Modem{
		net: n, cfg: cfg, path: cfg.Path,
		log:     n.log.With(logModem, cfg.Name),
		reg:     RegHome,
		mr:      cfg.MessageRef,
		changed: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(seed, uint64(i))),
	}
	m.storages = map[string]*storage{
		"SM": newStorage("SM", cfg.SMCapacity, m.changedLocked),
		"ME": newStorage("ME", cfg.MECapacity, m.changedLocked),
	}
	if cfg.ReportMemory {
		m.storages["SR"] = newStorage("SR", DefaultSMCapacity, m.changedLocked)
	}
	if err := m.plugIn(); err != nil {
		return nil, fmt.Errorf("add modem %s: %w", cfg.Name, err)
	}
	n.mu.Lock()
	n.modems = append(n.modems, m)
	n.mu.Unlock()
	return m, nil
}

// SetReports changes the outcome and delay of status reports for messages
// sent from now on (Options.ReportOutcome and Options.ReportDelay).
func (n *Network) SetReports(outcome ReportOutcome, delay time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.ReportOutcome, n.opts.ReportDelay = outcome, delay
}

// Modems returns the modems in the order they were added.
func (n *Network) Modems() []*Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Modem(nil), n.modems...)
}

// Modem returns the modem with the given name, or nil.
func (n *Network) Modem(name string) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.modems {
		if m.cfg.Name == name {
			return m
		}
	}
	return nil
}

// Close closes every modem and stops pending reports. It returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	for t := range n.timers {
		t.Stop()
	}
	n.timers = nil
	modems := append([]*Modem(nil), n.modems...)
	n.mu.Unlock()
	for _, m := range modems {
		m.Close()
	}
	return nil
}

func (n *Network) remove(m *Modem) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, o := range n.modems {
		if o == m {
			n.modems = append(n.modems[:i], n.modems[i+1:]...)
			return
		}
	}
}

// Sent returns the parts that left the network so far (the last
// Options.KeepSent of them when that is set), oldest first.
func (n *Network) Sent() []SentSMS {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]SentSMS(nil), n.keptLocked()...)
}

// keptLocked returns the parts Sent returns, not copied: the caller copies
// what it hands out.
func (n *Network) keptLocked() []SentSMS {
	kept := n.sent
	if k := n.opts.KeepSent; k > 0 && len(kept) > k {
		kept = kept[len(kept)-k:]
	}
	return kept
}

// SentAfter returns the kept parts whose Seq is greater than seq, oldest
// first, so that a reader can follow what leaves the network with a cursor
// and see by the first Seq returned whether KeepSent dropped some it had
// not read yet.
func (n *Network) SentAfter(seq int) []SentSMS {
	n.mu.Lock()
	defer n.mu.Unlock()
	kept := n.keptLocked()
	// Seq grows by one per part, so the first wanted part's index is known.
	i := 0
	if len(kept) > 0 {
		i = min(max(seq-kept[0].Seq+1, 0), len(kept))
	}
	return append([]SentSMS(nil), kept[i:]...)
}

// SentTotal returns how many parts ever left the network, kept or not.
func (n *Network) SentTotal() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.total
}

// WaitSent waits until at least count parts have left the network and
// returns them as Sent does. It returns ctx's error if that does not happen
// first.
func (n *Network) WaitSent(ctx context.Context, count int) ([]SentSMS, error) {
	for {
		n.mu.Lock()
		if n.total >= count {
			out := append([]SentSMS(nil), n.keptLocked()...)
			n.mu.Unlock()
			return out, nil
		}
		ch := n.changed
		n.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d sent messages: %w", count, ctx.Err())
		}
	}
}

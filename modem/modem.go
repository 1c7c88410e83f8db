package modem

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"

	"bridged/pdu"
)

// Defaults for Config fields left zero: the port and the memory read.
const (
	DefaultBaud    = 115200
	DefaultStorage = "SM"
)

// Defaults for how long the driver waits for an answer.
const (
	DefaultCommandTimeout      = 5 * time.Second
	DefaultSendTimeout         = 60 * time.Second
	DefaultRegistrationTimeout = 2 * time.Minute
)

// Defaults for how often the driver looks again by itself.
const (
	DefaultHealthInterval = 2 * time.Minute
	DefaultSweepInterval  = 10 * time.Minute
	DefaultReconnectMax   = 10 * time.Second
)

// Config says where a modem is and how to drive it. Only Device is required.
type Config struct {
	// ID names the modem in logs, the queue and the API; default Device.
	ID string
	// Device is the serial port. Prefer /dev/serial/by-id/... : the name
	// survives re-enumeration after an unplug, /dev/ttyUSBn does not.
	Device string
	Baud   int
	// PIN is entered when the SIM asks for one. A wrong PIN is never tried
	// twice, across restarts too (see PINJournal): three wrong tries block
	// the SIM.
	PIN string
	// PINJournal remembers PIN attempts durably; nil means for as long as
	// the Modem lives (NewMemoryPINJournal).
	PINJournal PINJournal
	// SMSC overrides the SIM's service centre number (AT+CSCA).
	SMSC string
	// Storage is the memory received messages are stored in and read from
	// ("SM" the SIM, "ME" the modem, "MT" both).
	Storage string
	// CommandTimeout bounds every AT command but AT+CMGS.
	CommandTimeout time.Duration
	// SendTimeout bounds one AT+CMGS, network round trip included.
	SendTimeout time.Duration
	// HealthInterval is how often signal strength is read. Registration
	// changes come from the modem's own +CREG/+CGREG URCs.
	HealthInterval time.Duration
	// SweepInterval is how often stored messages are listed, in case an
	// indication was lost. Every reconnect sweeps too.
	SweepInterval time.Duration
	// RegistrationTimeout is how long start-up waits for the network
	// before it reports the modem as not registered (it keeps waiting).
	RegistrationTimeout time.Duration
	// ReconnectMax caps the backoff between attempts to reopen the port.
	ReconnectMax time.Duration
	// Quirks names a profile from the quirks table; empty means "generic".
	Quirks string
	// Direct routes new messages straight to bridged (+CMT) instead of
	// through the SIM (+CMTI). The SIM never fills, but a message is only
	// safe if the modem supports AT+CNMA (phase 2+): without it the modem
	// acknowledges by itself and a crash before storing loses the message,
	// so Direct then falls back to storing, with a warning.
	Direct bool
	// CNMI, when set, is the AT+CNMI parameters to use ("2,1,0,2,0"),
	// for a modem the quirks table does not know.
	CNMI   string
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ID == "" {
		c.ID = c.Device
	}
	orDefault(&c.Baud, DefaultBaud)
	orDefault(&c.Storage, DefaultStorage)
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.CommandTimeout, DefaultCommandTimeout}, {&c.SendTimeout, DefaultSendTimeout},
		{&c.HealthInterval, DefaultHealthInterval}, {&c.SweepInterval, DefaultSweepInterval},
		{&c.RegistrationTimeout, DefaultRegistrationTimeout}, {&c.ReconnectMax, DefaultReconnectMax},
	} {
		orDefault(d.v, d.def)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PINJournal == nil {
		c.PINJournal = NewMemoryPINJournal()
	}
	return c
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// State is a modem's condition as the API reports it.
type State string

// The states of a modem that answers: it is being set up, can send, or
// waits for the network.
const (
	StateStarting      State = "starting"
	StateReady         State = "ready"
	StateNotRegistered State = "not-registered"
)

// The states of a modem that cannot be used until something changes: a
// person acts on the SIM, the port comes back, the modem answers again.
const (
	StateSIMError     State = "sim-error"
	StateDisconnected State = "disconnected"
	// StateUnresponsive: the port is open but the modem does not answer
	// (a command is overdue, see watchdog), or it stopped answering and
	// the port is being reopened. Nothing is sent through it meanwhile.
	StateUnresponsive State = "unresponsive"
)

// Status is a snapshot of a modem.
type Status struct {
	ID, Device                                       string
	State                                            State
	Manufacturer, Model, Revision, IMEI, IMSI, ICCID string
	Operator                                         string
	Registration                                     Registration
	SignalDBm                                        *int
	Storage                                          string
	StorageUsed, StorageTotal                        int
	// LastError is the last problem the modem had and LastErrorAt when;
	// it stays after the modem recovers, so compare with Since.
	LastError              string
	LastErrorAt            time.Time
	Sent, Failed, Received int64
	Since                  time.Time // when State last changed

	// PINAttemptsLeft is how many PIN attempts the SIM said it had left when
	// it last asked for its PIN; nil when unknown or since unlocked.
	PINAttemptsLeft *int
}

// Errors a caller can match.
var (
	// ErrNotReady: the modem cannot send now (starting, not registered,
	// disconnected); the message should wait or go through another modem.
	ErrNotReady = errors.New("modem not ready")
	// ErrWrongPIN: the SIM refused the configured PIN, now or at an earlier
	// start, or may have (an attempt without an answer). The modem stays in
	// StateSIMError and does not enter that PIN again until
	// ClearPINRefusal.
	ErrWrongPIN = errors.New("SIM refused the PIN")
	// ErrSIM: the SIM needs a PIN that is not configured, a PUK, or is absent.
	ErrSIM = errors.New("SIM not usable")
)

// Inbound is a message or status report the modem received, decoded once
// (pdu.Received says what it carries and where the modem holds it). The
// caller stores it durably and then calls Ack, which deletes it from the
// modem's memory (or acknowledges a directly routed one with AT+CNMA).
// Without an Ack it stays on the SIM and is handed over again by the next
// sweep.
type Inbound struct {
	pdu.Received

	m *Modem
}

// Ack tells the modem the caller has stored the message, so it may be
// deleted. It fails when the modem is not connected; the message then stays
// on the SIM and comes again with the next sweep, for the caller to dedupe.
func (in *Inbound) Ack(ctx context.Context) error {
	return in.m.request(ctx, func(s *session) error { return s.ack(in) })
}

// Modem drives one modem. Create it with New and start it with Run.
type Modem struct {
	cfg     Config
	log     *slog.Logger
	quirks  quirks
	inbound chan *Inbound
	reqs    chan func(*session)

	journal PINJournal
	// pinRetry wakes a Run stopped by a PIN refusal: ClearPINRefusal.
	pinRetry chan struct{}

	mu      sync.Mutex // guards status and changed
	status  Status
	changed chan struct{} // closed and replaced when status.State changes

	sent, failed, received atomic.Int64
	// serving is the open channel of the session taking requests, closed
	// when it stops; nil while none is (port closed or initialising).
	serving atomic.Pointer[chan struct{}]
}

// New returns a Modem for cfg; nothing is opened until Run.
func New(cfg Config) *Modem {
	cfg = cfg.withDefaults()
	m := &Modem{
		cfg:     cfg,
		log:     cfg.Logger.With("modem", cfg.ID),
		quirks:  lookupQuirks(cfg.Quirks),
		inbound: make(chan *Inbound, 64),
		reqs:    make(chan func(*session)),
		changed: make(chan struct{}),

		journal:  cfg.PINJournal,
		pinRetry: make(chan struct{}, 1),
	}
	m.status = Status{ID: cfg.ID, Device: cfg.Device, State: StateStarting, Storage: cfg.Storage, Since: time.Now()}
	return m
}

// ID returns the modem's configured ID.
func (m *Modem) ID() string { return m.cfg.ID }

// Inbound returns the stream of received messages and status reports, in
// the order the driver read them.
func (m *Modem) Inbound() <-chan *Inbound { return m.inbound }

// Changed returns a channel that is closed at the next change of State,
// so that any number of waiters (a dispatcher, the API, a test) wake when
// the modem becomes ready. Take the channel before reading Status, so that
// a change in between is not missed.
func (m *Modem) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Status returns a snapshot of the modem.
func (m *Modem) Status() Status {
	m.mu.Lock()
	s := m.status
	m.mu.Unlock()
	s.Sent, s.Failed, s.Received = m.sent.Load(), m.failed.Load(), m.received.Load()
	return s
}

func (m *Modem) update(f func(*Status)) {
	m.mu.Lock()
	old := m.status.State
	f(&m.status)
	if m.status.State != old {
		m.status.Since = time.Now()
		close(m.changed)
		m.changed = make(chan struct{})
	}
	m.mu.Unlock()
}

func (m *Modem) setState(st State, lastErr error) {
	m.update(func(s *Status) {
		s.State = st
		if lastErr != nil {
			s.LastError, s.LastErrorAt = lastErr.Error(), time.Now()
		}
	})
}

// request runs f on the goroutine that owns the port and returns its error,
// or ErrNotReady when no session is serving (port closed or initialising).
func (m *Modem) request(ctx context.Context, f func(*session) error) error {
	gone := m.serving.Load()
	if gone == nil {
		return ErrNotReady
	}
	done := make(chan error, 1)
	select {
	case m.reqs <- func(s *session) { done <- f(s) }:
	case <-*gone:
		// The session ended before taking the request (shutdown, unplug):
		// the request was not run.
		return ErrNotReady
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The command still runs to its own timeout; its result is dropped.
		return ctx.Err()
	}
}

// Send sends one part (an SMS-SUBMIT PDU from pdu.Submit.Encode) and
// returns the message reference the network assigned. On failure the error
// is a *SendError that says whether trying again makes sense; ErrNotReady
// (wrapped in a transient SendError) when the modem cannot send now.
func (m *Modem) Send(ctx context.Context, part pdu.Part) (int, error) {
	var mr int
	err := m.request(ctx, func(s *session) error {
		var err error
		mr, err = s.send(part)
		return err
	})
	if err != nil {
		m.failed.Add(1)
		var se *SendError
		if errors.Is(err, ErrNotReady) && !errors.As(err, &se) {
			return 0, &SendError{Code: -1, Transient: true, Reason: "modem " + m.cfg.ID + " is not ready", Err: err}
		}
		return 0, classifySendErr(err)
	}
	m.sent.Add(1)
	return mr, nil
}

// Run drives the modem until ctx ends: it opens the port, initialises the
// modem, serves sends and acknowledgements, reads what arrives, and reopens
// the port with backoff whenever it fails or disappears. It returns nil when
// ctx ends, or ErrSIM when the SIM cannot be used (a person must act). After
// a PIN refusal (ErrWrongPIN, ErrLastPINAttempt) it stays in StateSIMError
// until ClearPINRefusal, then tries again; it returns that error if ctx ends
// first.
func (m *Modem) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	var last string // the previous failure, so that a repeat is not logged each time
	repeats := 0
	for {
		select {
		case <-m.pinRetry: // a clear before this session is seen by it
		default:
		}
		start := time.Now()
		err := m.runSession(ctx)
		if ctx.Err() != nil {
			m.setState(StateDisconnected, nil)
			return nil
		}
		refused := errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrLastPINAttempt)
		if refused || errors.Is(err, ErrSIM) {
			m.setState(StateSIMError, err)
			m.log.Error("modem stopped: SIM needs attention", "err", err)
			if !refused {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-m.pinRetry:
				m.log.Info("PIN refusal cleared; starting the modem again")
				backoff, last = 100*time.Millisecond, ""
				continue
			}
		}
		if errors.Is(err, ErrUnresponsive) || errors.Is(err, at.ErrDeadlineExceeded) {
			// The port opened but the modem did not answer: it is there,
			// not unplugged, and stays unresponsive until it answers.
			m.setState(StateUnresponsive, err)
		} else {
			m.setState(StateDisconnected, err)
		}
		if time.Since(start) > 30*time.Second {
			backoff = 100 * time.Millisecond // it ran for a while: a fresh failure
			last = ""
		}
		// A modem left unplugged fails the same way every ReconnectMax:
		// say so once, then about every ten minutes.
		if msg := err.Error(); msg != last {
			last, repeats = msg, 0
			m.log.Warn("modem disconnected; reopening", "err", err, "in", backoff)
		} else if repeats++; repeats%60 == 0 {
			m.log.Warn("modem still disconnected", "err", err, "attempts", repeats+1)
		} else {
			m.log.Debug("modem still disconnected", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.cfg.ReconnectMax)
	}
}

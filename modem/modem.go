package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial"

	"bridged/pdu"
)

// Defaults for Config fields left zero.
const (
	DefaultBaud                = 115200
	DefaultStorage             = "SM"
	DefaultCommandTimeout      = 5 * time.Second
	DefaultSendTimeout         = 60 * time.Second
	DefaultHealthInterval      = 2 * time.Minute
	DefaultSweepInterval       = 10 * time.Minute
	DefaultRegistrationTimeout = 2 * time.Minute
	DefaultReconnectMax        = 10 * time.Second
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
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.Storage == "" {
		c.Storage = DefaultStorage
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.RegistrationTimeout == 0 {
		c.RegistrationTimeout = DefaultRegistrationTimeout
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PINJournal == nil {
		c.PINJournal = NewMemoryPINJournal()
	}
	return c
}

// State is a modem's condition as the API reports it.
type State string

// The states of a modem.
const (
	StateStarting      State = "starting"
	StateReady         State = "ready"
	StateNotRegistered State = "not-registered"
	StateSIMError      State = "sim-error"
	StateDisconnected  State = "disconnected"
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

// session is one open port and the AT engine on it. Its methods run only
// on the goroutine of runSession, which owns the port.
type session struct {
	ctx  context.Context
	m    *Modem
	port serial.Port
	at   *at.AT
	w    *watchdog
	urcs chan []string
	// overflow is set when a URC was dropped because urcs was full (a
	// flood): the next loop turn sweeps storage instead.
	overflow atomic.Bool
	// unread is set when an indicated message could not be read (the
	// command timed out or failed): the next loop turn sweeps, instead of
	// leaving it on the SIM until the sweep interval (ten minutes) or a
	// reconnect.
	unread bool
	// cnma is true when directly routed messages need AT+CNMA (AT+CSMS=1
	// was accepted, TS 27.005 3.4.4).
	cnma bool
	// handed holds the storage slots handed over and not yet acknowledged,
	// so that a sweep does not hand them over twice.
	handed map[string]bool
	// reading is the memory AT+CMGR/CMGD/CMGL act on (<mem1> of AT+CPMS).
	reading string
	// reports is "SR" when the modem keeps status reports in a memory of
	// their own, which the sweep then lists too.
	reports string
	// lost is set when the re-sync after a timeout got no answer either:
	// commands then fail at once and the session ends (see hung).
	lost error
	// reg holds the last state of each registration URC (+CREG, +CGREG,
	// +CEREG); the modem can send when any of them is registered.
	reg map[string]Registration
}

func (m *Modem) runSession(ctx context.Context) error {
	m.update(func(st *Status) {
		// A modem that stopped answering stays unresponsive until it
		// answers again (see alive), not "starting" at each reopen.
		if st.State != StateUnresponsive {
			st.State = StateStarting
		}
	})
	port, err := serial.Open(m.cfg.Device, &serial.Mode{BaudRate: m.cfg.Baud})
	if err != nil {
		return fmt.Errorf("open %s: %w", m.cfg.Device, err)
	}
	defer port.Close()
	s := &session{
		ctx:    ctx,
		m:      m,
		port:   port,
		urcs:   make(chan []string, 256),
		handed: map[string]bool{},
		reg:    map[string]Registration{},
	}
	// No read timeout: the AT engine treats a timed-out read as the end of
	// the stream (shared/LIBRARIES.md). Closing the port is the cancel.
	s.w = &watchdog{m: m, port: port}
	s.at = at.New(s.w, at.WithTimeout(m.cfg.CommandTimeout))
	for _, u := range []struct {
		prefix string
		lines  int
	}{{"+CMTI:", 0}, {"+CMT:", 1}, {"+CDSI:", 0}, {"+CDS:", 1}, {"+CREG:", 0}, {"+CGREG:", 0}, {"+CEREG:", 0}} {
		if err := s.at.AddIndication(u.prefix, s.onURC, at.WithTrailingLines(u.lines)); err != nil {
			return fmt.Errorf("register %s: %w", u.prefix, err)
		}
	}
	if err := s.init(ctx); err != nil {
		return err
	}
	gone := make(chan struct{})
	m.serving.Store(&gone)
	defer func() {
		m.serving.Store(nil)
		close(gone)
	}()
	return s.serve(ctx)
}

// onURC runs on the AT engine's goroutines, one per indication, so it only
// queues the lines for the session goroutine. Order between two URCs is not
// guaranteed by the engine; nothing here depends on it (see serve).
func (s *session) onURC(lines []string) {
	select {
	case s.urcs <- lines:
	default:
		s.overflow.Store(true)
	}
}

// cmd runs one AT command with the command timeout.
func (s *session) cmd(c string) ([]string, error) {
	lines, err := s.command(c)
	if err != nil {
		// The command text of +CPIN="..." is the PIN: print it masked.
		return lines, fmt.Errorf("AT%s: %w", maskCommand(c), err)
	}
	return lines, nil
}

// command runs one AT command under the watchdog. Every command the
// session issues goes through here (or through send), so that an answer
// of any kind, even ERROR, marks the modem alive and a timeout marks it
// unresponsive.
func (s *session) command(c string, opts ...at.CommandOption) ([]string, error) {
	if s.lost != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnresponsive, s.lost)
	}
	seq := s.w.begin(c, false)
	lines, err := s.at.Command(c, opts...)
	s.w.end(seq)
	s.answered(c, err, true)
	return lines, err
}

// answered notes the outcome of a command: any answer means the modem is
// alive; a timeout makes it unresponsive and, with resync, re-syncs.
func (s *session) answered(c string, err error, resync bool) {
	switch {
	case errors.Is(err, at.ErrDeadlineExceeded):
		s.m.markUnresponsive(fmt.Errorf("AT%s: no answer in time", c))
		if resync {
			s.resync()
		}
	case errors.Is(err, at.ErrClosed), errors.Is(err, ErrUnresponsive):
	default:
		s.alive()
	}
}

// quietTime is how long the modem must stay silent after a re-sync before
// the next command is written.
const quietTime = 200 * time.Millisecond

// resync follows a command that went unanswered: ESC cancels a pending
// prompt, and a bare AT checks that the modem answers at all. A modem that
// was only slow then prints the late answer to the timed-out command too,
// which the AT engine would take for the answer to the next one (an IMEI
// read as the SIM state, an OK ending an AT+CMGS before its prompt): so
// the next command waits until the modem has been quiet for quietTime, and
// the AT engine drops what comes meanwhile, with no command pending. When
// even the bare AT gets nothing, lost ends the session (hung), so that Run
// closes and reopens the port; a hung USB modem often needs the reopen.
func (s *session) resync() {
	s.at.Escape()
	// Not under the watchdog: the modem is unresponsive already, and this
	// AT has a short timeout of its own.
	_, err := s.at.Command("", at.WithTimeout(resyncTimeout))
	if errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed) {
		s.lost = err
		return
	}
	s.w.waitQuiet(s.ctx, quietTime, resyncTimeout)
	s.m.log.Info("modem answered again after a timeout")
	s.alive()
}

// alive ends an unresponsive state once the modem answers: back to what
// the registration says, or to starting while init still runs (reg fills
// only in serve, so it is empty until init succeeded).
func (s *session) alive() {
	s.m.update(func(st *Status) {
		if st.State != StateUnresponsive {
			return
		}
		st.State = StateStarting
		if len(s.reg) > 0 {
			st.State = StateNotRegistered
			if s.bestRegistration().Registered() {
				st.State = StateReady
			}
		}
	})
}

// init brings a modem from any state to ready (TS 27.005, 27.007).
func (s *session) init(ctx context.Context) error {
	m := s.m
	// Init escapes a pending "> " prompt, then ATZ and ATE0. A modem that
	// is booting answers late: give it a few tries.
	var err error
	for try := 0; try < 3; try++ {
		seq := s.w.begin("Z", false)
		err = s.at.Init()
		s.w.end(seq)
		// No re-sync: the next try escapes and resets anyway.
		s.answered("Z", err, false)
		if err == nil {
			if try > 0 {
				// Late answers to the tries that timed out (see resync).
				s.w.waitQuiet(ctx, quietTime, resyncTimeout)
			}
			break
		}
		if errors.Is(err, at.ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if err != nil {
		return fmt.Errorf("init: no answer to ATZ/ATE0: %w", err)
	}
	if _, err := s.cmd("+CMEE=1"); err != nil {
		m.log.Debug("numeric error codes not supported", "err", err)
	}
	s.identify()
	if err := s.unlockSIM(); err != nil {
		return err
	}
	if err := s.smsSetup(ctx); err != nil {
		return err
	}
	if l, err := s.cmd("+CIMI"); err == nil {
		m.update(func(st *Status) { st.IMSI = firstValue(l, "") })
	}
	// Registration URCs (TS 27.007 7.2): mode 1 prints "+CREG: <stat>" on
	// each change, which the handler tells apart from the answer to
	// AT+CREG? ("+CREG: <n>,<stat>") by its single field.
	s.cmd("+CREG=1")
	for _, c := range s.m.quirks.extraRegistration {
		s.cmd(c + "=1")
	}
	s.cmd("+CREG?")
	return nil
}

func (s *session) identify() {
	get := func(c, prefix string) string {
		l, err := s.cmd(c)
		if err != nil {
			return ""
		}
		return firstValue(l, prefix)
	}
	man := get("+CGMI", "+CGMI:")
	model := get("+CGMM", "+CGMM:")
	rev := get("+CGMR", "+CGMR:")
	imei := get("+CGSN", "+CGSN:")
	s.m.update(func(st *Status) { st.Manufacturer, st.Model, st.Revision, st.IMEI = man, model, rev, imei })
}

// firstValue returns the first informative line of an answer, without its
// "+XXX:" prefix when it has one: identification commands answer either way.
func firstValue(lines []string, prefix string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || isNoise(l) {
			continue
		}
		if prefix != "" {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
			if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "^") {
				continue
			}
		}
		return l
	}
	return ""
}

// smsSetup selects PDU mode, the message service, storage and indications.
// Right after a PIN some modems answer +CMS ERROR until "SMS Ready":
// retried for a few seconds.
func (s *session) smsSetup(ctx context.Context) error {
	m := s.m
	var err error
	for try := 0; try < 10; try++ {
		if _, err = s.cmd("+CMGF=0"); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("select PDU mode: %w", err)
	}
	// Phase 2+ (AT+CSMS=1) makes directly routed messages wait for our
	// AT+CNMA, so the network redelivers one we could not store. Modems
	// that refuse it keep phase 2, where the modem acknowledges by itself.
	_, err = s.cmd("+CSMS=1")
	s.cnma = err == nil
	mem := m.cfg.Storage
	l, err := s.cmd(fmt.Sprintf(`+CPMS="%s","%s","%s"`, mem, mem, mem))
	if err != nil {
		return fmt.Errorf("select storage %s: %w", mem, err)
	}
	s.reading = mem
	if l, err := s.cmd("+CPMS=?"); err == nil && hasReportMemory(l) && mem != "SR" {
		s.reports = "SR"
	}
	if used, total, ok := storageUse(l); ok {
		m.update(func(st *Status) { st.StorageUsed, st.StorageTotal = used, total })
	}
	if m.cfg.SMSC != "" {
		if _, err := s.cmd(fmt.Sprintf(`+CSCA="%s"`, m.cfg.SMSC)); err != nil {
			return fmt.Errorf("set SMSC %s: %w", m.cfg.SMSC, err)
		}
	}
	settings := m.quirks.cnmi
	switch {
	case m.cfg.CNMI != "":
		settings = []string{m.cfg.CNMI}
	case m.cfg.Direct && s.cnma:
		settings = []string{"2,2,0,2,0", "2,2,0,1,0", "1,2,0,1,0"}
	case m.cfg.Direct:
		m.log.Warn("modem cannot acknowledge direct messages (AT+CSMS=1 refused): storing them on the SIM instead")
	}
	var cnmiErr error
	for _, c := range settings {
		if _, cnmiErr = s.cmd("+CNMI=" + c); cnmiErr == nil {
			break
		}
	}
	if cnmiErr != nil {
		// Without indications new messages still arrive through the sweep.
		m.log.Warn("modem refused new-message indications; relying on the sweep", "err", cnmiErr)
	}
	return nil
}

// serve runs the session until the port fails or ctx ends.
func (s *session) serve(ctx context.Context) error {
	m := s.m
	health := time.NewTicker(m.cfg.HealthInterval)
	defer health.Stop()
	sweep := time.NewTicker(m.cfg.SweepInterval)
	defer sweep.Stop()
	regDeadline := time.NewTimer(m.cfg.RegistrationTimeout)
	defer regDeadline.Stop()
	// Read what arrived while nobody was listening before anything else.
	s.health()
	s.sweep()
	for {
		if flood := s.overflow.Swap(false); flood || s.unread {
			if flood {
				m.log.Warn("indication flood: dropped some, sweeping storage instead")
			} else {
				m.log.Info("sweeping storage for a message that could not be read")
			}
			s.unread = false
			s.sweep()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.at.Closed():
			if s.w.cutOff() {
				return fmt.Errorf("%w: no prompt for a send; reopening the port", ErrUnresponsive)
			}
			return errors.New("port closed (unplugged?)")
		case f := <-m.reqs:
			f(s)
		case lines := <-s.urcs:
			s.handleURC(lines)
		case <-health.C:
			s.health()
		case <-sweep.C:
			s.sweep()
		case <-regDeadline.C:
			if !m.Status().Registration.Registered() {
				m.log.Warn("still not registered with the network", "after", m.cfg.RegistrationTimeout)
			}
		}
		if err := s.hung(); err != nil {
			return err
		}
	}
}

// hung ends the session once a re-sync failed (see resync), so that Run
// closes and reopens the port and initialises the modem again.
func (s *session) hung() error {
	if s.lost == nil {
		return nil
	}
	return fmt.Errorf("%w (re-sync failed: %w); reopening the port", ErrUnresponsive, s.lost)
}

// health reads the signal and, while unknown, the operator.
func (s *session) health() {
	l, err := s.cmd("+CSQ")
	if err != nil {
		return
	}
	dbm, ok := signalDBm(l)
	s.m.update(func(st *Status) {
		st.SignalDBm = nil
		if ok {
			st.SignalDBm = &dbm
		}
	})
}

func (s *session) refreshOperator() {
	if l, err := s.cmd("+COPS?"); err == nil {
		op := operatorName(l)
		s.m.update(func(st *Status) { st.Operator = op })
	}
}

// setRegistration records a registration state and the State it implies.
func (s *session) setRegistration(r Registration) {
	m := s.m
	prev := m.Status().Registration
	m.update(func(st *Status) {
		st.Registration = r
		if st.State == StateStarting || st.State == StateReady || st.State == StateNotRegistered {
			st.State = StateNotRegistered
			if r.Registered() {
				st.State = StateReady
			}
		}
	})
	if r != prev {
		m.log.Info("registration", "state", string(r))
		if r.Registered() {
			s.refreshOperator()
		}
	}
}

func (s *session) handleURC(lines []string) {
	m := s.m
	u := parseURC(lines)
	switch u.kind {
	case urcBad:
		m.log.Warn(u.why, "lines", lines)
	case urcStored:
		s.readStored(u.mem, u.index)
	case urcDirect:
		s.handOver(u.pdu, "", -1)
	case urcRegistration:
		s.reg[u.prefix] = u.reg
		s.setRegistration(s.bestRegistration())
	}
}

// bestRegistration is the most useful of the registrations seen: a modem
// registered on any domain can send SMS.
func (s *session) bestRegistration() Registration {
	best := RegUnknown
	rank := map[Registration]int{RegHome: 5, RegRoaming: 4, RegSearching: 3, RegDenied: 2, RegNotRegistered: 1}
	for _, r := range s.reg {
		if rank[r] > rank[best] {
			best = r
		}
	}
	return best
}

// readStored reads one stored message or report and hands it over.
func (s *session) readStored(mem string, idx int) {
	key := mem + ":" + strconv.Itoa(idx)
	if s.handed[key] {
		return
	}
	if err := s.selectReading(mem); err != nil {
		s.m.log.Warn("cannot select storage", "storage", mem, "index", idx, "err", err)
		s.unread = true
		return
	}
	l, err := s.cmd(fmt.Sprintf("+CMGR=%d", idx))
	if err != nil {
		s.m.log.Warn("read stored message", "storage", mem, "index", idx, "err", err)
		s.unread = true
		return
	}
	st, ok := parseCMGR(l, idx)
	if !ok {
		return // empty slot: already deleted
	}
	s.handOverStored(mem, st)
}

func (s *session) handOverStored(mem string, st stored) {
	if st.stat == 2 || st.stat == 3 {
		return // our own unsent/sent messages, not inbound
	}
	s.handed[mem+":"+strconv.Itoa(st.index)] = true
	s.handOver(st.pdu, mem, st.index)
}

// handOver decodes a PDU, the one time it is decoded, and queues it for the
// caller.
func (s *session) handOver(hexPDU, mem string, idx int) {
	m := s.m
	in := &Inbound{Received: pdu.DecodeReceived(m.cfg.ID, hexPDU, mem, idx), m: m}
	if in.DecodeErr != nil {
		m.log.Warn("received a PDU that does not decode; handing it over raw", "storage", mem, "index", idx, "err", in.DecodeErr)
	}
	m.received.Add(1)
	// Waiting here holds up reading, which is the right pressure: the
	// caller is the durable store. Requests are served meanwhile, since the
	// caller's Ack of an earlier message may be what it is waiting on.
	for {
		select {
		case m.inbound <- in:
			return
		case f := <-m.reqs:
			f(s)
		case <-s.at.Closed():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// sweep lists every stored message (AT+CMGL=4, TS 27.005 3.4.2) so that
// nothing that arrived while bridged was down, or whose indication was
// lost, stays on the SIM.
func (s *session) sweep() {
	s.sweepMemory(s.m.cfg.Storage)
	if l, err := s.cmd("+CPMS?"); err == nil {
		if used, total, ok := storageUse(l); ok {
			s.m.update(func(st *Status) { st.StorageUsed, st.StorageTotal = used, total })
		}
	}
	if s.reports != "" {
		// Reports stored while bridged was down would otherwise stay there:
		// +CDSI only announces the ones that arrive while it listens.
		s.sweepMemory(s.reports)
	}
}

// sweepMemory lists one memory and hands over what was not handed over yet.
func (s *session) sweepMemory(mem string) {
	if err := s.selectReading(mem); err != nil {
		s.m.log.Warn("sweep: select storage", "err", err)
		return
	}
	l, err := s.command("+CMGL=4", at.WithTimeout(max(s.m.cfg.CommandTimeout, 30*time.Second)))
	if err != nil {
		s.m.log.Warn("sweep: list messages", "err", err)
		return
	}
	// Slots handed over when the list was taken are skipped even if they
	// are acknowledged (deleted, and maybe filled with a new message)
	// while this loop hands over others (handOver serves acks): the listed
	// text of such a slot is the old message, already acknowledged, and
	// handing it over again would deliver it twice. (Its second ack would
	// delete nothing: ack checks that the slot still holds it.)
	wasHanded := maps.Clone(s.handed)
	for _, st := range parseCMGL(l) {
		key := mem + ":" + strconv.Itoa(st.index)
		if !wasHanded[key] && !s.handed[key] {
			s.handOverStored(mem, st)
		}
	}
}

func (s *session) selectReading(mem string) error {
	if mem == s.reading {
		return nil
	}
	if _, err := s.cmd(fmt.Sprintf(`+CPMS="%s"`, mem)); err != nil {
		return err
	}
	s.reading = mem
	return nil
}

// ack deletes a stored message or acknowledges a direct one.
func (s *session) ack(in *Inbound) error {
	if in.Direct() {
		if !s.cnma {
			return nil
		}
		_, err := s.cmd("+CNMA")
		var cms at.CMSError
		if errors.As(err, &cms) && string(cms) == "340" {
			// "No +CNMA acknowledgement expected" (TS 27.005 3.2.5): this
			// modem acknowledged it itself.
			return nil
		}
		return err
	}
	if err := s.selectReading(in.Storage); err != nil {
		return err
	}
	// The slot is read before it is deleted: an Inbound handed over twice
	// (by a sweep after a reconnect, which starts with nothing handed) is
	// acknowledged twice, and by the second time the slot may hold a new
	// message that nobody has read. Only the message handed over is
	// deleted.
	key := in.Storage + ":" + strconv.Itoa(in.Slot)
	l, err := s.cmd(fmt.Sprintf("+CMGR=%d", in.Slot))
	if err != nil {
		return err
	}
	st, ok := parseCMGR(l, in.Slot)
	if !ok {
		delete(s.handed, key) // already deleted
		return nil
	}
	if !strings.EqualFold(strings.TrimSpace(st.pdu), strings.TrimSpace(in.PDU)) {
		s.m.log.Info("slot holds another message by now; not deleting it", "storage", in.Storage, "index", in.Slot)
		return nil
	}
	// Whatever the outcome, the slot may be handed over again by a sweep:
	// if the delete failed, the message is still there to be acknowledged.
	delete(s.handed, key)
	_, err = s.cmd(fmt.Sprintf("+CMGD=%d", in.Slot))
	return err
}

// send writes one SMS-SUBMIT after the AT+CMGS prompt (TS 27.005 3.5.1).
func (s *session) send(part pdu.Part) (int, error) {
	st := s.m.Status().State
	if st != StateReady {
		return 0, &SendError{Code: -1, Transient: true, Reason: "modem " + s.m.cfg.ID + " is " + string(st), Err: ErrNotReady}
	}
	c := fmt.Sprintf("+CMGS=%d", part.Length)
	seq := s.w.begin(c, true)
	l, err := s.at.SMSCommand(c, part.PDU, at.WithTimeout(s.m.cfg.SendTimeout))
	pduSent := s.w.end(seq)
	s.answered(c, err, true)
	if !pduSent && (errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed)) {
		// No prompt, so the PDU never went out (the watchdog also refuses
		// its write once it gives up, see watchdog.Write): the message is
		// certainly not on the air and can go again, here or through
		// another modem, without a duplicate.
		why, cause := "gave no prompt for AT+CMGS", fmt.Errorf("%w: %w: %w", ErrNotReady, ErrUnresponsive, err)
		if errors.Is(err, at.ErrClosed) && !s.w.cutOff() {
			why, cause = "was disconnected before it asked for the message", fmt.Errorf("%w: %w", ErrNotReady, err)
		}
		return 0, &SendError{Code: -1, Transient: true, Reason: "modem " + s.m.cfg.ID + " " + why + "; the message was not sent", Err: cause}
	}
	if err != nil {
		return 0, err
	}
	if !pduSent {
		// A final result before the prompt that is no error: the answer
		// to something else, late (see resync). The modem may still prompt
		// and wait for a PDU: re-sync, and say the message did not go.
		s.resync()
		return 0, &SendError{Code: -1, Transient: true,
			Reason: "modem " + s.m.cfg.ID + " answered AT+CMGS without asking for the message; the message was not sent",
			Err:    fmt.Errorf("AT%s: answer %q without a prompt", c, l)}
	}
	mr, err := parseCMGS(l)
	if err != nil {
		return 0, &SendError{Code: -1, Transient: true, Reason: "sent, but the modem's answer had no message reference: " + err.Error(), Err: err}
	}
	return mr, nil
}

// resyncTimeout is how long a modem that missed a command gets to answer
// the bare AT of a re-sync, and how much longer than command_timeout an
// AT+CMGS waits for its prompt before the port is closed.
const resyncTimeout = 2 * time.Second

// ErrUnresponsive: the modem stopped answering. The session ends with it
// (wrapped) when a re-sync failed, and a send the modem never prompted for
// fails with it (the message was not sent).
var ErrUnresponsive = errors.New("modem not answering")

// watchdog watches the command in flight from beside the session, whose
// goroutine is blocked in that command and cannot report anything itself.
//
// The rule: a command is overdue when the modem has sent not one byte for
// command_timeout since the command was written (or since the modem's last
// byte, so a long AT+CMGL that keeps printing is not). AT+CMGS is the one
// command that is silent by design: once the modem has given its "> "
// prompt and the PDU is written, it waits for the network, as long as
// send_timeout, and nothing it prints tells a slow network from a hang. So
// a send is overdue only while it has no prompt; after the PDU its own
// timeout decides. An overdue command makes the modem unresponsive at once;
// an AT+CMGS still without a prompt resyncTimeout later is cut off by
// closing the port, since the PDU was never written and the message can
// safely go again, and the session ends as after a failed re-sync.
type watchdog struct {
	m    *Modem
	port serial.Port

	mu      sync.Mutex // guards the fields below; held by Write
	seq     uint64     // numbers commands, so a late timer finds its own
	cmd     string     // the command in flight, "" when none
	send    bool       // cmd is AT+CMGS
	start   time.Time  // when cmd was written
	lastRx  time.Time  // when the modem last sent a byte
	pduSent bool       // the PDU of the send in flight was written
	cut     bool       // the port was closed by the watchdog
	timer   *time.Timer
}

// Read and Write make the watchdog the port the AT engine drives.
func (w *watchdog) Read(p []byte) (int, error) {
	n, err := w.port.Read(p)
	if n > 0 {
		w.mu.Lock()
		w.lastRx = time.Now()
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchdog) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.cut {
		w.mu.Unlock()
		return 0, ErrUnresponsive
	}
	// Decided under mu, before the bytes go out: either the watchdog
	// gives up on the send first and its PDU is never written, or the PDU
	// counts as written and the watchdog leaves the send to send_timeout.
	// The write itself runs unlocked, since a wedged port may block it.
	if w.send && len(p) > 0 && p[len(p)-1] == 0x1a {
		w.pduSent = true // the PDU ends with Ctrl-Z (TS 27.005 3.5.1)
	}
	w.mu.Unlock()
	return w.port.Write(p)
}

// begin notes that cmd is about to be written, and returns its number.
func (w *watchdog) begin(cmd string, send bool) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	seq := w.seq
	w.cmd, w.send, w.start, w.pduSent = cmd, send, time.Now(), false
	w.timer = time.AfterFunc(w.m.cfg.CommandTimeout, func() { w.check(seq) })
	return seq
}

// end notes that command seq returned, and reports whether its PDU, if it
// is a send, was written.
func (w *watchdog) end(seq uint64) (pduSent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seq == seq {
		w.cmd = ""
		w.timer.Stop()
	}
	return w.pduSent
}

// waitQuiet returns once the modem has sent nothing for quiet, or after
// limit, or when ctx ends.
func (w *watchdog) waitQuiet(ctx context.Context, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		left := quiet - time.Since(w.lastRx)
		w.mu.Unlock()
		if left <= 0 || time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// cutOff reports whether the watchdog closed the port.
func (w *watchdog) cutOff() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cut
}

// check runs on a timer goroutine when command seq may be overdue.
func (w *watchdog) check(seq uint64) {
	w.mu.Lock()
	if w.seq != seq || w.cmd == "" || (w.send && w.pduSent) {
		w.mu.Unlock()
		return
	}
	timeout := w.m.cfg.CommandTimeout
	quiet := time.Since(w.start)
	if w.lastRx.After(w.start) {
		quiet = time.Since(w.lastRx)
	}
	cmd := w.cmd
	cut := w.send && quiet >= timeout+resyncTimeout
	switch {
	case cut:
		w.cut = true
	case quiet < timeout:
		w.timer = time.AfterFunc(timeout-quiet, func() { w.check(seq) })
	case w.send:
		w.timer = time.AfterFunc(timeout+resyncTimeout-quiet, func() { w.check(seq) })
	}
	if quiet >= timeout {
		// Under mu, so that end, and the recovery the session notes after
		// it, cannot come between this check and the mark.
		w.m.markUnresponsive(fmt.Errorf("no answer to AT%s for %s", cmd, quiet.Round(time.Millisecond)))
	}
	w.mu.Unlock()
	if cut {
		w.m.log.Warn("no prompt for a send; closing the port", "command", "AT"+cmd, "after", quiet.Round(time.Millisecond))
		w.port.Close()
	}
}

// markUnresponsive reports that the modem stopped answering, on any
// goroutine. A SIM error or a closed port is the stronger news and stays.
func (m *Modem) markUnresponsive(err error) {
	m.update(func(s *Status) {
		switch s.State {
		case StateReady, StateNotRegistered, StateStarting:
			s.State = StateUnresponsive
		}
		if s.State == StateUnresponsive {
			s.LastError, s.LastErrorAt = err.Error(), time.Now()
		}
	})
}

package modem

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial"
)

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

package modemsim

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"bridged/pdu"
)

// Registration is a network registration status as +CREG and +CGREG print
// it (TS 27.007 7.2, <stat>).
type Registration int

// The registration states a test can put a modem in.
const (
	RegNotRegistered Registration = 0 // not registered, not searching
	RegHome          Registration = 1
	RegSearching     Registration = 2
	RegDenied        Registration = 3
	RegRoaming       Registration = 5
)

// registrationNames are the names ParseRegistration takes.
var registrationNames = map[string]Registration{
	"": RegHome, "home": RegHome, "roaming": RegRoaming, "searching": RegSearching,
	"denied": RegDenied, "none": RegNotRegistered, "not-registered": RegNotRegistered,
}

// ParseRegistration maps "home", "roaming", "searching", "denied" and
// "none" to a Registration.
func ParseRegistration(s string) (Registration, error) {
	return parseName(registrationNames, s, "registration", "home, roaming, searching, denied or none")
}

// parseName looks s up in names, whatever its case; an unknown name is an
// error saying what was asked for and the choices.
func parseName[T any](names map[string]T, s, what, choices string) (T, error) {
	if v, ok := names[strings.ToLower(s)]; ok {
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("unknown %s %q (want %s)", what, s, choices)
}

// Config describes one simulated modem. Every field has a default.
type Config struct {
	// NoPhase2Plus makes AT+CSMS=1 fail with +CMS ERROR 303, as on modems
	// that support only SMS phase 2 and acknowledge +CMT themselves.
	NoPhase2Plus bool
	// ReportMemory gives the modem a status report memory "SR", where
	// reports go when AT+CNMI <ds> stores them, as on modems that keep
	// reports apart from messages. It can only be read, listed and deleted
	// from (<mem1> of AT+CPMS).
	ReportMemory bool
	// Name is how logs and "bridged sim" call the modem; default "simN"
	// for the Nth modem of the network, counting from 0.
	Name string
	// Number is the modem's phone number on the virtual network; default
	// "+120155501NN" with N one more than the modem's position.
	Number string
	// Path is where the pty's slave is published as a symlink; default
	// "bridged-NAME" in the network's Dir.
	Path string
	// PIN, when set, must be entered with AT+CPIN after every power-up
	// (start, replug, AT+CFUN=1,1). Three wrong tries lock the SIM until
	// AT+CPIN=PUK,NEWPIN with PUK "12345678".
	PIN string
	// NoPINCounter makes the modem refuse AT+CPINR, AT^CPIN? and
	// AT+QPINC: it does not tell how many PIN attempts the SIM has left.
	NoPINCounter bool
	// SMCapacity and MECapacity are the message slots of the SIM and of the
	// modem's memory; 0 means DefaultSMCapacity and DefaultMECapacity.
	SMCapacity, MECapacity int
	// Identity as +CGMI, +CGMM, +CGMR, +CGSN, +CIMI and +CCID print it.
	Manufacturer, Model, Revision, IMEI, IMSI, ICCID string
	// Operator is the network name +COPS? prints.
	Operator string
	// Signal is the <rssi> of +CSQ, 0-31; 0 means 20 (about -73 dBm).
	Signal int
	// Balance is the text of the answer to any USSD request (+CUSD).
	Balance string
	// MessageRef is the TP-MR the first AT+CMGS returns; it then counts up
	// and wraps from 255 to 0.
	MessageRef uint8
}

const defaultPUK = "12345678"

// cnmi holds the AT+CNMI settings (TS 27.005 3.4.1).
type cnmi struct{ mode, mt, bm, ds, bfr int }

// Defaults after power-up, a common factory setting: new messages stored
// and indicated with +CMTI, status reports stored without indication.
var defaultCNMI = cnmi{mode: 2, mt: 1}

// settings are what ATZ and a power-up reset (V.250 6.1.1).
type settings struct {
	echo        bool
	cmee        int
	csms        int
	cscs        string
	cnmi        cnmi
	creg, cgreg int
	mem1, mem2  string // read/list/delete, and write/send memories
	mem3        string // where received messages are stored
	cusd        int
}

func defaultSettings() settings {
	return settings{echo: true, cscs: "IRA", cnmi: defaultCNMI, mem1: "SM", mem2: "SM", mem3: "SM"}
}

// inbound is a message the network holds for this modem until it can take
// it: while unplugged, unregistered, or when its memory is full.
type inbound struct {
	part   pdu.Part
	report bool   // an SMS-STATUS-REPORT rather than an SMS-DELIVER
	class  int    // message class, -1 for none
	onDone func() // called once the modem has the message; may be nil
}

// Modem is one simulated modem. Its methods are safe for concurrent use.
type Modem struct {
	net  *Network
	cfg  Config
	path string
	log  *slog.Logger
	wg   sync.WaitGroup // reader and writer goroutines

	mu     sync.Mutex // guards the fields below
	link   *link      // nil while unplugged or closed
	closed bool
	replug *time.Timer

	set      settings
	fun      int  // +CFUN: 1 full, 0 minimum, 4 flight mode
	pinOK    bool // the SIM is unlocked
	pinTries int
	smsc     string
	reg      Registration // what the network would give; see registration()
	lastReg  Registration // last state reported by +CREG URCs
	storages map[string]*storage
	mr       uint8
	unacked  []*unacked // +CMT and +CDS awaiting +CNMA, oldest first
	pending  []inbound

	// pinEntries are the first parameters of every AT+CPIN=, oldest first,
	// at most maxPINEntries; pinHang makes AT+CPIN= hang (SetPINHang).
	pinEntries []string
	pinHang    bool

	// The command line being typed, and the +CMGS prompt state.
	line       []byte
	prompt     bool
	promptCmd  string // "+CMGS" or "+CMGW"
	promptLen  int
	promptStat int    // <stat> for +CMGW
	sendAct    func() // the send a +CMSS started, for commandLineLocked
	pduBuf     []byte

	changed chan struct{} // closed and replaced when storage or pending change

	hung     bool
	urcHold  bool     // a command is in progress: hold URCs
	holdBuf  []string // URCs held while urcHold
	taBuf    []string // SMS URCs buffered while +CNMI mode is 0
	inject   [][]byte // garbage or stray URCs for the middle of the next response
	afterFin []string // URCs that follow the current command's final result

	sendErrs   []int // scheduled +CMS ERROR codes for the next sends; 0 succeeds
	errRate    float64
	errCodes   []int
	rng        *rand.Rand
	latency    time.Duration
	latencySet bool

	// A stall (StallAt): the next command line containing stallOn starts
	// one of stallFor, during which output is kept in stallBuf.
	stallOn  string
	stallFor time.Duration
	stalled  bool
	stallBuf []byte
}

// Name returns the modem's name, such as "sim0".
func (m *Modem) Name() string { return m.cfg.Name }

// Number returns the modem's phone number on the virtual network.
func (m *Modem) Number() string { return m.cfg.Number }

// Path returns the symlink to open, like /dev/ttyUSB0 of a real modem.
func (m *Modem) Path() string { return m.path }

// Close unplugs the modem for good and removes its path. It returns nil;
// the error is there for io.Closer.
func (m *Modem) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	l := m.link
	m.link = nil
	if m.replug != nil {
		m.replug.Stop()
	}
	for _, u := range m.unacked {
		u.timer.Stop()
	}
	m.mu.Unlock()
	if l != nil {
		l.close()
	}
	m.wg.Wait()
	m.net.remove(m)
	return nil
}

// plugIn opens a new link and powers the modem up.
func (m *Modem) plugIn() error {
	l, err := openLink(m.path)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed || m.link != nil {
		m.mu.Unlock()
		l.close()
		return nil
	}
	m.link = l
	m.powerUpLocked()
	// Added under mu, so that Close, which sets closed under mu before it
	// waits, never waits while goroutines are still being added.
	m.wg.Add(2)
	m.mu.Unlock()
	go func() { defer m.wg.Done(); l.writer() }()
	go func() { defer m.wg.Done(); m.reader(l) }()
	m.log.Debug("plugged in", logPTS, l.ptsName)
	return nil
}

// powerUpLocked resets what a modem forgets when it loses power. Stored
// messages stay: they are on the SIM or in flash.
func (m *Modem) powerUpLocked() {
	m.set = defaultSettings()
	m.fun = 1
	m.pinOK = m.cfg.PIN == ""
	m.pinTries = 3
	m.smsc = m.net.opts.SMSC
	m.line, m.prompt, m.pduBuf = nil, false, nil
	m.hung, m.urcHold = false, false
	m.holdBuf, m.taBuf, m.afterFin = nil, nil, nil
	// Whatever was not acknowledged before the power went is still the
	// network's to deliver.
	m.requeueUnackedLocked()
	m.lastReg = m.registrationLocked()
	m.flushPendingLocked()
}

// pollInterval is how often the reader looks for a client while none has
// the port open (the master reads EIO then, and cannot block).
const pollInterval = 20 * time.Millisecond

// reader owns reads from the master.
func (m *Modem) reader(l *link) {
	buf := make([]byte, 4096)
	for {
		n, err := l.master.Read(buf)
		if n > 0 {
			m.feed(l, buf[:n])
		}
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			m.portClosed(l)
			select {
			case <-l.done:
				return
			case <-time.After(pollInterval):
			}
		}
	}
}

// portClosed runs while no client has the port open. Closing a serial port
// drops DTR (HUPCL), and with AT&D2, the usual default, a modem then leaves
// any prompt and forgets a half-typed line (V.250 6.2.9). A hang ends too.
func (m *Modem) portClosed(l *link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return
	}
	if m.hung {
		m.log.Debug("port reopened after a hang")
	}
	m.hung = false
	m.line, m.pduBuf = nil, nil
	if m.prompt {
		m.prompt = false
		m.releaseHoldLocked()
	}
}

// feed runs the state machine over bytes from the client. Actions that wait
// (a send's network latency) or reach other modems run without the lock.
func (m *Modem) feed(l *link, data []byte) {
	for _, c := range data {
		m.mu.Lock()
		if m.link != l || m.hung {
			m.mu.Unlock()
			return
		}
		act := m.feedByteLocked(c)
		m.mu.Unlock()
		if act != nil {
			act()
		}
	}
}

// Control characters of V.250 5.2.1 and TS 27.005 3.5.1.
const (
	cr     = '\r' // S3, ends a command line
	lf     = '\n' // S4, ignored in input
	bs     = 0x08 // S5, deletes the previous character
	ctrlZ  = 0x1a // ends the PDU after the +CMGS prompt
	esc    = 0x1b // cancels the PDU
	maxLen = 2048 // longest command line kept
)

func (m *Modem) feedByteLocked(c byte) func() {
	if m.prompt {
		return m.promptByteLocked(c)
	}
	if m.set.echo {
		m.emitLocked(string([]byte{c}))
	}
	switch c {
	case cr:
		line := string(m.line)
		m.line = m.line[:0]
		return m.commandLineLocked(line)
	case lf:
	case bs:
		if len(m.line) > 0 {
			m.line = m.line[:len(m.line)-1]
		}
	default:
		if len(m.line) < maxLen {
			m.line = append(m.line, c)
		}
	}
	return nil
}

// commandLineLocked runs one line. Anything before "AT" is ignored, as a
// modem hunts for the "AT" prefix (V.250 5.2.1); a line without one gets no
// answer.
func (m *Modem) commandLineLocked(line string) func() {
	i := indexAT(line)
	if i < 0 {
		if strings.TrimSpace(line) != "" {
			m.log.Debug("ignored line without AT", logLine, line)
		}
		return nil
	}
	body := line[i+2:]
	m.log.Debug("command", logLine, maskSecrets(line[i:]))
	m.stallCheckLocked(body)
	// URCs wait until the final result code (TS 27.007 4.1), including
	// those the command itself causes, such as +CREG after +CFUN.
	m.urcHold = true
	cmds, err := parseLine(body)
	if err != nil {
		m.log.Debug("syntax error", logLine, maskSecrets(line[i:]), logErr, err)
		m.finalLocked(errPlain)
		return nil
	}
	for _, c := range cmds {
		info, err := m.execLocked(c)
		if len(info) > 0 {
			m.emitLocked("\r\n" + strings.Join(info, "\r\n") + "\r\n")
		}
		if errors.Is(err, errPrompt) {
			return nil // commands after +CMGS on the same line are dropped
		}
		if errors.Is(err, errSend) {
			// +CMSS: the send action gives the final result (it already
			// has, if the send was refused at once).
			act := m.sendAct
			m.sendAct = nil
			return act
		}
		if err != nil {
			m.log.Debug("command failed", logCmd, maskSecrets(c.String()), logResult, finalResult(err, 1))
			m.finalLocked(err)
			return nil
		}
	}
	m.finalLocked(nil)
	return nil
}

// indexAT returns where the "AT" prefix starts, in any case, or -1. It
// compares bytes: a line is whatever the client sent, not valid UTF-8, and
// strings.ToUpper would change its length.
func indexAT(line string) int {
	for i := 0; i+1 < len(line); i++ {
		if line[i]|0x20 == 'a' && line[i+1]|0x20 == 't' {
			return i
		}
	}
	return -1
}

// errPrompt ends a command line's processing without a final result: the
// modem now waits for a PDU. errSend ends it with a send in progress.
var (
	errPrompt = errors.New("prompt")
	errSend   = errors.New("send")
)

// finalLocked prints the final result code, after any injected garbage or
// stray URC (so they land in the middle of the response), then the URCs
// the command itself caused, such as +CUSD.
func (m *Modem) finalLocked(err error) {
	for _, b := range m.inject {
		m.emitLocked(string(b))
	}
	m.inject = nil
	if err == nil {
		m.emitLocked("\r\nOK\r\n")
	} else {
		m.emitLocked("\r\n" + finalResult(err, m.set.cmee) + "\r\n")
	}
	m.releaseHoldLocked()
	for _, u := range m.afterFin {
		m.urcLocked(u)
	}
	m.afterFin = nil
}

// emitLocked sends raw output to the client, unless the modem is hung or
// unplugged.
func (m *Modem) emitLocked(s string) {
	if m.hung || m.link == nil {
		return
	}
	if m.stalled {
		m.stallBuf = append(m.stallBuf, s...)
		return
	}
	m.link.write([]byte(s))
}

// urcLocked sends an unsolicited result code now, or after the command in
// progress (TS 27.007 4.1: URCs do not interrupt a response).
func (m *Modem) urcLocked(text string) {
	if m.urcHold {
		m.holdBuf = append(m.holdBuf, text)
		return
	}
	m.emitLocked("\r\n" + text + "\r\n")
}

// smsURCLocked sends an SMS indication as +CNMI's mode says: buffered in the
// modem while mode is 0 (TS 27.005 3.4.1).
func (m *Modem) smsURCLocked(text string) {
	if m.set.cnmi.mode == 0 {
		m.taBuf = append(m.taBuf, text)
		return
	}
	m.urcLocked(text)
}

func (m *Modem) releaseHoldLocked() {
	m.urcHold = false
	held := m.holdBuf
	m.holdBuf = nil
	for _, u := range held {
		m.urcLocked(u)
	}
}

// registrationLocked is the <stat> +CREG reports: nothing without radio
// (+CFUN 0 or 4) or an unlocked SIM.
func (m *Modem) registrationLocked() Registration {
	if m.fun != 1 || !m.pinOK {
		return RegNotRegistered
	}
	return m.reg
}

func (m *Modem) registeredLocked() bool {
	r := m.registrationLocked()
	return r == RegHome || r == RegRoaming
}

// Fake cell identity for +CREG=2 (TS 27.007 7.2 <lac>, <ci>).
const lac, cellID = "1A2B", "00C3D4E5"

// regChangedLocked sends +CREG and +CGREG URCs if the status changed, and
// hands over held messages once the modem is reachable again.
func (m *Modem) regChangedLocked() {
	r := m.registrationLocked()
	if r != m.lastReg {
		m.lastReg = r
		for _, u := range []struct {
			name string
			n    int
		}{{"+CREG", m.set.creg}, {"+CGREG", m.set.cgreg}} {
			if u.n != 0 {
				m.urcLocked(regLine(u.name, u.n, r, false))
			}
		}
	}
	m.flushPendingLocked()
}

// regLine is what +CREG and +CGREG print (TS 27.007 7.2): the URC form is
// "<stat>[,<lac>,<ci>]", the read form "<n>,<stat>[,<lac>,<ci>]"; the
// location comes only with <n> 2 and while registered.
func regLine(name string, n int, r Registration, read bool) string {
	s := name + ": "
	if read {
		s += fmt.Sprintf("%d,", n)
	}
	s += fmt.Sprint(int(r))
	if n == 2 && (r == RegHome || r == RegRoaming) {
		s += fmt.Sprintf(",%q,%q", lac, cellID)
	}
	return s
}

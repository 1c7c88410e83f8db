package modemsim

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"bridged/pdu"
)

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

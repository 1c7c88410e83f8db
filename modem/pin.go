package modem

// The SIM PIN: entered at most once per PIN and SIM, across restarts, and
// never printed.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/modem/at"
)

// PINJournal remembers, durably, which PIN was entered into which SIM and
// how that ended, so that a PIN the SIM refused, or may have refused (an
// AT+CPIN that got no answer), is never entered again: three wrong tries
// block the SIM until its PUK is entered, and a daemon that restarts or
// reconnects must not spend them. queue.Store keeps one (wired in
// cmd/bridged); NewMemoryPINJournal is the fallback for a Modem without one.
type PINJournal interface {
	// LoadPIN returns the record kept under key; found is false when there
	// is none.
	LoadPIN(ctx context.Context, key string) (rec PINRecord, found bool, err error)
	// SavePIN stores rec under rec.Key, replacing any record there, and
	// returns only once it is durable: the driver sends AT+CPIN only after.
	SavePIN(ctx context.Context, rec PINRecord) error
	// DeletePIN removes the record under key; none there is not an error.
	DeletePIN(ctx context.Context, key string) error
	// ClearPIN removes every record made by the modem with this id, or kept
	// for the SIM with this ICCID, and returns how many it removed.
	ClearPIN(ctx context.Context, id string) (int, error)
}

// PINRecord is what a PINJournal keeps of one PIN entered into one SIM. It
// holds a salted hash of the PIN, never the PIN.
type PINRecord struct {
	// Key names the SIM: "iccid:" and its ICCID, or, for a SIM whose ICCID
	// the modem does not tell before the PIN, "modem:" and the modem's id.
	Key string
	// Modem is the id of the modem that holds the SIM (it made the attempt,
	// or last found the record); ClearPIN matches it.
	Modem string
	// ICCID is the SIM's, empty when unknown.
	ICCID string
	// Salt and Hash are SHA-256(Salt || PIN), with a random Salt per
	// record. A PIN has 4 to 8 digits: anyone who reads the database can
	// find it from the hash by trying them all. The hash only keeps the PIN
	// out of the file in clear and tells whether the configured PIN is the
	// one recorded.
	Salt, Hash []byte
	// Refused is true when the SIM refused the PIN, or the attempt got no
	// answer and the SIM's state since shows it may have counted it. False
	// means the attempt was about to be made: its outcome is unknown.
	Refused bool
	// AttemptsLeft is what the SIM said it had left before the attempt; -1
	// when the modem does not tell.
	AttemptsLeft int
	// At is when the attempt was made.
	At time.Time
}

// ErrLastPINAttempt: the SIM has one PIN attempt left, and bridged does not
// spend it: a wrong PIN would block the SIM. Like ErrWrongPIN, it stops the
// modem until ClearPINRefusal.
var ErrLastPINAttempt = errors.New("the SIM has one PIN attempt left")

func hashPIN(salt []byte, pin string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(pin))
	return h.Sum(nil)
}

func newPINRecord(key, modemID, iccid, pin string, left int, now time.Time) PINRecord {
	salt := make([]byte, 16)
	rand.Read(salt) // never fails (crypto/rand)
	return PINRecord{Key: key, Modem: modemID, ICCID: iccid, Salt: salt, Hash: hashPIN(salt, pin), AttemptsLeft: left, At: now}
}

// matches reports whether rec was made with pin.
func (rec PINRecord) matches(pin string) bool {
	return subtle.ConstantTimeCompare(hashPIN(rec.Salt, pin), rec.Hash) == 1
}

// pinKeys returns the journal keys of the SIM in the modem, the one to
// record under first. A record made under the modem's id while the ICCID
// could not be read is honoured too: it may be the same SIM, and a false
// refusal costs an operator's clear-pin where a false retry could cost the
// SIM.
func pinKeys(modemID, iccid string) []string {
	if iccid == "" {
		return []string{"modem:" + modemID}
	}
	return []string{"iccid:" + iccid, "modem:" + modemID}
}

// NewMemoryPINJournal returns a PINJournal that remembers for as long as
// the process runs: what a Modem uses when its Config has none. Modems
// sharing one behave as if restarted on the same store.
func NewMemoryPINJournal() PINJournal {
	return &memoryJournal{recs: map[string]PINRecord{}}
}

type memoryJournal struct {
	mu   sync.Mutex
	recs map[string]PINRecord
}

func (j *memoryJournal) LoadPIN(_ context.Context, key string) (PINRecord, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec, ok := j.recs[key]
	return rec, ok, nil
}

func (j *memoryJournal) SavePIN(_ context.Context, rec PINRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs[rec.Key] = rec
	return nil
}

func (j *memoryJournal) DeletePIN(_ context.Context, key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.recs, key)
	return nil
}

func (j *memoryJournal) ClearPIN(_ context.Context, id string) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for k, rec := range j.recs {
		if rec.Modem == id || rec.ICCID == id || k == "modem:"+id {
			delete(j.recs, k)
			n++
		}
	}
	return n, nil
}

// ClearPINRefusal forgets that the SIM refused the configured PIN, or may
// have (an attempt without an answer), and that the SIM had one attempt
// left, so that the configured PIN is entered again, once; a modem stopped
// by a refusal tries again at once. It is what an operator does after
// fixing the PIN, or after unlocking the SIM in a phone. It returns how
// many records it removed, or the journal's error.
func (m *Modem) ClearPINRefusal(ctx context.Context) (int, error) {
	n, err := m.journal.ClearPIN(ctx, m.cfg.ID)
	if err != nil {
		return 0, fmt.Errorf("clear PIN refusal of modem %s: %w", m.cfg.ID, err)
	}
	// The SIM's record may have been made in another modem.
	if iccid := m.Status().ICCID; iccid != "" {
		k, err := m.journal.ClearPIN(ctx, iccid)
		if err != nil {
			return n, fmt.Errorf("clear PIN refusal of SIM %s: %w", iccid, err)
		}
		n += k
	}
	select {
	case m.pinRetry <- struct{}{}:
	default: // a retry is already due
	}
	m.log.Info("PIN refusal cleared", "records", n)
	return n, nil
}

// secretCommands carry a PIN, PUK or facility password in their arguments:
// +CPIN (TS 27.007 8.3), +CLCK (7.4) and +CPWD (7.5).
var secretCommands = []string{"+CPIN=", "+CLCK=", "+CPWD="}

// maskCommand returns the command as it may be printed: the quoted
// arguments of a command that carries a secret become "***", so that an
// error or a log line never shows a PIN.
func maskCommand(c string) string {
	up := strings.ToUpper(c)
	for _, p := range secretCommands {
		if i := strings.Index(up, p); i >= 0 {
			return c[:i+len(p)] + maskArgs(c[i+len(p):])
		}
	}
	return c
}

// maskArgs replaces each quoted string, and any bare argument made of
// digits (a PIN written without quotes), with "***".
func maskArgs(args string) string {
	parts := strings.Split(args, ",")
	for i, p := range parts {
		t := strings.TrimSpace(p)
		if strings.HasPrefix(t, `"`) || (t != "" && strings.Trim(t, "0123456789") == "" && len(t) >= 4) {
			parts[i] = `"***"`
		}
	}
	return strings.Join(parts, ",")
}

// pinCounter is one way a modem tells how many PIN attempts the SIM has
// left: a command and which field of its answer holds the count.
type pinCounter struct {
	cmd, prefix string
	field       int
}

var (
	// TS 27.007 8.65: "+CPINR: <code>,<retries>[,<default_retries>]".
	counterCPINR = pinCounter{`+CPINR="SIM PIN"`, "+CPINR:", 1}
	// Huawei: "^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>".
	counterHuawei = pinCounter{"^CPIN?", "^CPIN:", 3}
	// Quectel: `+QPINC: "SC",<pincounter>,<pukcounter>`.
	counterQuectel = pinCounter{`+QPINC="SC"`, "+QPINC:", 1}
)

// parsePINCounter reads the count from an answer to c.
func parsePINCounter(lines []string, c pinCounter) (int, bool) {
	for _, l := range lines {
		f, ok := fields(strings.TrimSpace(l), c.prefix)
		if !ok || len(f) <= c.field {
			continue
		}
		// +CPINR with a wildcard lists every code; only SIM PIN counts.
		if c.prefix == "+CPINR:" && !strings.EqualFold(f[0], "SIM PIN") {
			continue
		}
		if n, err := strconv.Atoi(f[c.field]); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// readPINCounter asks the modem how many PIN attempts the SIM has left, in
// the ways its family answers, and shows the count in the status; -1 when
// no way works.
func (s *session) readPINCounter() int {
	left := -1
	for _, c := range s.m.quirks.pinCounters {
		l, err := s.cmd(c.cmd)
		if err != nil {
			if errors.Is(err, at.ErrDeadlineExceeded) {
				break
			}
			continue
		}
		if n, ok := parsePINCounter(l, c); ok {
			left = n
			break
		}
	}
	s.m.update(func(st *Status) {
		st.PINAttemptsLeft = nil
		if left >= 0 {
			st.PINAttemptsLeft = &left
		}
	})
	return left
}

// readICCID asks for the SIM's ICCID in the ways the modem's family
// answers (most do before the PIN); "" when none works.
func (s *session) readICCID() string {
	for _, c := range s.m.quirks.iccid {
		l, err := s.cmd(c)
		if err != nil {
			if errors.Is(err, at.ErrDeadlineExceeded) {
				return ""
			}
			continue
		}
		if v := iccidValue(l); v != "" {
			return v
		}
	}
	return ""
}

// iccidValue finds an ICCID in an answer: "+CCID: 8944...", "^ICCID: ...",
// "+QCCID: ..." or the bare number. ICCIDs are 18 to 22 digits (ITU-T
// E.118), some printed with a trailing F filler.
func iccidValue(lines []string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || isNoise(l) {
			continue
		}
		if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "^") {
			_, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			l = v
		}
		v := strings.ToUpper(strings.Trim(strings.TrimSpace(l), `"`))
		if len(v) >= 18 && len(v) <= 22 && strings.Trim(v, "0123456789F") == "" {
			return v
		}
	}
	return ""
}

// unlockSIM enters the configured PIN when the SIM asks for one (TS 27.007
// 8.3), at most once per PIN and SIM however often bridged restarts or
// reconnects. The attempt is recorded in the journal before AT+CPIN is
// sent; an attempt whose outcome is unknown (no answer, a crash) counts as
// refused unless the SIM shows otherwise: it is unlocked, or it has as many
// attempts left as before. It never spends the SIM's last attempt.
func (s *session) unlockSIM() error {
	m := s.m
	l, err := s.cmd("+CPIN?")
	if err != nil {
		var cme at.CMEError
		if errors.As(err, &cme) && (string(cme) == "10" || strings.Contains(strings.ToLower(string(cme)), "not inserted")) {
			return fmt.Errorf("%w: no SIM inserted", ErrSIM)
		}
		return fmt.Errorf("read SIM state: %w", err)
	}
	if _, ok := findLine(l, "+CPIN:"); !ok {
		// Another command's late answer (after a timeout under load), not
		// a SIM state: a reconnect asks again, where ErrSIM would stop.
		return fmt.Errorf("read SIM state: the answer to AT+CPIN? has no +CPIN line: %q", l)
	}
	state := simState(l)
	iccid := s.readICCID()
	if iccid != "" {
		m.update(func(st *Status) { st.ICCID = iccid })
	}
	keys := pinKeys(m.cfg.ID, iccid)
	switch state {
	case SIMReady:
		// An attempt left without an answer was accepted (or someone
		// unlocked the SIM meanwhile): it no longer blocks anything.
		s.resolvePending(keys)
		return nil
	case SIMPUK:
		return fmt.Errorf("%w: SIM is blocked and needs its PUK (enter it with a phone)", ErrSIM)
	case SIMPIN:
	default:
		return fmt.Errorf("%w: SIM state %q", ErrSIM, firstValue(l, "+CPIN:"))
	}
	left := s.readPINCounter()
	if m.cfg.PIN == "" {
		return fmt.Errorf("%w: SIM needs a PIN; set pin for modem %s", ErrSIM, m.cfg.ID)
	}
	sim := "the SIM"
	if iccid != "" {
		sim = "SIM " + iccid
	}
	for _, k := range keys {
		rec, found, err := m.journal.LoadPIN(s.ctx, k)
		if err != nil {
			return fmt.Errorf("read the PIN journal: %w (the PIN is not entered without it)", err)
		}
		if !found || !rec.matches(m.cfg.PIN) {
			continue // nothing known of this PIN: a changed PIN is tried
		}
		if !rec.Refused && left >= 0 && rec.AttemptsLeft >= 0 && left >= rec.AttemptsLeft {
			m.log.Info("an earlier PIN attempt that got no answer was not counted by the SIM; entering the PIN again",
				"attempts_left", left)
			continue
		}
		// A pending attempt the SIM's count shows it took was refused; one
		// without counts may have been.
		unknown := !rec.Refused && (left < 0 || rec.AttemptsLeft < 0)
		if !rec.Refused || rec.Modem != m.cfg.ID {
			rec.Refused, rec.Modem = true, m.cfg.ID
			if err := m.journal.SavePIN(s.ctx, rec); err != nil {
				// The pending record stays, and blocks the PIN as well.
				m.log.Warn("cannot record the PIN refusal", "err", err)
			}
		}
		return s.refusal(rec, sim, unknown, nil)
	}
	if left >= 0 && left <= 1 {
		return &pinError{kind: ErrLastPINAttempt, msg: fmt.Sprintf("%s has %d PIN attempt left; not entering the PIN, as a wrong one "+
			"would block the SIM; unlock the SIM with the right PIN in a phone (or fix `pin`), then run `bridged modems clear-pin %s`",
			sim, left, m.cfg.ID)}
	}
	rec := newPINRecord(keys[0], m.cfg.ID, iccid, m.cfg.PIN, left, time.Now().UTC())
	if err := m.journal.SavePIN(s.ctx, rec); err != nil {
		return fmt.Errorf("record the PIN attempt: %w (the PIN is not entered without a record)", err)
	}
	_, err = s.cmd(`+CPIN="` + m.cfg.PIN + `"`)
	switch {
	case err == nil:
		for _, k := range keys {
			if err := m.journal.DeletePIN(s.ctx, k); err != nil {
				m.log.Warn("cannot clear the PIN record", "err", err)
			}
		}
		m.update(func(st *Status) { st.PINAttemptsLeft = nil })
		m.log.Info("SIM unlocked")
		return nil
	case errors.Is(err, at.ErrDeadlineExceeded), errors.Is(err, at.ErrClosed):
		// The record stays pending: the next session learns the outcome
		// from the SIM's state rather than by asking again.
		return fmt.Errorf("enter PIN: %w (the SIM may have counted the attempt: it is not repeated unless the SIM shows it was not)", err)
	}
	rec.Refused = true
	if serr := m.journal.SavePIN(s.ctx, rec); serr != nil {
		m.log.Warn("cannot record the PIN refusal", "err", serr)
	}
	s.readPINCounter()
	return s.refusal(rec, sim, false, err)
}

// refusal is the error of a refused PIN, now or remembered, saying what an
// operator does about it; cause is the modem's answer, when there is one.
func (s *session) refusal(rec PINRecord, sim string, unanswered bool, cause error) error {
	how := "was refused by " + sim
	if unanswered {
		how = "was entered into " + sim + " without an answer and may have been refused"
	}
	msg := fmt.Sprintf("the configured PIN %s on %s; not entering it again (three wrong tries block the SIM); "+
		"fix `pin` or run `bridged modems clear-pin %s`", how, rec.At.UTC().Format(time.RFC3339), s.m.cfg.ID)
	return &pinError{msg: msg, kind: ErrWrongPIN, cause: cause}
}

// pinError reads as a sentence for an operator and matches its kind
// (ErrWrongPIN) with errors.Is.
type pinError struct {
	msg   string
	kind  error
	cause error // the modem's answer, or nil
}

func (e *pinError) Error() string {
	if e.cause != nil {
		return e.msg + " (modem: " + e.cause.Error() + ")"
	}
	return e.msg
}

func (e *pinError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// resolvePending removes records of attempts whose outcome was unknown once
// the SIM is unlocked: they were accepted. Refusals stay: the SIM asks again
// at its next power-up, and the refused PIN must not be entered then.
func (s *session) resolvePending(keys []string) {
	for _, k := range keys {
		rec, found, err := s.m.journal.LoadPIN(s.ctx, k)
		if err != nil || !found || rec.Refused {
			continue
		}
		if err := s.m.journal.DeletePIN(s.ctx, k); err != nil {
			s.m.log.Warn("cannot clear the PIN record", "err", err)
		}
	}
}

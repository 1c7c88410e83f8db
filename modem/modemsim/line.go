package modemsim

import (
	"errors"
	"strings"
	"time"
)

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

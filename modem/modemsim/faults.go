package modemsim

// The fault injection of a Modem: what tests and "bridged sim" switch on.

import (
	"fmt"
	"strings"
	"time"
)

// SetCapacity changes how many messages memory "SM" or "ME" holds. A
// capacity at or below the number stored makes the memory full (the SIM
// storage full fault): the network holds new messages until the client
// deletes some. It returns an error for an unknown memory.
func (m *Modem) SetCapacity(mem string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.storages[strings.ToUpper(mem)]
	if !ok {
		return fmt.Errorf("set capacity: unknown memory %q (want SM or ME)", mem)
	}
	s.capacity = max(n, 0)
	m.flushPendingLocked()
	return nil
}

// SetRegistration changes what the network gives the modem: RegSearching
// or RegNotRegistered make sends fail with +CMS ERROR: 331 and hold
// incoming messages; +CREG URCs report the change.
func (m *Modem) SetRegistration(r Registration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reg = r
	m.regChangedLocked()
}

// SetSendErrors makes the next sends fail with these +CMS ERROR codes, one
// per AT+CMGS, in order (0 lets that send succeed); later sends succeed.
func (m *Modem) SetSendErrors(codes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sendErrs = append([]int(nil), codes...)
}

// PendingSendErrors reports how many of the codes given to SetSendErrors
// are still to come, so that a test knows when a fault has been used up.
func (m *Modem) PendingSendErrors() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sendErrs)
}

// SetSendErrorRate makes each send fail with probability p, with a code
// drawn from codes (CMSUnknown when none are given). p 0 turns this off.
func (m *Modem) SetSendErrorRate(p float64, codes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(codes) == 0 {
		codes = []int{CMSUnknown}
	}
	m.errRate, m.errCodes = p, append([]int(nil), codes...)
}

// SetSendLatency sets how long the network takes to accept a send from
// this modem, overriding the network's Options.SendLatency.
func (m *Modem) SetSendLatency(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latency, m.latencySet = d, true
}

// Hang makes the modem stop answering, and drop what it would print, until
// the client closes and reopens the port.
func (m *Modem) Hang() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hung = true
	m.log.Debug("hung")
}

// StallAt makes the modem freeze for d when it next gets a command line
// containing cmd ("+CGSN"), as a modem busy with its SIM or the network
// does: it still reads and runs commands, but what it prints, from that
// command's answer on, comes only when d is over, all at once and in order.
// A client whose timeout is shorter than d gets the late answer while it
// waits for the answer to a later command.
func (m *Modem) StallAt(cmd string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stallOn, m.stallFor = strings.ToUpper(cmd), d
}

func (m *Modem) stallCheckLocked(body string) {
	if m.stallOn == "" || m.stalled || !strings.Contains(strings.ToUpper(body), m.stallOn) {
		return
	}
	m.stallOn, m.stalled = "", true
	m.log.Debug("stalled", logFor, m.stallFor)
	l := m.link
	time.AfterFunc(m.stallFor, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.stalled = false
		out := m.stallBuf
		m.stallBuf = nil
		if m.link == l && !m.hung && len(out) > 0 {
			m.link.write(out)
		}
	})
}

// Hung reports whether the modem is hung: Hang was called and the port
// has not been closed since.
func (m *Modem) Hung() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hung
}

// Unplug removes the pty and its path at once, as when a USB modem is
// pulled out, and plugs a new one in at the same path after d. A client's
// reads fail; it must reopen the path once it is back. The modem powers up
// again: echo on, PIN required if configured, stored messages kept.
func (m *Modem) Unplug(d time.Duration) {
	m.mu.Lock()
	l := m.link
	if m.closed || l == nil {
		m.mu.Unlock()
		return
	}
	m.link = nil
	m.replug = time.AfterFunc(d, func() {
		if err := m.plugIn(); err != nil {
			m.log.Error("replug failed", logErr, err)
		}
	})
	m.mu.Unlock()
	l.close()
	m.log.Debug("unplugged", logFor, d)
}

// Plugged reports whether the modem's path is currently there.
func (m *Modem) Plugged() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.link != nil
}

// InjectGarbage puts b in the middle of the next response, before its
// final result code, as line noise or a confused firmware would.
func (m *Modem) InjectGarbage(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inject = append(m.inject, append([]byte(nil), b...))
}

// InjectURC puts an unsolicited line, such as "+CMTI: \"SM\",9" or "RING",
// in the middle of the next response, before its final result code.
func (m *Modem) InjectURC(line string) {
	m.InjectGarbage([]byte("\r\n" + line + "\r\n"))
}

// FloodURCs sends n copies of an unsolicited line at once ("+CSQN: 20,99"
// when line is empty), as a modem does when a signal indicator is left on.
func (m *Modem) FloodURCs(n int, line string) {
	if line == "" {
		line = "+CSQN: 20,99"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.urcLocked(line)
	}
}

// sendOutcomeLocked decides whether the next send fails and with which code.
func (m *Modem) sendOutcomeLocked() int {
	if len(m.sendErrs) > 0 {
		c := m.sendErrs[0]
		m.sendErrs = m.sendErrs[1:]
		return c
	}
	if m.errRate > 0 && m.rng.Float64() < m.errRate {
		return m.errCodes[m.rng.IntN(len(m.errCodes))]
	}
	return 0
}

func (m *Modem) sendLatencyLocked() time.Duration {
	if m.latencySet {
		return m.latency
	}
	return m.net.opts.SendLatency
}

// SetPINHang makes every AT+CPIN= hang, as a modem whose answer is lost:
// the SIM judges the PIN (a wrong one costs an attempt, a right one
// unlocks it), then the modem stops answering until the port is reopened.
func (m *Modem) SetPINHang(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pinHang = on
}

// PINEntries returns the first parameter of every AT+CPIN= the modem got,
// oldest first (the last 100): the PINs (or PUKs) a client entered.
func (m *Modem) PINEntries() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.pinEntries...)
}

// PINTriesLeft returns how many wrong PINs the SIM still takes before it
// needs its PUK; 0 means it is blocked.
func (m *Modem) PINTriesLeft() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pinTries
}

// SetPINTries sets how many wrong PINs the SIM still takes (1 to 3), as if
// wrong ones had been entered before. A right PIN resets it to 3.
func (m *Modem) SetPINTries(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pinTries = min(max(n, 1), 3)
}

package modemsim

// How a Modem receives what the network sends it: SMS-DELIVERs and status
// reports, held by the network until the modem can take them.

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"bridged/pdu"
)

// flushPendingLocked hands the network's held messages to the modem in
// order, stopping at the first it cannot take.
func (m *Modem) flushPendingLocked() {
	for len(m.pending) > 0 {
		if !m.takeLocked(m.pending[0]) {
			return
		}
		m.pending = m.pending[1:]
	}
}

// takeLocked receives one message as AT+CNMI says (TS 27.005 3.4.1): <mt> 2
// routes an SMS-DELIVER straight to the client with +CMT (class 2 is still
// stored), 3 does so for class 3 only; 1 stores it and indicates +CMTI; 0
// stores it silently. <ds> 1 routes a status report with +CDS, 2 stores it
// and indicates +CDSI, 0 stores it silently. It returns false when the
// modem cannot take the message now: the network keeps it and tries again.
func (m *Modem) takeLocked(in inbound) bool {
	if m.link == nil || !m.registeredLocked() {
		return false
	}
	mem := m.storages[m.set.mem3]
	if sr, ok := m.storages["SR"]; ok && in.report {
		mem = sr
	}
	if in.report {
		switch m.set.cnmi.ds {
		case 1:
			m.smsURCLocked(fmt.Sprintf("+CDS: %d\r\n%s", in.part.Length, in.part.PDU))
			if m.set.csms == 1 {
				m.awaitAckLocked(in)
				return true
			}
		default:
			idx := mem.put(StatUnread, in.part.PDU, in.part.Length)
			if idx == 0 {
				return false
			}
			if m.set.cnmi.ds == 2 {
				m.smsURCLocked(fmt.Sprintf("+CDSI: %q,%d", mem.name, idx))
			}
		}
	} else {
		mt := m.set.cnmi.mt
		if mt == 2 && in.class != 2 || mt == 3 && in.class == 3 {
			m.smsURCLocked(fmt.Sprintf("+CMT: ,%d\r\n%s", in.part.Length, in.part.PDU))
			if m.set.csms == 1 {
				m.awaitAckLocked(in)
				return true
			}
		} else {
			idx := mem.put(StatUnread, in.part.PDU, in.part.Length)
			if idx == 0 {
				m.log.Debug("memory full: the network holds the message", logMem, mem.name)
				return false
			}
			if mt != 0 {
				m.smsURCLocked(fmt.Sprintf("+CMTI: %q,%d", mem.name, idx))
			}
		}
	}
	if in.onDone != nil {
		in.onDone()
	}
	return true
}

// unacked is a message routed with +CMT or +CDS under AT+CSMS=1: the
// network has it as delivered only once the client sends +CNMA.
type unacked struct {
	in    inbound
	timer *time.Timer
}

// awaitAckLocked starts the network's wait for +CNMA (TS 27.005 3.4.1,
// 3.4.4): the sender's status report waits for it too.
func (m *Modem) awaitAckLocked(in inbound) {
	u := &unacked{in: in}
	u.timer = time.AfterFunc(m.net.opts.AckTimeout, func() { m.ackTimedOut(u) })
	m.unacked = append(m.unacked, u)
}

// ackLocked is +CNMA: the oldest routed message is delivered. It returns
// false when none waits for an acknowledgement.
func (m *Modem) ackLocked() bool {
	if len(m.unacked) == 0 {
		return false
	}
	u := m.unacked[0]
	m.unacked = m.unacked[1:]
	u.timer.Stop()
	if u.in.onDone != nil {
		u.in.onDone()
	}
	return true
}

// ackTimedOut: no +CNMA in time. TS 27.005 3.4.1 has the modem disable
// routing to the client (<mt> and <ds> to 0); the network, without an
// acknowledgement, keeps the messages and delivers them again, so they are
// now stored. This is what happens to a driver that acknowledges late.
func (m *Modem) ackTimedOut(u *unacked) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || !slices.Contains(m.unacked, u) {
		return
	}
	m.log.Debug("no +CNMA in time: routing to the client disabled", logCount, len(m.unacked))
	m.set.cnmi.mt, m.set.cnmi.ds = 0, 0
	m.requeueUnackedLocked()
	m.flushPendingLocked()
}

// requeueUnackedLocked gives every unacknowledged message back to the
// network, ahead of what it already holds.
func (m *Modem) requeueUnackedLocked() {
	var back []inbound
	for _, u := range m.unacked {
		u.timer.Stop()
		back = append(back, u.in)
	}
	m.unacked = nil
	m.pending = append(back, m.pending...)
}

// changedLocked wakes WaitStored callers.
func (m *Modem) changedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// WaitStored waits until cond holds for the messages in memory "SM" or
// "ME" (as Stored returns them) and returns them. It checks at once and
// after every change: a message stored, read, sent or deleted. It returns
// ctx's error if cond does not hold first, or an error for an unknown
// memory.
func (m *Modem) WaitStored(ctx context.Context, mem string, cond func([]Stored) bool) ([]Stored, error) {
	for {
		m.mu.Lock()
		s, ok := m.storages[strings.ToUpper(mem)]
		if !ok {
			m.mu.Unlock()
			return nil, fmt.Errorf("wait stored: unknown memory %q (want SM or ME)", mem)
		}
		snap, ch := s.snapshot(), m.changed
		m.mu.Unlock()
		if cond(snap) {
			return snap, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return snap, fmt.Errorf("wait for %s messages on %s: %w", mem, m.cfg.Name, ctx.Err())
		}
	}
}

// receive queues a message from the network and delivers it if it can.
func (m *Modem) receive(in inbound) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.pending = append(m.pending, in)
	m.flushPendingLocked()
}

// Deliver injects an incoming SMS from the given sender (a number, or an
// alphanumeric name such as "MyBank"), split into parts as a phone would.
// It returns an error for an empty text or an invalid sender. The modem
// gets it at once if it can, else when it can (see Pending).
func (m *Modem) Deliver(from, text string) error {
	enc, err := m.net.deliverParts(from, text)
	if err != nil {
		return fmt.Errorf("deliver to %s: %w", m.cfg.Name, err)
	}
	for _, p := range enc.Parts {
		m.receive(inbound{part: p, class: classOf(enc.Parts[0].PDU)})
	}
	return nil
}

// DeliverPDU injects a raw SMS-DELIVER or SMS-STATUS-REPORT, hex with its
// SMSC prefix, exactly as the modem will print it. It returns the decode
// error for a malformed PDU, or an error for an SMS-SUBMIT.
func (m *Modem) DeliverPDU(hexPDU string) error {
	hexPDU = strings.ToUpper(strings.TrimSpace(hexPDU))
	msg, err := pdu.Decode(hexPDU)
	if err != nil {
		return fmt.Errorf("deliver pdu to %s: %w", m.cfg.Name, err)
	}
	if msg.Type == pdu.TypeSubmit {
		return fmt.Errorf("deliver pdu to %s: an SMS-SUBMIT goes from a phone, not to one", m.cfg.Name)
	}
	smscLen, _ := hex.DecodeString(hexPDU[:2]) // checked by Decode
	smscOctets := 1 + int(smscLen[0])
	p := pdu.Part{PDU: hexPDU, Length: len(hexPDU)/2 - smscOctets}
	m.receive(inbound{part: p, report: msg.Type == pdu.TypeStatusReport, class: classOf(hexPDU)})
	return nil
}

// DeliverCorrupt stores an SMS-DELIVER that does not decode: hexPDU is
// written to the modem's memory as it is, as a modem does with whatever the
// network hands it (a damaged or non-standard PDU). It is for tests of how a
// client keeps what it cannot read. The modem must have a free slot.
func (m *Modem) DeliverCorrupt(hexPDU string) error {
	hexPDU = strings.ToUpper(strings.TrimSpace(hexPDU))
	if _, err := hex.DecodeString(hexPDU); err != nil || len(hexPDU) < 2 {
		return fmt.Errorf("deliver corrupt pdu to %s: not hex: %q", m.cfg.Name, hexPDU)
	}
	p := pdu.Part{PDU: hexPDU, Length: len(hexPDU)/2 - 1}
	m.receive(inbound{part: p, class: -1})
	return nil
}

func classOf(hexPDU string) int {
	msg, err := pdu.Decode(hexPDU)
	if err != nil || msg.Class == nil {
		return -1
	}
	return *msg.Class
}

// Pending returns how many messages the network holds for this modem
// because it is unplugged, not registered, or its memory is full.
func (m *Modem) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

// Stored returns the messages in memory "SM" or "ME", in index order.
func (m *Modem) Stored(mem string) []Stored {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.storages[strings.ToUpper(mem)]; ok {
		return s.snapshot()
	}
	return nil
}

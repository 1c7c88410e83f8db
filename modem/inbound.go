package modem

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/modem/at"

	"bridged/pdu"
)

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

// handleURC acts on one indication, on the session goroutine: a new
// message is read and handed over, a registration change recorded.
func (s *session) handleURC(lines []string) {
	m := s.m
	u := parseURC(lines)
	switch u.kind {
	case urcBad:
		m.log.Warn(u.why, "lines", lines)
	case urcStored:
		s.readStored(u.mem, u.index)
	case urcDirect:
		s.decodeAndHandOver(u.pdu, "", -1)
	case urcRegistration:
		s.reg[u.prefix] = u.reg
		s.setRegistration(s.bestRegistration())
	}
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

// handOverStored hands over a message read from slot st.index of mem, and
// remembers the slot so that a sweep does not hand it over again before
// its Ack.
func (s *session) handOverStored(mem string, st stored) {
	if st.stat == 2 || st.stat == 3 {
		return // our own unsent/sent messages, not inbound
	}
	s.handed[mem+":"+strconv.Itoa(st.index)] = true
	s.decodeAndHandOver(st.pdu, mem, st.index)
}

// decodeAndHandOver decodes a PDU, the one time it is decoded on its way
// to the store, and queues it for the caller.
func (s *session) decodeAndHandOver(hexPDU, mem string, idx int) {
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
	// while this loop hands over others (decodeAndHandOver serves acks): the listed
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

package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/modem/at"
)

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

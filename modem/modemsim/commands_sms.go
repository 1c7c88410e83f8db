package modemsim

import (
	"fmt"
	"strconv"
	"strings"
)

// csms is AT+CSMS (TS 27.005 3.2.1): service 1 asks for +CNMA after +CMT.
func (m *Modem) csms(c atCmd) ([]string, error) {
	read := func() string { return fmt.Sprintf("+CSMS: %d,1,1,1", m.set.csms) }
	return extended(c, "+CSMS: (0,1)", read, func(ps []param) ([]string, error) {
		n, ok := intParam(ps, 0, 0, 1, 0)
		if !ok || len(ps) != 1 || n == 1 && m.cfg.NoPhase2Plus {
			return nil, cmsErr(CMSNotSupported)
		}
		m.set.csms = n
		return []string{"+CSMS: 1,1,1"}, nil
	}, cmsErr(CMSNotSupported))
}

// csca is AT+CSCA (TS 27.005 3.3.1).
func (m *Modem) csca(c atCmd) ([]string, error) {
	if c.kind == kindTest {
		return nil, nil
	}
	if !m.pinOK {
		return nil, cmsErr(CMSSIMPINRequired)
	}
	switch c.kind {
	case kindRead:
		toa := 129
		if strings.HasPrefix(m.smsc, "+") {
			toa = 145
		}
		return []string{fmt.Sprintf("+CSCA: %q,%d", m.smsc, toa)}, nil
	case kindSet:
		ps, err := splitParams(c.args)
		if err != nil || len(ps) == 0 || !ps[0].quoted {
			return nil, cmsErr(CMSNotAllowed)
		}
		m.smsc = ps[0].raw
		return nil, nil
	}
	return nil, errPlain
}

// cpms is AT+CPMS (TS 27.005 3.2.2): mem1 is read, listed and deleted from,
// mem2 written to, and mem3 receives.
func (m *Modem) cpms(c atCmd) ([]string, error) {
	if c.kind == kindTest {
		if _, ok := m.storages["SR"]; ok {
			return []string{`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`}, nil
		}
		return []string{`+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")`}, nil
	}
	if !m.pinOK {
		return nil, cmsErr(CMSSIMPINRequired)
	}
	mems := []*string{&m.set.mem1, &m.set.mem2, &m.set.mem3}
	switch c.kind {
	case kindRead:
		var parts []string
		for _, name := range mems {
			s := m.storages[*name]
			parts = append(parts, fmt.Sprintf("%q,%d,%d", s.name, s.used(), s.capacity))
		}
		return []string{"+CPMS: " + strings.Join(parts, ",")}, nil
	case kindSet:
		ps, err := splitParams(c.args)
		if err != nil || len(ps) == 0 || len(ps) > 3 {
			return nil, cmsErr(CMSNotAllowed)
		}
		for i, p := range ps {
			name := strings.ToUpper(p.raw)
			if _, ok := m.storages[name]; !ok && !p.empty || i > 0 && name == "SR" {
				return nil, cmsErr(CMSNotAllowed)
			}
		}
		for i, p := range ps {
			if !p.empty {
				*mems[i] = strings.ToUpper(p.raw)
			}
		}
		var parts []string
		for _, name := range mems {
			s := m.storages[*name]
			parts = append(parts, fmt.Sprintf("%d,%d", s.used(), s.capacity))
		}
		m.flushPendingLocked()
		return []string{"+CPMS: " + strings.Join(parts, ",")}, nil
	}
	return nil, errPlain
}

// cnmiCmd is AT+CNMI (TS 27.005 3.4.1). Mode 3 (in-band over a data call)
// and cell broadcast indications are not offered.
func (m *Modem) cnmiCmd(c atCmd) ([]string, error) {
	read := func() string {
		n := m.set.cnmi
		return fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", n.mode, n.mt, n.bm, n.ds, n.bfr)
	}
	return extended(c, "+CNMI: (0-2),(0-3),(0),(0-2),(0,1)", read, func(ps []param) ([]string, error) {
		if len(ps) > 5 {
			return nil, cmsErr(CMSNotSupported)
		}
		old := m.set.cnmi
		var n cnmi
		var ok [5]bool
		n.mode, ok[0] = intParam(ps, 0, 0, 2, old.mode)
		n.mt, ok[1] = intParam(ps, 1, 0, 3, old.mt)
		n.bm, ok[2] = intParam(ps, 2, 0, 0, old.bm)
		n.ds, ok[3] = intParam(ps, 3, 0, 2, old.ds)
		n.bfr, ok[4] = intParam(ps, 4, 0, 1, 0)
		for _, v := range ok {
			if !v {
				return nil, cmsErr(CMSNotSupported)
			}
		}
		m.set.cnmi = n
		if n.mode != 0 {
			// Buffered indications are flushed after the OK (bfr 0) or
			// cleared (bfr 1).
			if n.bfr == 0 {
				m.afterFin = append(m.afterFin, m.taBuf...)
			}
			m.taBuf = nil
		}
		m.flushPendingLocked()
		return nil, nil
	}, cmsErr(CMSNotSupported))
}

// setForm sorts the forms of a command that only has a set form: the test
// form answers OK, the others ERROR; set says whether to go on.
func setForm(c atCmd) (set bool, err error) {
	switch c.kind {
	case kindTest:
		return false, nil
	case kindSet:
		return true, nil
	}
	return false, errPlain
}

// smsReadyLocked is the check before touching SMS memory or sending.
func (m *Modem) smsReadyLocked() error {
	if !m.pinOK {
		return cmsErr(CMSSIMPINRequired)
	}
	return nil
}

// memIndex parses the <index> of +CMGR and +CMGD in mem1.
func (m *Modem) memIndex(c atCmd) (*storage, []param, int, error) {
	if err := m.smsReadyLocked(); err != nil {
		return nil, nil, 0, err
	}
	ps, err := splitParams(c.args)
	if err != nil || len(ps) == 0 {
		return nil, nil, 0, cmsErr(CMSInvalidPDU)
	}
	idx, err := strconv.Atoi(ps[0].raw)
	if err != nil || ps[0].quoted {
		return nil, nil, 0, cmsErr(CMSInvalidPDU)
	}
	return m.storages[m.set.mem1], ps, idx, nil
}

// cmgr is AT+CMGR (TS 27.005 3.4.3). An empty or invalid index is +CMS
// ERROR: 321 (some modems answer a bare OK instead; a driver must treat
// both as "no message"). Reading an unread message marks it read.
func (m *Modem) cmgr(c atCmd) ([]string, error) {
	if set, err := setForm(c); !set {
		return nil, err
	}
	s, _, idx, err := m.memIndex(c)
	if err != nil {
		return nil, err
	}
	msg, _ := s.get(idx)
	if msg == nil {
		return nil, cmsErr(CMSInvalidIndex)
	}
	out := []string{fmt.Sprintf("+CMGR: %d,,%d", msg.Stat, msg.Length), msg.PDU}
	if msg.Stat == StatUnread {
		s.setStat(msg, StatRead)
	}
	return out, nil
}

// cmgl is AT+CMGL (TS 27.005 3.4.2): <stat> 0 unread (the default), 1 read,
// 2 unsent, 3 sent, 4 all. Listed unread messages become read.
func (m *Modem) cmgl(c atCmd) ([]string, error) {
	if c.kind == kindTest {
		return []string{"+CMGL: (0-4)"}, nil
	}
	if c.kind == kindRead {
		return nil, errPlain
	}
	if err := m.smsReadyLocked(); err != nil {
		return nil, err
	}
	ps, err := splitParams(c.args)
	if err != nil || len(ps) > 1 || len(ps) == 1 && ps[0].quoted {
		// A text-mode "ALL" is not a PDU-mode parameter.
		return nil, cmsErr(CMSInvalidPDU)
	}
	stat, ok := intParam(ps, 0, 0, 4, StatUnread)
	if !ok {
		return nil, cmsErr(CMSInvalidPDU)
	}
	var out []string
	mem := m.storages[m.set.mem1]
	for _, msg := range mem.slots {
		if msg == nil || stat != 4 && msg.Stat != stat {
			continue
		}
		out = append(out, fmt.Sprintf("+CMGL: %d,%d,,%d", msg.Index, msg.Stat, msg.Length), msg.PDU)
		if msg.Stat == StatUnread {
			mem.setStat(msg, StatRead)
		}
	}
	return out, nil
}

// cmgd is AT+CMGD (TS 27.005 3.5.4): <delflag> 0 deletes <index>, 1 all
// read, 2 read and sent, 3 read, sent and unsent, 4 everything. Deleting an
// empty slot succeeds; an index outside the memory is +CMS ERROR: 321.
func (m *Modem) cmgd(c atCmd) ([]string, error) {
	if c.kind == kindTest {
		var used []string
		for _, msg := range m.storages[m.set.mem1].slots {
			if msg != nil {
				used = append(used, strconv.Itoa(msg.Index))
			}
		}
		return []string{fmt.Sprintf("+CMGD: (%s),(0-4)", strings.Join(used, ","))}, nil
	}
	if c.kind != kindSet {
		return nil, errPlain
	}
	s, ps, idx, err := m.memIndex(c)
	if err != nil {
		return nil, err
	}
	flag, ok := intParam(ps, 1, 0, 4, 0)
	if !ok {
		return nil, cmsErr(CMSInvalidPDU)
	}
	if flag == 0 {
		if _, ok := s.get(idx); !ok {
			return nil, cmsErr(CMSInvalidIndex)
		}
		s.remove(idx)
	} else {
		gone := map[int]bool{StatRead: true, StatSent: flag >= 2, StatUnsent: flag >= 3, StatUnread: flag == 4}
		for _, msg := range s.slots {
			if msg != nil && gone[msg.Stat] {
				s.remove(msg.Index)
			}
		}
	}
	m.flushPendingLocked()
	return nil, nil
}

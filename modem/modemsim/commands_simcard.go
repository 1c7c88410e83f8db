package modemsim

import (
	"fmt"
	"strconv"
	"strings"
)

func (m *Modem) pinError() int {
	if m.pinTries == 0 {
		return cmeSIMPUKRequired
	}
	return cmeSIMPINRequired
}

// cpin is AT+CPIN (TS 27.007 8.3).
func (m *Modem) cpin(c atCmd) ([]string, error) {
	switch c.kind {
	case kindTest:
		return nil, nil
	case kindRead:
		switch {
		case m.pinOK:
			return []string{"+CPIN: READY"}, nil
		case m.pinTries == 0:
			return []string{"+CPIN: SIM PUK"}, nil
		}
		return []string{"+CPIN: SIM PIN"}, nil
	case kindSet:
		ps, err := splitParams(c.args)
		if err != nil || len(ps) == 0 || len(ps) > 2 {
			return nil, cmeErr(cmeBadParameters)
		}
		if m.pinOK {
			return nil, cmeErr(cmeNotAllowed)
		}
		if len(m.pinEntries) == maxPINEntries {
			m.pinEntries = m.pinEntries[1:]
		}
		m.pinEntries = append(m.pinEntries, ps[0].raw)
		err = m.enterPINLocked(ps)
		if m.pinHang {
			// The SIM has judged the PIN; the answer never comes.
			m.hung = true
			m.log.Debug("hung after AT+CPIN")
		}
		return nil, err
	}
	return nil, errPlain
}

// enterPINLocked checks a PIN, or a PUK and a new PIN, against the SIM.
func (m *Modem) enterPINLocked(ps []param) error {
	if m.pinTries == 0 {
		if len(ps) != 2 || ps[0].raw != defaultPUK {
			return cmeErr(cmeWrongPassword)
		}
		m.cfg.PIN = ps[1].raw
	} else if ps[0].raw != m.cfg.PIN {
		m.pinTries--
		if m.pinTries == 0 {
			return cmeErr(cmeSIMPUKRequired)
		}
		return cmeErr(cmeWrongPassword)
	}
	m.pinOK, m.pinTries = true, 3
	m.regChangedLocked()
	return nil
}

// maxPINEntries bounds the PINs a modem remembers for PINEntries.
const maxPINEntries = 100

// pinCounter answers the three ways modems tell the PIN attempts left:
// AT+CPINR (TS 27.007 8.65), Huawei's AT^CPIN? and Quectel's AT+QPINC.
// With NoPINCounter the modem knows none of them.
func (m *Modem) pinCounter(c atCmd) ([]string, error) {
	if m.cfg.NoPINCounter {
		return nil, errPlain
	}
	const pukTries = 10
	code := "READY"
	switch {
	case m.pinTries == 0:
		code = "SIM PUK"
	case !m.pinOK:
		code = "SIM PIN"
	}
	switch c.name {
	case "+CPINR":
		if c.kind == kindTest {
			return nil, nil
		}
		if c.kind != kindSet && c.kind != kindExec {
			return nil, errPlain
		}
		want := "*"
		if c.kind == kindSet {
			ps, err := splitParams(c.args)
			if err != nil || len(ps) != 1 {
				return nil, cmeErr(cmeBadParameters)
			}
			want = strings.ToUpper(ps[0].raw)
		}
		var out []string
		if want == "*" || want == "SIM PIN" || want == "SIM*" {
			out = append(out, fmt.Sprintf("+CPINR: SIM PIN,%d,3", m.pinTries))
		}
		if want == "*" || want == "SIM PUK" || want == "SIM*" {
			out = append(out, fmt.Sprintf("+CPINR: SIM PUK,%d,10", pukTries))
		}
		return out, nil
	case "^CPIN":
		if c.kind != kindRead {
			return nil, errPlain
		}
		times := ""
		switch code {
		case "SIM PIN":
			times = strconv.Itoa(m.pinTries)
		case "SIM PUK":
			times = strconv.Itoa(pukTries)
		}
		return []string{fmt.Sprintf("^CPIN: %s,%s,%d,%d,10,3", code, times, pukTries, m.pinTries)}, nil
	default: // +QPINC
		if c.kind == kindTest {
			return []string{`+QPINC: ("SC","P2")`}, nil
		}
		if c.kind != kindSet || !strings.EqualFold(strings.Trim(c.args, `"`), "SC") {
			return nil, cmeErr(cmeBadParameters)
		}
		return []string{fmt.Sprintf(`+QPINC: "SC",%d,%d`, m.pinTries, pukTries)}, nil
	}
}

// iccid answers the ICCID commands of the families bridged knows; none is
// standard. Like most modems, the simulator answers before the PIN.
func (m *Modem) iccid(c atCmd) ([]string, error) {
	if c.kind == kindTest {
		return nil, nil
	}
	switch c.name {
	case "+CICCID":
		return []string{"+ICCID: " + m.cfg.ICCID}, nil
	case "^ICCID", "+QCCID":
		return []string{c.name + ": " + m.cfg.ICCID}, nil
	}
	return []string{"+CCID: " + m.cfg.ICCID}, nil
}

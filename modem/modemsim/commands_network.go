package modemsim

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// creg is AT+CREG and AT+CGREG (TS 27.007 7.2, 10.1.19).
func (m *Modem) creg(c atCmd, name string, n *int) ([]string, error) {
	return m.intSettingRead(c, name, n, 0, 2, "(0-2)", func() string { return regLine(name, *n, m.registrationLocked(), true) })
}

// cops is AT+COPS (TS 27.007 7.3). Only automatic selection is offered.
func (m *Modem) cops(c atCmd) ([]string, error) {
	test := fmt.Sprintf("+COPS: (2,%q,%q,%q,0),,(0-4),(0-2)", m.cfg.Operator, "BSim", "00101")
	read := func() string {
		if !m.registeredLocked() {
			return "+COPS: 0"
		}
		return fmt.Sprintf("+COPS: 0,0,%q,0", m.cfg.Operator)
	}
	return extended(c, test, read, func(ps []param) ([]string, error) {
		mode, ok := intParam(ps, 0, 0, 4, 0)
		if !ok {
			return nil, cmeErr(cmeBadParameters)
		}
		if mode == 0 || mode == 3 {
			return nil, nil
		}
		return nil, cmeErr(cmeNotSupported)
	}, cmeErr(cmeBadParameters))
}

// cfun is AT+CFUN (TS 27.007 8.2); <rst> 1 resets the modem after OK.
func (m *Modem) cfun(c atCmd) ([]string, error) {
	read := func() string { return fmt.Sprintf("+CFUN: %d", m.fun) }
	return extended(c, "+CFUN: (0,1,4),(0-1)", read, func(ps []param) ([]string, error) {
		fun, ok1 := intParam(ps, 0, 0, 4, 1)
		rst, ok2 := intParam(ps, 1, 0, 1, 0)
		if !ok1 || !ok2 || fun == 2 || fun == 3 {
			return nil, cmeErr(cmeBadParameters)
		}
		if rst == 1 {
			m.powerUpLocked()
		}
		m.fun = fun
		m.regChangedLocked()
		return nil, nil
	}, cmeErr(cmeBadParameters))
}

// cscs is AT+CSCS (TS 27.007 5.5), the character set of string parameters.
func (m *Modem) cscs(c atCmd) ([]string, error) {
	read := func() string { return fmt.Sprintf("+CSCS: %q", m.set.cscs) }
	return extended(c, `+CSCS: ("GSM","IRA","UCS2")`, read, func(ps []param) ([]string, error) {
		if len(ps) != 1 {
			return nil, cmeErr(cmeBadParameters)
		}
		switch cs := strings.ToUpper(ps[0].raw); cs {
		case "GSM", "IRA", "UCS2":
			m.set.cscs = cs
			return nil, nil
		}
		return nil, cmeErr(cmeNotSupported)
	}, cmeErr(cmeBadParameters))
}

// cusd is AT+CUSD (TS 27.007 7.15). Every request is answered with the
// balance text in a +CUSD URC after OK, <m> 0: no further action needed.
func (m *Modem) cusd(c atCmd) ([]string, error) {
	read := func() string { return fmt.Sprintf("+CUSD: %d", m.set.cusd) }
	return extended(c, "+CUSD: (0-2)", read, func(ps []param) ([]string, error) {
		n, ok := intParam(ps, 0, 0, 2, 0)
		if !ok {
			return nil, cmeErr(cmeBadParameters)
		}
		if n != 2 {
			m.set.cusd = n
		}
		if len(ps) < 2 || ps[1].empty || n == 2 {
			return nil, nil
		}
		if !m.registeredLocked() {
			return nil, cmeErr(cmeNoNetwork)
		}
		text, dcs := m.cfg.Balance, 15
		if m.set.cscs == "UCS2" {
			// With +CSCS="UCS2" strings are hex UTF-16 (TS 27.007 5.5).
			text, dcs = ucs2Hex(text), 72
		}
		m.afterFin = append(m.afterFin, fmt.Sprintf("+CUSD: 0,%q,%d", text, dcs))
		return nil, nil
	}, cmeErr(cmeBadParameters))
}

func ucs2Hex(s string) string {
	var b strings.Builder
	for _, w := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", w)
	}
	return b.String()
}

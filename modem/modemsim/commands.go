package modemsim

import (
	"fmt"
	"strconv"
	"strings"
)

// handlers are the commands answered by a method of their own; execLocked
// answers the others.
var handlers = map[string]func(*Modem, atCmd) ([]string, error){
	"+CCID":   (*Modem).iccid,
	"+ICCID":  (*Modem).iccid,
	"+CICCID": (*Modem).iccid,
	"^ICCID":  (*Modem).iccid,
	"+QCCID":  (*Modem).iccid,
	"+CPIN":   (*Modem).cpin,
	"+CPINR":  (*Modem).pinCounter,
	"^CPIN":   (*Modem).pinCounter,
	"+QPINC":  (*Modem).pinCounter,
	"+COPS":   (*Modem).cops,
	"+CFUN":   (*Modem).cfun,
	"+CSCS":   (*Modem).cscs,
	"+CUSD":   (*Modem).cusd,
	"+CSMS":   (*Modem).csms,
	"+CSCA":   (*Modem).csca,
	"+CPMS":   (*Modem).cpms,
	"+CNMI":   (*Modem).cnmiCmd,
	"+CMGS":   (*Modem).cmgs,
	"+CMGW":   (*Modem).cmgw,
	"+CMGR":   (*Modem).cmgr,
	"+CMGL":   (*Modem).cmgl,
	"+CMGD":   (*Modem).cmgd,
}

// execLocked runs one command and returns its information text. An error
// is the final result; errPrompt means the modem now waits for a PDU.
func (m *Modem) execLocked(c atCmd) ([]string, error) {
	if h, ok := handlers[c.name]; ok {
		return h(m, c)
	}
	switch c.name {
	case "E":
		return nil, m.boolSetting(c.args, &m.set.echo)
	case "V":
		// Numeric result codes (V0) are not simulated; every AT library
		// bridged might use runs in verbose mode.
		if c.args == "" || c.args == "1" {
			return nil, nil
		}
		return nil, errPlain
	case "Q":
		if c.args == "" || c.args == "0" {
			return nil, nil
		}
		return nil, errPlain
	case "Z", "&F":
		m.set = defaultSettings()
		return nil, nil
	case "&C", "&D", "&K", "&W", "X", "H", "L", "M":
		return nil, nil
	case "I":
		return []string{m.cfg.Manufacturer, m.cfg.Model, "Revision: " + m.cfg.Revision}, nil
	case "+CGMI", "+GMI":
		return m.ident(c, m.cfg.Manufacturer)
	case "+CGMM", "+GMM":
		return m.ident(c, m.cfg.Model)
	case "+CGMR", "+GMR":
		return m.ident(c, m.cfg.Revision)
	case "+CGSN", "+GSN":
		return m.ident(c, m.cfg.IMEI)
	case "+GCAP":
		return []string{"+GCAP: +CGSM"}, nil
	case "+CIMI":
		if !m.pinOK {
			return nil, cmeErr(m.pinError())
		}
		return m.ident(c, m.cfg.IMSI)
	case "+CMEE":
		return m.intSetting(c, "+CMEE", &m.set.cmee, 0, 2, "(0-2)")
	case "+CSQ":
		switch c.kind {
		case kindTest:
			return []string{"+CSQ: (0-31,99),(0-7,99)"}, nil
		case kindExec:
			if m.fun != 1 {
				return []string{"+CSQ: 99,99"}, nil
			}
			return []string{fmt.Sprintf("+CSQ: %d,99", m.cfg.Signal)}, nil
		}
		return nil, errPlain
	case "+CREG":
		return m.creg(c, "+CREG", &m.set.creg)
	case "+CGREG":
		return m.creg(c, "+CGREG", &m.set.cgreg)
	case "+CMGF":
		// Text mode is refused: bridged speaks PDU mode only, and so
		// does any driver that handles UCS-2 and multipart properly.
		return extended(c, "+CMGF: (0)", func() string { return "+CMGF: 0" }, func([]param) ([]string, error) {
			if c.args == "0" {
				return nil, nil
			}
			return nil, cmsErr(CMSNotSupported)
		}, cmsErr(CMSNotSupported))
	case "+CSDH", "+CSMP":
		// Text mode parameters: accepted so that generic init strings
		// work, and meaningless in PDU mode.
		if c.kind == kindRead && c.name == "+CSDH" {
			return []string{"+CSDH: 0"}, nil
		}
		return nil, nil
	case "+CNMA":
		if c.kind == kindTest {
			return []string{"+CNMA: (0-2)"}, nil
		}
		// PDU mode allows +CNMA=<n>: 0 and 1 acknowledge; a negative
		// acknowledgement (2) is not offered.
		if c.kind == kindSet && c.args != "0" && c.args != "1" {
			return nil, cmsErr(CMSNotSupported)
		}
		if m.set.csms != 1 || !m.ackLocked() {
			return nil, cmsErr(CMSNoCNMAExpected)
		}
		return nil, nil
	case "+CMSS":
		info, act, err := m.cmss(c)
		m.sendAct = act
		return info, err
	}
	if strings.HasPrefix(c.name, "S") && c.name != "S" {
		return m.sRegister(c)
	}
	// Anything else is unknown to this modem: a bare ERROR whatever +CMEE
	// says, the result V.250 5.7.1 gives an unrecognised command. gammu
	// probes many commands this way (+CPROT, +SYNCML, +MODE) and moves on.
	m.log.Debug("unknown command", logCmd, c.String())
	return nil, errPlain
}

func (m *Modem) boolSetting(arg string, v *bool) error {
	switch arg {
	case "", "0":
		*v = false
	case "1":
		*v = true
	default:
		return errPlain
	}
	return nil
}

func (m *Modem) ident(c atCmd, v string) ([]string, error) {
	switch c.kind {
	case kindExec:
		return []string{v}, nil
	case kindTest:
		return nil, nil
	}
	return nil, errPlain
}

// extended answers an extended-syntax command (TS 27.007 4.1) that has a
// test, a read and a set form and no execution form, which answers ERROR:
// test is the test form's answer, read gives the read form's, and set gets
// the set form's parameters, or badParams is the answer when they do not
// split.
func extended(c atCmd, test string, read func() string, set func([]param) ([]string, error), badParams error) ([]string, error) {
	switch c.kind {
	case kindTest:
		return []string{test}, nil
	case kindRead:
		return []string{read()}, nil
	case kindSet:
		ps, err := splitParams(c.args)
		if err != nil {
			return nil, badParams
		}
		return set(ps)
	}
	return nil, errPlain
}

// intSetting is a setting of one number in lo..hi, as +CMEE; rng is its
// test form's range.
func (m *Modem) intSetting(c atCmd, name string, v *int, lo, hi int, rng string) ([]string, error) {
	return m.intSettingRead(c, name, v, lo, hi, rng, func() string { return fmt.Sprintf("%s: %d", name, *v) })
}

// intSettingRead is intSetting with its own read form.
func (m *Modem) intSettingRead(c atCmd, name string, v *int, lo, hi int, rng string, read func() string) ([]string, error) {
	return extended(c, name+": "+rng, read, func(ps []param) ([]string, error) {
		n, ok := intParam(ps, 0, lo, hi, 0)
		if len(ps) != 1 || !ok {
			return nil, cmeErr(cmeBadParameters)
		}
		*v = n
		return nil, nil
	}, cmeErr(cmeBadParameters))
}

func (m *Modem) sRegister(c atCmd) ([]string, error) {
	n, err := strconv.Atoi(c.name[1:])
	if err != nil {
		return nil, errPlain
	}
	if c.kind == kindRead {
		v := map[int]int{3: cr, 4: lf, 5: bs}[n]
		return []string{fmt.Sprintf("%03d", v)}, nil
	}
	return nil, nil
}

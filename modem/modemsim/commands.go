package modemsim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"bridged/pdu"
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

// cmgs starts AT+CMGS=<length> in PDU mode (TS 27.005 3.5.1): the modem
// prompts "> " and collects hex until Ctrl-Z.
func (m *Modem) cmgs(c atCmd) ([]string, error) { return m.startPrompt(c, "+CMGS", 1) }

// startPrompt is the start AT+CMGS and AT+CMGW share: a set command whose
// first parameter is the TPDU length, at most 164 octets (TS 23.040
// 9.2.2.2), and, for +CMGW only, a <stat>; the modem then prompts "> ".
func (m *Modem) startPrompt(c atCmd, name string, maxParams int) ([]string, error) {
	if set, err := setForm(c); !set {
		return nil, err
	}
	if err := m.smsReadyLocked(); err != nil {
		return nil, err
	}
	ps, err := splitParams(c.args)
	if err != nil || len(ps) == 0 || len(ps) > maxParams {
		return nil, cmsErr(CMSInvalidPDU)
	}
	n, ok1 := intParam(ps, 0, 1, 164, 0)
	stat, ok2 := intParam(ps, 1, 0, 3, StatUnsent)
	if !ok1 || !ok2 {
		return nil, cmsErr(CMSInvalidPDU)
	}
	m.prompt, m.promptCmd, m.promptLen, m.promptStat, m.pduBuf = true, name, n, stat, m.pduBuf[:0]
	m.emitLocked("\r\n> ")
	return nil, errPrompt
}

// maxPDUHex bounds what the prompt collects: a full SMSC prefix and the
// largest TPDU, in hex.
const maxPDUHex = 2 * (12 + 164)

// promptByteLocked collects the PDU after the "> " prompt. Ctrl-Z sends,
// ESC cancels with OK (TS 27.005 3.5.1). Input is echoed like command
// lines, without the Ctrl-Z.
func (m *Modem) promptByteLocked(c byte) func() {
	switch c {
	case esc:
		m.prompt = false
		m.finalLocked(nil)
		return nil
	case ctrlZ:
		m.prompt = false
		if m.promptCmd == "+CMGW" {
			m.storeLocked(string(m.pduBuf), m.promptLen, m.promptStat)
			return nil
		}
		return m.submitLocked(string(m.pduBuf), m.promptLen)
	case cr, lf:
		// Some drivers send the PDU as a line; the modem ignores line ends.
		if m.set.echo {
			m.emitLocked(string([]byte{c}))
		}
		return nil
	}
	if m.set.echo {
		m.emitLocked(string([]byte{c}))
	}
	if len(m.pduBuf) < maxPDUHex+2 {
		m.pduBuf = append(m.pduBuf, c)
	}
	return nil
}

// parsePDULocked checks what was typed after the prompt as a modem does
// before it stores or sends it: hex, and a TPDU exactly as long as the
// command declared (TS 27.005 3.5.1, 3.5.3), else +CMS ERROR: 304.
func (m *Modem) parsePDULocked(cmd, hexPDU string, declared int) ([]byte, *pdu.Message, error) {
	raw, err := hex.DecodeString(hexPDU)
	if err != nil || len(raw) == 0 {
		m.log.Debug("PDU refused", logCmd, cmd, logWhy, "not hex")
		return nil, nil, cmsErr(CMSInvalidPDU)
	}
	if got := len(raw) - 1 - int(raw[0]); got != declared {
		m.log.Debug("PDU refused", logCmd, cmd, logWhy, fmt.Sprintf("declared %d octets, the TPDU has %d", declared, got))
		return nil, nil, cmsErr(CMSInvalidPDU)
	}
	msg, err := pdu.DecodeBytes(raw)
	if err != nil {
		m.log.Debug("PDU refused", logCmd, cmd, logWhy, err)
		return nil, nil, cmsErr(CMSInvalidPDU)
	}
	return raw, msg, nil
}

// submitLocked ends AT+CMGS: only an SMS-SUBMIT can be sent.
func (m *Modem) submitLocked(hexPDU string, declared int) func() {
	raw, msg, err := m.parsePDULocked("+CMGS", hexPDU, declared)
	if err == nil && msg.Type != pdu.TypeSubmit {
		m.log.Debug("PDU refused", logCmd, "+CMGS", logWhy, "not an SMS-SUBMIT")
		err = cmsErr(CMSInvalidPDU)
	}
	if err != nil {
		m.finalLocked(err)
		return nil
	}
	return m.sendLocked("+CMGS", raw, nil)
}

// sendLocked hands an SMS-SUBMIT to the network, as AT+CMGS and AT+CMSS
// do, and returns the action that waits for the network and answers
// "<cmd>: <mr>". onSent, if set, runs under the lock once it is sent.
func (m *Modem) sendLocked(cmd string, raw []byte, onSent func()) func() {
	if !m.registeredLocked() {
		m.log.Debug("send refused: not registered")
		m.finalLocked(cmsErr(CMSNoNetwork))
		return nil
	}
	raw = append([]byte(nil), raw...)
	smscOctets := 1 + int(raw[0])
	code := m.sendOutcomeLocked()
	l := m.link
	latency := m.sendLatencyLocked()
	m.log.Debug("send accepted", logCmd, cmd, "latency", latency)
	return func() {
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return
			}
		}
		m.mu.Lock()
		if m.link != l {
			m.mu.Unlock()
			return
		}
		if code != 0 {
			m.log.Debug("send failed by fault", logCode, code)
			m.finalLocked(cmsErr(code))
			m.mu.Unlock()
			return
		}
		mr := m.mr
		m.mr++
		// The modem, not the client, numbers the message: TP-MR is the
		// octet after the first octet of the TPDU (TS 23.040 9.2.2.2).
		raw[smscOctets+1] = mr
		from := m.cfg.Number
		m.mu.Unlock()
		// The network has the message before the client reads "+CMGS", as
		// on air, where the answer is the service centre's acknowledgement.
		// Without the lock: the destination may be this very modem. URCs
		// it causes here are held until the final result (urcHold).
		m.net.submit(m, from, mr, strings.ToUpper(hex.EncodeToString(raw)))
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.link != l {
			return
		}
		if onSent != nil {
			onSent()
		}
		m.emitLocked(fmt.Sprintf("\r\n%s: %d\r\n", cmd, mr))
		m.finalLocked(nil)
	}
}

// cmgw starts AT+CMGW=<length>[,<stat>] (TS 27.005 3.5.3): like +CMGS, a
// prompt and a PDU, which is stored in mem2 instead of sent.
func (m *Modem) cmgw(c atCmd) ([]string, error) { return m.startPrompt(c, "+CMGW", 2) }

// storeLocked ends AT+CMGW: the PDU goes into mem2, "+CMGW: <index>".
func (m *Modem) storeLocked(hexPDU string, declared, stat int) {
	raw, _, err := m.parsePDULocked("+CMGW", hexPDU, declared)
	if err != nil {
		m.finalLocked(err)
		return
	}
	mem := m.storages[m.set.mem2]
	idx := mem.put(stat, strings.ToUpper(hex.EncodeToString(raw)), declared)
	if idx == 0 {
		m.finalLocked(cmsErr(CMSMemoryFull))
		return
	}
	m.emitLocked(fmt.Sprintf("\r\n+CMGW: %d\r\n", idx))
	m.finalLocked(nil)
}

// cmss is AT+CMSS=<index> (TS 27.005 3.5.2): send a stored SMS-SUBMIT from
// mem2 and mark it sent. A destination given as <da> is refused: it is a
// text-mode feature, and this modem speaks PDU mode only.
func (m *Modem) cmss(c atCmd) ([]string, func(), error) {
	if set, err := setForm(c); !set {
		return nil, nil, err
	}
	if err := m.smsReadyLocked(); err != nil {
		return nil, nil, err
	}
	ps, err := splitParams(c.args)
	if err != nil || len(ps) != 1 {
		return nil, nil, cmsErr(CMSInvalidPDU)
	}
	idx, ok := intParam(ps, 0, 1, 1<<16, 0)
	if !ok {
		return nil, nil, cmsErr(CMSInvalidIndex)
	}
	stored, _ := m.storages[m.set.mem2].get(idx)
	if stored == nil {
		return nil, nil, cmsErr(CMSInvalidIndex)
	}
	raw, err := hex.DecodeString(stored.PDU)
	if err != nil || len(raw) < 3 || 1+int(raw[0]) >= len(raw) || raw[1+int(raw[0])]&0x03 != 0x01 {
		// A received message cannot be sent (TS 23.040 9.2.3.1 TP-MTI).
		return nil, nil, cmsErr(CMSNotAllowed)
	}
	mem := m.storages[m.set.mem2]
	act := m.sendLocked("+CMSS", raw, func() { mem.setStat(stored, StatSent) })
	return nil, act, errSend
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

package modemsim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"bridged/pdu"
)

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

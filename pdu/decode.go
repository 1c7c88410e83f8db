package pdu

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Decode decodes a PDU as a modem prints it in PDU mode (+CMGR, +CMGL,
// +CMT, +CDS): hex, SMSC field first. Surrounding white space is ignored.
// The error is a *DecodeError for malformed input.
func Decode(hexPDU string) (*Message, error) {
	s := strings.TrimSpace(hexPDU)
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return nil, &DecodeError{Field: "hex", Offset: i / 2, Err: ErrHex, Detail: fmt.Sprintf("character %q at position %d", s[i], i)}
		}
	}
	if len(s)%2 != 0 {
		return nil, &DecodeError{Field: "hex", Offset: len(s) / 2, Err: ErrHex, Detail: fmt.Sprintf("odd number of hex digits (%d)", len(s))}
	}
	b, _ := hex.DecodeString(s)
	return DecodeBytes(b)
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// DecodeBytes decodes a binary PDU with its SMSC field; see Decode.
func DecodeBytes(b []byte) (*Message, error) {
	r := &reader{b: b}
	m := &Message{}
	var err error
	if m.SMSC, err = r.smsc(); err != nil {
		return nil, err
	}
	fo, err := r.byte("first octet")
	if err != nil {
		return nil, err
	}
	// The direction is implied: a modem prints MT messages (deliver, status
	// report) it received and MO messages (submit) it stored (TS 23.040 9.2.3.1).
	switch fo & 0x03 {
	case 0x00:
		m.Type = TypeDeliver
		err = r.deliver(m, fo)
	case 0x01:
		m.Type = TypeSubmit
		err = r.submit(m, fo)
	case 0x02:
		m.Type = TypeStatusReport
		err = r.statusReport(m)
	default:
		r.off--
		return nil, r.fail("TP-MTI", ErrReserved, "message type 3 is reserved")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// addressPIDDCS reads what SMS-DELIVER and SMS-SUBMIT share after their
// first fields: an address (TP-OA or TP-DA), TP-PID and TP-DCS.
func (r *reader) addressPIDDCS(field string) (string, dcs, error) {
	addr, err := r.address(field)
	if err != nil {
		return "", dcs{}, err
	}
	if _, err = r.byte("TP-PID"); err != nil {
		return "", dcs{}, err
	}
	d, err := r.dcs()
	if err != nil {
		return "", dcs{}, err
	}
	return addr, d, nil
}

func (r *reader) deliver(m *Message, fo byte) error {
	var err error
	var d dcs
	if m.From, d, err = r.addressPIDDCS("TP-OA"); err != nil {
		return err
	}
	if m.Timestamp, err = r.timestamp("TP-SCTS"); err != nil {
		return err
	}
	m.ReportRequested = fo&0x20 != 0
	return r.userData(m, d, fo&0x40 != 0)
}

func (r *reader) submit(m *Message, fo byte) error {
	mr, err := r.byte("TP-MR")
	if err != nil {
		return err
	}
	ref := int(mr)
	m.MessageRef = &ref
	var d dcs
	if m.To, d, err = r.addressPIDDCS("TP-DA"); err != nil {
		return err
	}
	switch (fo >> 3) & 0x03 { // TP-VPF (TS 23.040 9.2.3.3)
	case 0x02:
		v, err := r.byte("TP-VP")
		if err != nil {
			return err
		}
		m.Validity = relativeValidityDuration(v).String()
	case 0x01, 0x03: // enhanced or absolute: seven octets, not interpreted
		if _, err := r.take("TP-VP", 7); err != nil {
			return err
		}
	}
	m.ReportRequested = fo&0x20 != 0
	return r.userData(m, d, fo&0x40 != 0)
}

func (r *reader) statusReport(m *Message) error {
	mr, err := r.byte("TP-MR")
	if err != nil {
		return err
	}
	ref := int(mr)
	m.MessageRef = &ref
	if m.Recipient, err = r.address("TP-RA"); err != nil {
		return err
	}
	if m.Timestamp, err = r.timestamp("TP-SCTS"); err != nil {
		return err
	}
	if m.Discharge, err = r.timestamp("TP-DT"); err != nil {
		return err
	}
	st, err := r.byte("TP-ST")
	if err != nil {
		return err
	}
	status := int(st)
	m.Status = &status
	m.Outcome = StatusOutcome(st)
	// TP-PI and the optional PID, DCS and user data that may follow are
	// ignored: the outcome is all bridged needs, and some modems append
	// octets there that do not parse.
	return nil
}

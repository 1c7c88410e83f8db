package pdu

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms/encoding/gsm7"
)

// The encoders in this file build what the network side sends to a phone:
// SMS-DELIVER and SMS-STATUS-REPORT. bridged itself never sends these; the
// modem simulator does, so that a driver reads the same PDUs from it as from
// a real modem.

// Deliver describes one incoming text as a service centre hands it to a
// phone. From and Text are required.
type Deliver struct {
	// From is the originator: "+" and digits, national digits, or an
	// alphanumeric sender of up to 11 characters such as "MyBank"
	// (TS 23.040 9.1.2.5, type of number 101).
	From string
	Text string
	// SMSC is the service centre printed in the PDU-mode prefix; empty
	// gives "00".
	SMSC string
	// Timestamp is TP-SCTS; the zero time means time.Now().
	Timestamp time.Time
	// Flash sets message class 0.
	Flash bool
	// ReportIndication sets TP-SRI: the sender asked for a status report.
	ReportIndication bool
	// Ref is the concatenation reference of a multipart text.
	Ref uint8
	Options
}

// Encode builds the SMS-DELIVER PDUs for d, one per part, each with its
// SMSC prefix and Length as +CMGR would print it. It fails like
// Submit.Encode: ErrEmptyText, *TooManyPartsError, or a bad number.
func (d Deliver) Encode() (*Encoded, error) {
	if d.Text == "" {
		return nil, ErrEmptyText
	}
	oa, err := encodeOriginator(d.From)
	if err != nil {
		return nil, fmt.Errorf("originator: %w", err)
	}
	smsc, err := encodeSMSC(d.SMSC)
	if err != nil {
		return nil, fmt.Errorf("smsc: %w", err)
	}
	ts := d.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	scts := encodeTimestamp(ts)
	// First octet: TP-MTI SMS-DELIVER, TP-MMS set ("no more messages", as
	// the network has nothing queued behind it), TP-SRI, TP-RP 0.
	fo := byte(0x04)
	if d.ReportIndication {
		fo |= 0x20
	}
	return encodeParts(d.Text, d.Options, d.Ref, d.Flash, smsc, fo, func(fo, dcs byte, ud []byte) []byte {
		tp := make([]byte, 0, 176)
		tp = append(tp, fo)
		tp = append(tp, oa...)
		tp = append(tp, 0x00, dcs)
		tp = append(tp, scts...)
		return append(tp, ud...)
	})
}

// encodeOriginator returns TP-OA: a number as encodeAddress does, or an
// alphanumeric address whose length field counts the semi-octets the packed
// septets fill (TS 23.040 9.1.2.5).
func encodeOriginator(from string) ([]byte, error) {
	if _, _, err := parseNumber(from); err == nil {
		return encodeAddress(from)
	}
	septets, err := gsm7.Encode([]byte(from))
	if err != nil {
		return nil, fmt.Errorf("alphanumeric sender %q is not in the GSM alphabet: %w", from, err)
	}
	if len(septets) == 0 || len(septets) > 11 {
		return nil, fmt.Errorf("alphanumeric sender %q has %d septets, want 1 to 11", from, len(septets))
	}
	packed := gsm7.Pack7Bit(septets, 0)
	return append([]byte{byte((len(septets)*7 + 3) / 4), 0xd0}, packed...), nil
}

// encodeTimestamp returns TP-SCTS or TP-DT (TS 23.040 9.2.3.11): swapped
// decimal digits, and the zone in quarter hours with a sign bit. A zone
// that is not a whole number of quarter hours is rounded toward zero.
func encodeTimestamp(t time.Time) []byte {
	_, offset := t.Zone()
	quarters := offset / (15 * 60)
	neg := quarters < 0
	if neg {
		quarters = -quarters
	}
	swap := func(v int) byte { return byte(v/10) | byte(v%10)<<4 }
	out := []byte{
		swap(t.Year() % 100), swap(int(t.Month())), swap(t.Day()),
		swap(t.Hour()), swap(t.Minute()), swap(t.Second()), swap(quarters),
	}
	if neg {
		out[6] |= 0x08
	}
	return out
}

// StatusReport describes an SMS-STATUS-REPORT (TS 23.040 9.2.2.3): what the
// service centre tells the sender about one SMS-SUBMIT it accepted.
type StatusReport struct {
	SMSC string
	// MessageRef is the TP-MR the modem gave in "+CMGS: <mr>".
	MessageRef uint8
	// Recipient is TP-RA, the destination of the reported message.
	Recipient string
	// Timestamp is TP-SCTS: when the service centre accepted the message.
	Timestamp time.Time
	// Discharge is TP-DT: when the outcome happened.
	Discharge time.Time
	// Status is the raw TP-ST (TS 23.040 9.2.3.15): 0x00 delivered, 0x20-0x3F
	// still trying, 0x40 and up failed. StatusOutcome says what it means.
	Status byte
}

// Encode builds the status report as a modem prints it after "+CDS:" or in
// "+CMGR:": hex with the SMSC prefix, and the TPDU length. It fails only for
// an invalid number.
func (s StatusReport) Encode() (Part, error) {
	ra, err := encodeAddress(s.Recipient)
	if err != nil {
		return Part{}, fmt.Errorf("recipient: %w", err)
	}
	smsc, err := encodeSMSC(s.SMSC)
	if err != nil {
		return Part{}, fmt.Errorf("smsc: %w", err)
	}
	// First octet: TP-MTI status report, TP-MMS "no more messages", TP-SRQ 0
	// (the report is about an SMS-SUBMIT), no TP-UDHI.
	tp := []byte{0x06, s.MessageRef}
	tp = append(tp, ra...)
	tp = append(tp, encodeTimestamp(s.Timestamp)...)
	tp = append(tp, encodeTimestamp(s.Discharge)...)
	tp = append(tp, s.Status)
	// TP-PI is optional and left out: nothing follows TP-ST.
	return part(smsc, tp), nil
}

// ErrNotSubmit is returned by SubmitToDeliver for a PDU that is not an
// SMS-SUBMIT.
var ErrNotSubmit = errors.New("not an SMS-SUBMIT")

// SubmitInfo is what a service centre reads from an SMS-SUBMIT before
// relaying it: where it goes and whether the sender wants a report.
type SubmitInfo struct {
	To           string
	StatusReport bool
	// Length is the TPDU length in octets, without the SMSC prefix: what
	// AT+CMGS=<length> must declare (TS 27.005 3.5.1).
	Length int
}

// SubmitToDeliver turns an SMS-SUBMIT (PDU-mode hex with its SMSC prefix, as
// written after the AT+CMGS prompt) into the SMS-DELIVER the recipient's
// phone receives from smsc: the same TP-PID, TP-DCS, header and user data,
// so a multipart part stays a part and UCS-2 stays UCS-2, with from as TP-OA
// and scts as TP-SCTS (TS 23.040 9.2.2.1 and 9.2.2.2). It returns the
// deliver PDU with the facts of the submit, a *DecodeError for a malformed
// PDU, or ErrNotSubmit.
func SubmitToDeliver(submitHex, from, smsc string, scts time.Time) (Part, SubmitInfo, error) {
	b, err := hex.DecodeString(strings.TrimSpace(submitHex))
	if err != nil {
		return Part{}, SubmitInfo{}, &DecodeError{Field: "hex", Err: ErrHex, Detail: err.Error()}
	}
	// Decoding first checks every field and gives the caller the same errors
	// as Decode; the walk below then only copies octets.
	m, err := DecodeBytes(b)
	if err != nil {
		return Part{}, SubmitInfo{}, err
	}
	if m.Type != TypeSubmit {
		return Part{}, SubmitInfo{}, fmt.Errorf("%w: the PDU is an %s", ErrNotSubmit, m.Type)
	}
	r := &reader{b: b}
	if _, err := r.smsc(); err != nil {
		return Part{}, SubmitInfo{}, err
	}
	tpStart := r.off
	fo, _ := r.byte("first octet")
	_, _ = r.byte("TP-MR")
	daLen, _ := r.byte("TP-DA length")
	if _, err := r.take("TP-DA", 1+(int(daLen)+1)/2); err != nil {
		return Part{}, SubmitInfo{}, err
	}
	pidDCS, err := r.take("TP-PID and TP-DCS", 2)
	if err != nil {
		return Part{}, SubmitInfo{}, err
	}
	switch (fo >> 3) & 0x03 { // TP-VPF: the validity is the centre's business
	case 0x02:
		_, err = r.take("TP-VP", 1)
	case 0x01, 0x03:
		_, err = r.take("TP-VP", 7)
	}
	if err != nil {
		return Part{}, SubmitInfo{}, err
	}
	ud := r.b[r.off:] // TP-UDL and TP-UD, checked by DecodeBytes

	oa, err := encodeOriginator(from)
	if err != nil {
		return Part{}, SubmitInfo{}, fmt.Errorf("originator: %w", err)
	}
	smscField, err := encodeSMSC(smsc)
	if err != nil {
		return Part{}, SubmitInfo{}, fmt.Errorf("smsc: %w", err)
	}
	dfo := byte(0x04) | fo&0x40 | fo&0x80 // TP-MMS, and the submit's TP-UDHI and TP-RP
	if fo&0x20 != 0 {
		dfo |= 0x20 // TP-SRI mirrors TP-SRR
	}
	tp := []byte{dfo}
	tp = append(tp, oa...)
	tp = append(tp, pidDCS...)
	tp = append(tp, encodeTimestamp(scts)...)
	tp = append(tp, ud...)
	info := SubmitInfo{To: m.To, StatusReport: m.ReportRequested, Length: len(b) - tpStart}
	return part(smscField, tp), info, nil
}

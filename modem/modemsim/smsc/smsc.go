// Package smsc builds what the network side of SMS sends to a phone: the
// SMS-DELIVER of an incoming text and the SMS-STATUS-REPORT of a sent one
// (3GPP TS 23.040 9.2.2.1, 9.2.2.3), and the SMS-DELIVER a service centre
// relays for an SMS-SUBMIT it accepted. bridged itself never sends these;
// the modem simulator does, and tests use them to feed a driver the PDUs a
// real modem would print.
//
// A delivered text is encoded as the SMS-SUBMIT its sender's phone would
// write (pdu.Submit) and relayed like any other submit, so its
// segmentation, alphabets and headers are pdu's, and this package adds
// only the fields that differ on the network side.
package smsc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms/encoding/gsm7"

	"bridged/pdu"
)

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
	pdu.Options
}

// Encode builds the SMS-DELIVER PDUs for d, one per part, each with its
// SMSC prefix and Length as +CMGR would print it. It fails like
// pdu.Submit.Encode: pdu.ErrEmptyText, *pdu.TooManyPartsError, or a bad
// number.
func (d Deliver) Encode() (*pdu.Encoded, error) {
	if d.Text == "" {
		return nil, pdu.ErrEmptyText
	}
	oa, err := encodeOriginator(d.From)
	if err != nil {
		return nil, fmt.Errorf("originator: %w", err)
	}
	// The destination is not in a deliver, so any valid number does.
	sub, err := pdu.Submit{To: "0", Text: d.Text, SMSC: d.SMSC, Flash: d.Flash, Ref: d.Ref,
		StatusReport: d.ReportIndication, Options: d.Options}.Encode()
	if err != nil {
		return nil, err
	}
	ts := d.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	out := &pdu.Encoded{Encoding: sub.Encoding, Parts: make([]pdu.Part, 0, len(sub.Parts))}
	for _, p := range sub.Parts {
		b, err := hex.DecodeString(p.PDU)
		if err != nil {
			return nil, fmt.Errorf("part from pdu.Submit: %w", err)
		}
		deliver, _ := relay(b, oa, smscPrefix(b), ts)
		out.Parts = append(out.Parts, deliver)
	}
	return out, nil
}

// encodeOriginator returns TP-OA: a number as pdu.EncodeAddress writes it,
// or an alphanumeric address whose length field counts the semi-octets the
// packed septets fill (TS 23.040 9.1.2.5).
func encodeOriginator(from string) ([]byte, error) {
	if a, err := pdu.EncodeAddress(from); err == nil {
		return a, nil
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

// encodeSMSC returns the SMSC field of a PDU-mode PDU (TS 27.005 3.3.1):
// "00" for none, else the address whose length counts octets, the type
// octet included, rather than digits.
func encodeSMSC(number string) ([]byte, error) {
	if strings.TrimSpace(number) == "" {
		return []byte{0x00}, nil
	}
	addr, err := pdu.EncodeAddress(number)
	if err != nil {
		return nil, err
	}
	addr[0] = byte(len(addr) - 1)
	return addr, nil
}

// smscPrefix returns the SMSC field at the start of a PDU-mode PDU.
func smscPrefix(b []byte) []byte { return b[:1+int(b[0])] }

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

// part is a PDU as a modem prints it: hex of the SMSC field and the TPDU,
// and the TPDU's length alone.
func part(smsc, tp []byte) pdu.Part {
	full := append(append([]byte{}, smsc...), tp...)
	return pdu.Part{PDU: strings.ToUpper(hex.EncodeToString(full)), Length: len(tp)}
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
	// still trying, 0x40 and up failed. pdu.StatusOutcome says what it means.
	Status byte
}

// Encode builds the status report as a modem prints it after "+CDS:" or in
// "+CMGR:": hex with the SMSC prefix, and the TPDU length. It fails only for
// an invalid number.
func (s StatusReport) Encode() (pdu.Part, error) {
	ra, err := pdu.EncodeAddress(s.Recipient)
	if err != nil {
		return pdu.Part{}, fmt.Errorf("recipient: %w", err)
	}
	smsc, err := encodeSMSC(s.SMSC)
	if err != nil {
		return pdu.Part{}, fmt.Errorf("smsc: %w", err)
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
// deliver PDU with the facts of the submit, a *pdu.DecodeError for a
// malformed PDU, or ErrNotSubmit.
func SubmitToDeliver(submitHex, from, smsc string, scts time.Time) (pdu.Part, SubmitInfo, error) {
	// Decoding first checks every field and gives the caller the same errors
	// as pdu.Decode; relay then only copies octets.
	m, err := pdu.Decode(submitHex)
	if err != nil {
		return pdu.Part{}, SubmitInfo{}, err
	}
	if m.Type != pdu.TypeSubmit {
		return pdu.Part{}, SubmitInfo{}, fmt.Errorf("%w: the PDU is an %s", ErrNotSubmit, m.Type)
	}
	b, _ := hex.DecodeString(strings.TrimSpace(submitHex)) // checked by pdu.Decode
	oa, err := encodeOriginator(from)
	if err != nil {
		return pdu.Part{}, SubmitInfo{}, fmt.Errorf("originator: %w", err)
	}
	smscField, err := encodeSMSC(smsc)
	if err != nil {
		return pdu.Part{}, SubmitInfo{}, fmt.Errorf("smsc: %w", err)
	}
	deliver, length := relay(b, oa, smscField, scts)
	return deliver, SubmitInfo{To: m.To, StatusReport: m.ReportRequested, Length: length}, nil
}

// relay builds the SMS-DELIVER for a well-formed SMS-SUBMIT b (SMSC field
// first) behind smscField, with oa as TP-OA and scts as TP-SCTS, and
// returns it with the submit's TPDU length.
func relay(b, oa, smscField []byte, scts time.Time) (pdu.Part, int) {
	i := len(smscPrefix(b))
	tpStart := i
	fo := b[i]
	i += 2                   // first octet, TP-MR
	i += 2 + (int(b[i])+1)/2 // TP-DA: digit count, type, semi-octets
	pidDCS := b[i : i+2]
	i += 2
	switch (fo >> 3) & 0x03 { // TP-VPF: the validity is the centre's business
	case 0x02:
		i++
	case 0x01, 0x03:
		i += 7
	}
	ud := b[i:] // TP-UDL and TP-UD

	dfo := byte(0x04) | fo&0x40 | fo&0x80 // TP-MMS, and the submit's TP-UDHI and TP-RP
	if fo&0x20 != 0 {
		dfo |= 0x20 // TP-SRI mirrors TP-SRR
	}
	tp := []byte{dfo}
	tp = append(tp, oa...)
	tp = append(tp, pidDCS...)
	tp = append(tp, encodeTimestamp(scts)...)
	tp = append(tp, ud...)
	return part(smscField, tp), len(b) - tpStart
}

package pdu

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms/encoding/tpdu"
)

// Type is the kind of TPDU (TS 23.040 9.2.3.1), named as bridged prints it.
type Type string

// The TPDU types a modem prints in PDU mode.
const (
	TypeDeliver      Type = "deliver"
	TypeSubmit       Type = "submit"
	TypeStatusReport Type = "status-report"
)

// Concat is the concatenation element of a UDH (TS 23.040 9.2.3.24.1 and .8).
type Concat struct {
	Ref   int `json:"ref"`
	Total int `json:"total"`
	Seq   int `json:"seq"`
}

// Message is a decoded PDU. Which fields are set depends on Type; the JSON
// names are the `bridged pdu decode` contract.
type Message struct {
	Type Type `json:"type"`
	// SMSC is the service centre from the PDU-mode prefix; empty for "00".
	SMSC      string `json:"smsc,omitempty"`
	From      string `json:"from,omitempty"`      // deliver: the originator
	To        string `json:"to,omitempty"`        // submit: the destination
	Recipient string `json:"recipient,omitempty"` // status-report: who the reported message was for
	Text      string `json:"text"`
	// Data holds 8-bit user data, which is not text (WAP push, OTA, ...).
	Data     HexBytes `json:"data,omitempty"`
	Encoding Encoding `json:"encoding,omitempty"`
	// Class is the message class from the DCS; nil when none is given.
	Class *int `json:"class"`
	// Timestamp is the service-centre time stamp, in the sender's zone.
	Timestamp *time.Time `json:"timestamp,omitempty"`
	// Discharge is TP-DT of a status report: when the outcome happened.
	Discharge  *time.Time `json:"discharge,omitempty"`
	Concat     *Concat    `json:"concat"`
	MessageRef *int       `json:"message_ref,omitempty"`
	// Status is the raw TP-ST of a status report; Outcome is what it means.
	Status  *int    `json:"status,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	// ReportRequested is TP-SRR of a submit or TP-SRI of a deliver.
	ReportRequested bool `json:"report_requested,omitempty"`
	// Validity is the relative TP-VP of a submit, as a Go duration.
	Validity string `json:"validity,omitempty"`

	// ud is the user data after the header in units (septets for GSM7,
	// octets otherwise), kept so Reassemble can join parts before decoding:
	// other senders do split escapes and surrogate pairs across parts.
	ud  []byte
	udh tpdu.UserDataHeader
}

// HexBytes is binary data that reads as hex in JSON, as PDUs do.
type HexBytes []byte

// MarshalText returns upper-case hex.
func (h HexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

// The errors a DecodeError wraps, for errors.Is.

// ErrTruncated: the PDU ends before a field it announced.
var ErrTruncated = errors.New("PDU ends early")

// ErrOverrun: a length field counts past the end of the PDU.
var ErrOverrun = errors.New("length overruns the PDU")

// ErrReserved: a field holds a value TS 23.040 reserves.
var ErrReserved = errors.New("reserved value")

// ErrHex: the input holds a character that is not a hex digit, or an odd
// number of them.
var ErrHex = errors.New("not a hex string")

// ErrInvalid: a field's value is out of its range or malformed, or uses
// what the codec does not support (compressed user data).
var ErrInvalid = errors.New("invalid value")

// DecodeError says what is wrong with a PDU and where: Offset counts octets
// from the start of the PDU, SMSC field included.
type DecodeError struct {
	Field  string
	Offset int
	Detail string
	Err    error
}

func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("pdu: %s at octet %d: %v", e.Field, e.Offset, e.Err)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

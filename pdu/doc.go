// Package pdu is the gateway side of SMS in PDU mode (3GPP TS 23.040,
// TS 23.038, TS 27.005): it encodes outgoing text into SMS-SUBMIT PDUs and
// decodes the SMS-DELIVER and SMS-STATUS-REPORT PDUs that GSM modems print.
//
// It chooses between the GSM 7-bit default alphabet and UCS-2, splits long
// texts into concatenated parts without breaking an escape sequence or a
// surrogate pair, estimates the cost of a text without building PDUs, and
// reassembles multipart messages from parts that a caller has stored.
// The TPDU layout itself comes from github.com/warthog618/sms; the choices
// this package makes on top of it (segmentation, validity rounding, error
// offsets, status mapping, tolerant concatenation handling) are its own.
//
// The network side (SMS-DELIVER and SMS-STATUS-REPORT encoding) is not
// here: only the modem simulator needs it, in bridged/modem/modemsim/smsc,
// which builds on Submit and EncodeAddress.
package pdu

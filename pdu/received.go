package pdu

// Received is one PDU a modem received (a message or a status report), as
// it travels from the modem driver through the dispatcher to the store:
// decoded once, by DecodeReceived, with where the modem holds it. It lives
// here because both modem and queue import pdu and neither may import the
// other.
type Received struct {
	// Modem is the ID of the modem that received it.
	Modem string
	// PDU is the hex exactly as the modem printed it, SMSC field first.
	PDU string
	// Message is the decoded PDU, nil when it did not decode; DecodeErr
	// says why. An undecodable PDU is carried all the same, raw, so that
	// it is stored and its slot freed rather than dropped.
	Message   *Message
	DecodeErr error
	// Storage and Slot locate a stored PDU ("SM", 3; the +CMTI/+CMGL
	// index). Storage is empty for one routed directly (+CMT, +CDS),
	// which has no slot: see Direct.
	Storage string
	Slot    int
}

// DecodeReceived decodes a received PDU and says where it came from:
// storage and slot for a stored one, "" and -1 for one routed directly.
// A PDU that does not decode is returned with DecodeErr set.
func DecodeReceived(modem, hexPDU, storage string, slot int) Received {
	r := Received{Modem: modem, PDU: hexPDU, Storage: storage, Slot: slot}
	r.Message, r.DecodeErr = Decode(hexPDU)
	return r
}

// Direct reports whether the PDU was routed directly (+CMT, +CDS) rather
// than stored in the modem's memory: it is then acknowledged with
// AT+CNMA, not deleted from a slot.
func (r Received) Direct() bool { return r.Storage == "" }

// StatusReport reports whether the PDU decoded as a status report. The
// type in the PDU wins over where it was found: a report stored in "SM" is
// one, and an undecodable PDU from the report memory is stored raw like
// any other.
func (r Received) StatusReport() bool {
	return r.Message != nil && r.Message.Type == TypeStatusReport
}

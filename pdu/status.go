package pdu

// Outcome is what a status report says happened to a sent message.
type Outcome string

// The three outcomes of TS 23.040 9.2.3.15.
const (
	// OutcomeDelivered: the transaction is complete (received, forwarded
	// unconfirmed, or replaced).
	OutcomeDelivered Outcome = "delivered"
	// OutcomePending: a temporary error; the service centre is still trying,
	// and another report will follow.
	OutcomePending Outcome = "pending"
	// OutcomeFailed: a permanent error, or a temporary one the service
	// centre has given up on.
	OutcomeFailed Outcome = "failed"
)

// StatusOutcome maps a raw TP-ST value to its Outcome (TS 23.040 9.2.3.15).
// Values specific to a service centre (0x10-0x1F, 0x30-0x3F, 0x50-0x5F,
// 0x70-0x7F) take the meaning of their range. Reserved values are treated
// as "service rejected", as the specification asks of a receiving SME, and
// so count as failed; the raw value is kept in Message.Status.
func StatusOutcome(st byte) Outcome {
	switch {
	case st <= 0x02, st >= 0x10 && st <= 0x1f:
		return OutcomeDelivered
	case st >= 0x20 && st <= 0x25, st >= 0x30 && st <= 0x3f:
		return OutcomePending
	default:
		return OutcomeFailed
	}
}

package queue

import (
	"database/sql"
	"time"

	"bridged/pdu"
)

// Status is where an outgoing message is in its life. Queued and sending
// are transient; sent is final unless a delivery report was asked for;
// delivered, failed, expired and cancelled are final.
type Status string

// The states of an outgoing message. Transitions:
//
//	queued  -> sending (Claim) -> queued (Retry, Release, lease expiry, interrupted-send retry)
//	queued  -> cancelled (Cancel) | expired (validity passed before sending)
//	sending -> sent (last part confirmed) | failed (Fail, Retry out of attempts, interrupted-send fail)
//	sent    -> delivered (every part reported delivered) | failed (a part reported failed)
//
// A part reported failed while other parts are still to be sent does not
// stop the send: the message fails (sending -> sent -> failed) once its
// last part is recorded.
const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusCancelled Status = "cancelled"
)

// Valid reports whether s is one of the states above.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Priority orders the queue: higher first, then older first.
type Priority int

// Priorities the API offers.
const (
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// NewMessage is a message to enqueue. To and Text are required.
type NewMessage struct {
	// To is the recipient, already normalised by the caller (E.164 "+..."
	// from the HTTP API); the store does not reinterpret it.
	To       string
	Text     string
	Priority Priority
	// SendAt is the not-before time; zero means now.
	SendAt time.Time
	// ValidFor is how long after enqueueing the message may still be sent;
	// zero means no expiry. The dispatcher also passes what is left of it
	// to the network as TP-VP.
	ValidFor time.Duration
	// Flash asks for class 0.
	Flash bool
	// Report asks for a delivery report; without one, sent is final.
	Report bool
	// Modem, when set, restricts sending to that modem.
	Modem string
}

// Event is one entry of a message's history: each status change, in order.
type Event struct {
	Status Status
	At     time.Time
	Detail string
}

// SentPart is one part confirmed sent, with its delivery report if any.
type SentPart struct {
	Seq int
	// Ref is the TP-MR the modem answered +CMGS with.
	Ref    int
	Modem  string
	SentAt time.Time
	// Outcome is empty until a report arrives; ReportStatus is its raw TP-ST.
	Outcome      pdu.Outcome
	ReportStatus *int
	ReportedAt   *time.Time
}

// PartStatus is where one part of an outgoing message is.
type PartStatus string

// The states of a part.
const (
	// PartPending: not confirmed sent yet (it may be on the air when the
	// message is sending).
	PartPending PartStatus = "pending"
	// PartSent: the modem confirmed it (+CMGS answered with its
	// reference); no final report yet (none asked for, none arrived, or
	// the service centre is still trying).
	PartSent PartStatus = "sent"
	// PartDelivered: its report said delivered.
	PartDelivered PartStatus = "delivered"
	// PartFailed: its report said failed.
	PartFailed PartStatus = "failed"
)

// PartDetail is one part of a message with where it is.
type PartDetail struct {
	Seq    int
	Status PartStatus
	// Ref is the TP-MR of a sent part; nil while pending.
	Ref *int
	// ReportedAt is when its latest report arrived; nil without one.
	ReportedAt *time.Time
}

// PartDetails returns every part of the message, 1 to Parts, from
// SentParts (so only for a message from Get or Claim).
func (m *Message) PartDetails() []PartDetail {
	sent := make(map[int]SentPart, len(m.SentParts))
	for _, p := range m.SentParts {
		sent[p.Seq] = p
	}
	out := make([]PartDetail, 0, m.Parts)
	for i := 1; i <= m.Parts; i++ {
		d := PartDetail{Seq: i, Status: PartPending}
		if p, ok := sent[i]; ok {
			ref := p.Ref
			d.Status, d.Ref, d.ReportedAt = PartSent, &ref, p.ReportedAt
			switch p.Outcome {
			case pdu.OutcomeDelivered:
				d.Status = PartDelivered
			case pdu.OutcomeFailed:
				d.Status = PartFailed
			}
		}
		out = append(out, d)
	}
	return out
}

// Lease is a worker's claim on a message in StatusSending. Every call that
// changes a claimed message takes the lease and fails with ErrLeaseLost if
// the claim is no longer the current one.
type Lease struct {
	ID      int64
	Modem   string
	Attempt int
	Until   time.Time
	// Duration is the claim's length, by which PartSent extends it.
	Duration time.Duration
}

// Message is an outgoing message as stored.
type Message struct {
	ID       int64
	To       string
	Text     string
	Encoding pdu.Encoding
	Parts    int
	Priority Priority
	Flash    bool
	Report   bool
	// Modem restricts sending to one modem: the caller's choice, or the
	// modem that sent the first parts of a message interrupted half-way
	// (a phone joins parts only from one sender number).
	Modem  string
	Status Status
	// Attempts counts claims.
	Attempts int
	// ClaimedBy is the modem of the latest claim.
	ClaimedBy     string
	Error         *Error
	SendAt        *time.Time
	NextAttemptAt time.Time
	ExpiresAt     *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SentAt        *time.Time
	DeliveredAt   *time.Time
	// Lease is set on messages returned by Claim.
	Lease *Lease
	// SentParts lists the parts confirmed sent, by Seq (Get and Claim).
	SentParts []SentPart
	// Events is the history, oldest first (Get only).
	Events []Event
}

// Pending returns the part numbers not yet confirmed sent, in order: what a
// worker holding the message must send, and only that.
func (m *Message) Pending() []int {
	sent := make(map[int]bool, len(m.SentParts))
	for _, p := range m.SentParts {
		sent[p.Seq] = true
	}
	var out []int
	for i := 1; i <= m.Parts; i++ {
		if !sent[i] {
			out = append(out, i)
		}
	}
	return out
}

// ConcatRef is the concatenation reference for the message's parts. It is
// derived from the id so that a retry of the remaining parts, even after a
// restart, carries the reference of the parts already sent.
func (m *Message) ConcatRef() uint8 { return uint8(m.ID) }

const messageColumns = `id, to_number, body, encoding, parts, priority, flash, report, modem, status,
	attempts, claimed_by, error_code, error_message, send_at, due_at, expires_at, created_at,
	updated_at, sent_at, delivered_at, lease_until`

type rowScanner interface{ Scan(dest ...any) error }

// collect scans every row of rows with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanMessage(r rowScanner) (*Message, error) {
	var (
		m                                            Message
		enc, status                                  string
		modem, claimed, ecode, emsg                  sql.NullString
		sendAt, expires, sent, delivered, leaseUntil sql.NullInt64
		due, created, updated                        int64
	)
	if err := r.Scan(&m.ID, &m.To, &m.Text, &enc, &m.Parts, &m.Priority, &m.Flash, &m.Report, &modem,
		&status, &m.Attempts, &claimed, &ecode, &emsg, &sendAt, &due, &expires, &created, &updated,
		&sent, &delivered, &leaseUntil); err != nil {
		return nil, err
	}
	m.Encoding, m.Status = pdu.Encoding(enc), Status(status)
	m.Modem, m.ClaimedBy = modem.String, claimed.String
	if ecode.Valid || emsg.Valid {
		m.Error = &Error{Code: ecode.String, Message: emsg.String}
	}
	m.SendAt, m.ExpiresAt = timePtr(sendAt), timePtr(expires)
	m.SentAt, m.DeliveredAt = timePtr(sent), timePtr(delivered)
	m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = fromNanos(due), fromNanos(created), fromNanos(updated)
	if m.Status == StatusSending && leaseUntil.Valid {
		m.Lease = &Lease{ID: m.ID, Modem: m.ClaimedBy, Attempt: m.Attempts, Until: fromNanos(leaseUntil.Int64)}
	}
	return &m, nil
}

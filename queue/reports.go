package queue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"bridged/pdu"
)

// Report is a delivery report (SMS-STATUS-REPORT, TS 23.040 9.2.2.3) as
// the modem driver hands it over.
type Report struct {
	Modem string
	// Ref is TP-MR: the reference +CMGS answered for the part.
	Ref int
	// Recipient is TP-RA, in whatever form the network wrote it.
	Recipient string
	// Status is the raw TP-ST; Outcome is what it means.
	Status  int
	Outcome pdu.Outcome
	// Discharge is TP-DT, when the outcome happened; may be zero.
	Discharge time.Time
}

// ReportFromPDU builds a Report from a decoded status-report PDU.
func ReportFromPDU(modem string, m *pdu.Message) (Report, error) {
	if m == nil || m.Type != pdu.TypeStatusReport || m.MessageRef == nil || m.Status == nil {
		return Report{}, fmt.Errorf("report: not a status report: %w", ErrInvalid)
	}
	r := Report{Modem: modem, Ref: *m.MessageRef, Recipient: m.Recipient, Status: *m.Status, Outcome: m.Outcome}
	if m.Discharge != nil {
		r.Discharge = *m.Discharge
	}
	return r, nil
}

// Reported says which part a report matched and what the message became.
type Reported struct {
	MessageID int64
	Seq       int
	Status    Status
	// Held is true when no sent part matched: the report is kept for
	// Options.ReportHold and applied if its part is recorded meanwhile
	// (+CDS can beat the dispatcher's PartSent). MessageID is then 0.
	Held bool
}

// Report applies a delivery report to the part it matches: the most
// recently sent part from the same modem with the same reference and
// recipient, sent within Options.ReportWindow (references wrap at 256, so
// older parts no longer count). A message becomes delivered when all its
// parts are reported delivered and failed when any part is reported failed;
// a pending report (the centre keeps trying) is recorded on the part and
// leaves the message sent. A report that matches nothing is held (see
// Reported.Held). Either way it is stored when Report returns, and the
// modem may acknowledge it.
func (s *Store) Report(ctx context.Context, r Report) (Reported, error) {
	want := digits(r.Recipient)
	var out Reported
	err := s.write(ctx, func(w *wtx) error {
		out = Reported{}
		since := w.now.Add(-w.s.opts.ReportWindow)
		rows, err := w.Query(qReportCandidates, r.Modem, r.Ref, nanos(since))
		if err != nil {
			return err
		}
		type candidate struct {
			id   int64
			seq  int
			recp string
		}
		cands, err := collect(rows, func(r rowScanner) (candidate, error) {
			var c candidate
			err := r.Scan(&c.id, &c.seq, &c.recp)
			return c, err
		})
		if err != nil {
			return err
		}
		found := false
		for _, c := range cands {
			if sameNumber(c.recp, want) {
				out.MessageID, out.Seq, found = c.id, c.seq, true
				break
			}
		}
		if !found {
			out.Held = true
			_, err := w.Exec(qHoldReport, r.Modem, r.Ref, want, r.Status, string(r.Outcome), nullNanos(r.Discharge), nanos(w.now))
			return err
		}
		out.Status, err = w.applyReport(out.MessageID, out.Seq, r)
		return err
	})
	if err != nil {
		return Reported{}, fmt.Errorf("report: %w", err)
	}
	return out, nil
}

// applyReport records r on part seq of message id and moves the message
// on; it returns the message's status afterwards.
func (w *wtx) applyReport(id int64, seq int, r Report) (Status, error) {
	if _, err := w.Exec(qReportSet, r.Status, string(r.Outcome), nanos(w.now), id, seq); err != nil {
		return "", err
	}
	var (
		st    string
		parts int
	)
	if err := w.QueryRow(qReportMessage, id).Scan(&st, &parts); err != nil {
		return "", err
	}
	status := Status(st)
	switch r.Outcome {
	case pdu.OutcomeFailed:
		// While parts are still to be sent (sending, or queued for a retry
		// of the rest) the failure stays on the part: the worker holding
		// the message must get every part out, and PartSent fails the
		// message once the last one is recorded. A sent message fails now.
		if status != StatusSent {
			return status, nil
		}
		return StatusFailed, w.failIfUndelivered(id, parts)
	case pdu.OutcomeDelivered:
		if status != StatusSent {
			return status, nil
		}
		var n int
		if err := w.QueryRow(qDeliveredParts, id).Scan(&n); err != nil {
			return "", err
		}
		if n < parts {
			return status, nil
		}
		if _, err := w.Exec(qSetDelivered, nanos(w.now), nanos(w.now), id); err != nil {
			return "", err
		}
		detail := ""
		if !r.Discharge.IsZero() {
			detail = "delivered at " + r.Discharge.Format(time.RFC3339)
		}
		return StatusDelivered, w.event(id, StatusDelivered, detail)
	}
	return status, nil
}

// failIfUndelivered fails message id, of parts parts, with
// CodeDeliveryFailed when a report said one of its parts failed, naming
// every such part ("part 2 of 6 not delivered: status 0x41").
func (w *wtx) failIfUndelivered(id int64, parts int) error {
	sent, err := w.sentParts(id)
	if err != nil {
		return err
	}
	return w.failIfReported(id, parts, sent)
}

// failIfReported is failIfUndelivered for a write that already holds every
// sent part of the message, as qGetParts reads them (by seq).
func (w *wtx) failIfReported(id int64, parts int, sent []SentPart) error {
	var why []string
	for _, p := range sent {
		if p.Outcome != pdu.OutcomeFailed {
			continue
		}
		st := 0
		if p.ReportStatus != nil {
			st = *p.ReportStatus
		}
		why = append(why, fmt.Sprintf("part %d of %d not delivered: status 0x%02X", p.Seq, parts, st))
	}
	if len(why) == 0 {
		return nil
	}
	return w.fail(id, CodeDeliveryFailed, strings.Join(why, "; "))
}

// applyHeldReports applies reports held for the part just recorded.
func (w *wtx) applyHeldReports(id int64, seq int, modem string, ref int, recipient string) error {
	rows, err := w.Query(qHeldFor, modem, ref, nanos(w.now.Add(-w.s.opts.ReportHold)))
	if err != nil {
		return err
	}
	type held struct {
		id int64
		r  Report
	}
	var hs []held
	for rows.Next() {
		var (
			h         held
			recp, out string
			discharge sql.NullInt64
		)
		if err := rows.Scan(&h.id, &recp, &h.r.Status, &out, &discharge); err != nil {
			rows.Close()
			return err
		}
		if sameNumber(recp, recipient) {
			h.r.Outcome = pdu.Outcome(out)
			if discharge.Valid {
				h.r.Discharge = fromNanos(discharge.Int64)
			}
			hs = append(hs, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, h := range hs {
		if _, err := w.applyReport(id, seq, h.r); err != nil {
			return err
		}
		if _, err := w.Exec(qDeleteHeld, h.id); err != nil {
			return err
		}
	}
	return nil
}

// sameNumber compares two digit strings that may differ in prefix: the
// network may report "+447700900123" as "07700900123" or "447700900123".
// After dropping leading zeros, one must end with the other and the shorter
// must keep at least 7 digits, so that short codes do not match by accident.
func sameNumber(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if a == b {
		return true
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	return len(b) >= 7 && strings.HasSuffix(a, b)
}

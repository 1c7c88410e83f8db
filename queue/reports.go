package queue

import (
	"context"
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
}

// Report applies a delivery report to the part it matches: the most
// recently sent part from the same modem with the same reference and
// recipient, sent within Options.ReportWindow (references wrap at 256, so
// older parts no longer count). A message becomes delivered when all its
// parts are reported delivered and failed when any part is reported failed;
// a pending report (the centre keeps trying) is recorded on the part and
// leaves the message sent. A report that matches nothing fails with
// ErrNotFound; the modem may acknowledge it anyway, there is nothing to keep.
func (s *Store) Report(ctx context.Context, r Report) (Reported, error) {
	want := digits(r.Recipient)
	var out Reported
	err := s.write(ctx, func(w *wtx) error {
		out = Reported{}
		since := w.now.Add(-w.s.opts.ReportWindow)
		rows, err := w.query(qReportCandidates, r.Modem, r.Ref, nanos(since))
		if err != nil {
			return err
		}
		found := false
		for rows.Next() {
			var (
				id   int64
				seq  int
				recp string
			)
			if err := rows.Scan(&id, &seq, &recp); err != nil {
				rows.Close()
				return err
			}
			if sameNumber(recp, want) {
				out.MessageID, out.Seq, found = id, seq, true
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("modem %s reference %d recipient %s: %w", r.Modem, r.Ref, r.Recipient, ErrNotFound)
		}
		if _, err := w.exec(qReportSet, r.Status, string(r.Outcome), nanos(w.now), out.MessageID, out.Seq); err != nil {
			return err
		}
		var (
			st    string
			parts int
		)
		if err := w.queryRow(qReportMessage, out.MessageID).Scan(&st, &parts); err != nil {
			return err
		}
		out.Status = Status(st)
		switch r.Outcome {
		case pdu.OutcomeFailed:
			if out.Status != StatusSent && out.Status != StatusSending {
				return nil
			}
			out.Status = StatusFailed
			return w.fail(out.MessageID, CodeDeliveryFailed,
				fmt.Sprintf("part %d of %d not delivered: status 0x%02X", out.Seq, parts, r.Status))
		case pdu.OutcomeDelivered:
			if out.Status != StatusSent {
				return nil
			}
			var n int
			if err := w.queryRow(qDeliveredParts, out.MessageID).Scan(&n); err != nil {
				return err
			}
			if n < parts {
				return nil
			}
			if _, err := w.exec(qSetDelivered, nanos(w.now), nanos(w.now), out.MessageID); err != nil {
				return err
			}
			out.Status = StatusDelivered
			detail := ""
			if !r.Discharge.IsZero() {
				detail = "delivered at " + r.Discharge.Format(time.RFC3339)
			}
			return w.event(out.MessageID, StatusDelivered, detail)
		}
		return nil
	})
	if err != nil {
		return Reported{}, fmt.Errorf("report: %w", err)
	}
	return out, nil
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

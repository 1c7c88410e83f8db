package queue

// What a worker holding a claim reports: each part sent (PartSent), and
// how the claim ends (Retry, Release, Fail). Every call checks the lease.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// leased is a claimed message as a lease check sees it.
type leased struct {
	parts int
	to    string
}

// checkLease fails with ErrLeaseLost unless l is the message's current claim.
func (w *wtx) checkLease(l Lease) (leased, error) {
	var (
		status  string
		claimed sql.NullString
		att     int
		m       leased
	)
	err := w.QueryRow(qLeaseCheck, l.ID).Scan(&status, &claimed, &att, &m.parts, &m.to)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("message %d: %w", l.ID, ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	return m, l.heldOn(Status(status), claimed.String, att)
}

// heldOn fails with ErrLeaseLost unless a message in status, claimed by
// modem for attempt, is still under l.
func (l Lease) heldOn(status Status, modem string, attempt int) error {
	if status != StatusSending || modem != l.Modem || attempt != l.Attempt {
		return fmt.Errorf("message %d is %s (attempt %d on %q), lease is attempt %d on %q: %w",
			l.ID, status, attempt, modem, l.Attempt, l.Modem, ErrLeaseLost)
	}
	return nil
}

// leasedMessage is checkLease for a write that shows the message after
// its change (PartSent): the whole row, as Get reads it, in the same one
// query.
func (w *wtx) leasedMessage(l Lease) (*Message, error) {
	m, err := scanMessage(w.QueryRow(qGetMessage, l.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %d: %w", l.ID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if err := l.heldOn(m.Status, m.ClaimedBy, m.Attempts); err != nil {
		return nil, err
	}
	return m, nil
}

// PartSent records that part seq (1-based) of the leased message was sent
// with message reference ref, and extends the lease. When it is the last
// part not yet confirmed, the message becomes StatusSent. A part already
// recorded fails with ErrInvalid: a confirmed part is never sent again.
func (s *Store) PartSent(ctx context.Context, l Lease, seq, ref int) error {
	if err := s.write(ctx, func(w *wtx) error { return w.partSent(l, seq, ref) }); err != nil {
		return fmt.Errorf("part sent: %w", err)
	}
	return nil
}

// partSent is PartSent's work inside a write.
func (w *wtx) partSent(l Lease, seq, ref int) error {
	m, err := w.leasedMessage(l)
	if err != nil {
		return err
	}
	if seq < 1 || seq > m.Parts || ref < 0 || ref > 255 {
		return fmt.Errorf("part %d of %d, reference %d: %w", seq, m.Parts, ref, ErrInvalid)
	}
	if m.SentParts, err = w.sentParts(l.ID); err != nil {
		return err
	}
	at := slices.IndexFunc(m.SentParts, func(p SentPart) bool { return p.Seq >= seq })
	if at < 0 {
		at = len(m.SentParts)
	} else if m.SentParts[at].Seq == seq {
		return fmt.Errorf("part %d already sent: %w", seq, ErrInvalid)
	}
	if _, err := w.Exec(qInsertPart, l.ID, seq, l.Modem, ref, digits(m.To), nanos(w.now)); err != nil {
		return err
	}
	// As the row just inserted reads back (qGetParts, by seq).
	now := fromNanos(nanos(w.now))
	m.SentParts = slices.Insert(m.SentParts, at, SentPart{Seq: seq, Ref: ref, Modem: l.Modem, SentAt: now})
	if len(m.SentParts) < m.Parts {
		if l.Duration > 0 { // a lease not from Claim keeps its end
			if _, err := w.Exec(qRenew, nanos(w.now.Add(l.Duration)), nanos(w.now), l.ID); err != nil {
				return err
			}
		}
	} else {
		if _, err := w.Exec(qSetSent, nanos(w.now), nanos(w.now), l.ID); err != nil {
			return err
		}
		// The row as qSetSent left it, as Get would read it: the
		// event is rendered without reading the message back.
		m.Status, m.SentAt, m.UpdatedAt, m.Error, m.Lease = StatusSent, &now, now, nil, nil
		detail := fmt.Sprintf("%d part(s) sent by modem %s", m.Parts, l.Modem)
		if err := w.changed(m, StatusSent, detail); err != nil {
			return err
		}
		// A part reported failed while the others were still going
		// out fails the message now that all of them are out.
		if err := w.failIfReported(l.ID, m.Parts, m.SentParts); err != nil {
			return err
		}
	}
	// After the status change, so that a held "delivered" for the
	// last part finds the message sent and completes it.
	return w.applyHeldReports(l.ID, seq, l.Modem, ref, digits(m.To))
}

// Retry gives a claimed message back after a transient error: it becomes
// queued again with its next attempt after an exponential backoff with
// jitter, or failed with e once Options.MaxAttempts claims were used. Parts
// already sent stay sent, and the message stays on that modem.
func (s *Store) Retry(ctx context.Context, l Lease, e Error) error {
	return s.endClaim(ctx, "retry", l, func(w *wtx) error {
		if l.Attempt >= w.s.opts.MaxAttempts {
			msg := fmt.Sprintf("%s (gave up after %d attempts)", e.Message, l.Attempt)
			return w.fail(l.ID, e.Code, msg)
		}
		d := w.s.backoff(l.Attempt)
		detail := fmt.Sprintf("retry in %v: %s", d.Round(time.Millisecond), errText(e))
		return w.requeue(l.ID, l.Modem, w.now.Add(d), 0, &e, detail)
	})
}

// Release gives a claimed message back untried (its modem went down before
// sending anything): queued, due now, and the claim does not count as an
// attempt. A worker that sent some parts calls Retry instead.
func (s *Store) Release(ctx context.Context, l Lease) error {
	return s.endClaim(ctx, "release", l, func(w *wtx) error {
		return w.requeue(l.ID, l.Modem, w.now, -1, nil, "released by modem "+l.Modem)
	})
}

// Fail fails a claimed message permanently with e (an invalid number, a
// barred destination).
func (s *Store) Fail(ctx context.Context, l Lease, e Error) error {
	return s.endClaim(ctx, "fail", l, func(w *wtx) error { return w.fail(l.ID, e.Code, e.Message) })
}

// endClaim runs end, which ends the claim l, in one write once it has
// checked that l is still the message's claim.
func (s *Store) endClaim(ctx context.Context, op string, l Lease, end func(*wtx) error) error {
	return s.writeAs(ctx, op, func(w *wtx) error {
		if _, err := w.checkLease(l); err != nil {
			return err
		}
		return end(w)
	})
}

func (w *wtx) fail(id int64, code, msg string) error {
	if _, err := w.Exec(qSetFailed, nullString(code), msg, nanos(w.now), id); err != nil {
		return err
	}
	return w.event(id, StatusFailed, errText(Error{Code: code, Message: msg}))
}

// requeue returns a message to the queue. If any part was sent, the message
// is pinned to modem: a phone joins parts only from one sender number.
func (w *wtx) requeue(id int64, modem string, due time.Time, attemptDelta int, e *Error, detail string) error {
	seqs, err := w.sentSeqs(id)
	if err != nil {
		return err
	}
	var pin sql.NullString
	if len(seqs) > 0 {
		pin = nullString(modem)
	} else {
		// Keep the caller's own restriction, if any.
		var cur sql.NullString
		if err := w.QueryRow(qModemOf, id).Scan(&cur); err != nil {
			return err
		}
		pin = cur
	}
	var code, msg sql.NullString
	if e != nil {
		code, msg = nullString(e.Code), sql.NullString{String: e.Message, Valid: true}
	}
	if _, err := w.Exec(qRequeue, nanos(due), pin, attemptDelta, code, msg, nanos(w.now), id); err != nil {
		return err
	}
	return w.event(id, StatusQueued, detail)
}

func (w *wtx) sentParts(id int64) ([]SentPart, error) {
	rows, err := w.Query(qGetParts, id)
	if err != nil {
		return nil, err
	}
	return scanParts(rows)
}

func (w *wtx) sentSeqs(id int64) ([]int, error) { return column[int](w, qSentSeqs, id) }

// digits keeps the digits of a number: report matching compares numbers
// whatever their written form ("+44 7700", "447700").
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r < '0' || r > '9' {
			return -1 // dropped
		}
		return r
	}, s)
}

// PartSentClaim is PartSent followed, in the same write, by a claim of the
// next message: each of reqs in turn until one claims (a modem with routes
// asks for its own recipients first). A modem that keeps sending so commits
// once between two messages, not twice; each commit is an fsync, which is
// most of what a message costs the daemon (bench/README.md).
//
// When the claim finds nothing and still is not nil, the same write parks
// reqs (Park, with still): a message queued by any later commit is claimed
// for the caller in that commit, with no window between this write and a
// park of the caller's own in which a message would wait for a claim
// commit. The caller must then Unpark the park, as Park says, also when
// the error is not nil (the write may have parked before its commit
// failed).
func (s *Store) PartSentClaim(ctx context.Context, l Lease, seq, ref int, still func() bool, reqs ...ClaimRequest) (Next, error) {
	reqs, err := checkClaims(reqs)
	if err != nil {
		return Next{}, fmt.Errorf("part sent: claim: %w", err)
	}
	for i := range reqs {
		reqs[i].Limit = 1 // Next holds one message
	}
	var next Next
	err = s.write(ctx, func(w *wtx) error {
		if err := w.partSent(l, seq, ref); err != nil {
			return err
		}
		var err error
		if next.Message, next.Looked, err = w.claimFirst(reqs); err != nil || !next.Looked || next.Message != nil || still == nil {
			return err
		}
		// Park refuses only a closed store, whose commit this is not.
		next.Park, err = s.Park(still, reqs...)
		return err
	})
	if err != nil {
		return Next{Park: next.Park}, fmt.Errorf("part sent: %w", err)
	}
	return next, nil
}

// Next is what PartSentClaim found after the part.
type Next struct {
	// Message is the next message, claimed; nil when none was due.
	Message *Message
	// Looked says the claim ran: false when it failed and was rolled
	// back alone (the caller's own Claim then meets, and reports, whatever
	// made it fail).
	Looked bool
	// Park is the claim parked when nothing was due (still given).
	Park *Park
}

// claimFirst claims under a savepoint of its own the first message one of
// reqs finds, so that its failure leaves the rest of the write in place
// (ok false). Only a failure to end the savepoint is an error: the
// transaction is then unusable.
func (w *wtx) claimFirst(reqs []ClaimRequest) (m *Message, ok bool, err error) {
	logged := len(w.changes)
	var claimed []*Message
	undone, err := w.savepoint("claim", func() error {
		var err error
		claimed, err = w.claimFirstOf(reqs)
		return err
	})
	switch {
	case err != nil:
		return nil, false, err
	case undone != nil:
		// Its status changes never happened: they are not logged.
		w.changes = w.changes[:logged]
		return nil, false, nil
	case len(claimed) == 0:
		return nil, true, nil
	}
	return claimed[0], true, nil
}

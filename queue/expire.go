package queue

// What ends a message or a claim without its worker: an interrupted send
// (Interrupted, a lease that ran out, a restart) and validity expiry.

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Interrupted ends a claim whose send was cut off mid-part (the modem
// disconnected while AT+CMGS was in flight), at once and by
// Options.Interrupted, exactly as a lease that ran out would: the part may
// have been on the air. With RetryInterrupted the message is due again
// now, on any modem unless parts were confirmed; with FailInterrupted it
// fails with CodeMayHaveBeenSent. why says what happened.
func (s *Store) Interrupted(ctx context.Context, l Lease, why string) error {
	return s.endClaim(ctx, "interrupted", l, func(w *wtx) error { return w.interrupted(l.ID, why) })
}

// interrupted applies Options.Interrupted to a message left in sending. The
// part that may have been on the air is the first one not confirmed: the
// dispatcher sends parts in order, and a claim is followed by AT+CMGS at
// once, so even a claim with no confirmed part may have sent part 1.
func (w *wtx) interrupted(id int64, why string) error {
	var (
		parts, attempts int
		claimed         sql.NullString
	)
	if err := w.QueryRow(qInterruptInfo, id).Scan(&parts, &attempts, &claimed); err != nil {
		return err
	}
	seqs, err := w.sentSeqs(id)
	if err != nil {
		return err
	}
	inFlight := 1
	for _, n := range seqs {
		if n == inFlight {
			inFlight++
		}
	}
	what := fmt.Sprintf("%s: part %d of %d may have been sent", why, inFlight, parts)
	if len(seqs) > 0 {
		what += fmt.Sprintf(" (parts %s confirmed)", joinInts(seqs))
	}
	if w.s.opts.Interrupted == FailInterrupted || attempts >= w.s.opts.MaxAttempts {
		return w.fail(id, CodeMayHaveBeenSent, what)
	}
	return w.requeue(id, claimed.String, w.now, 0, nil, what+"; sending it again")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (w *wtx) recoverExpiredLeases() error {
	ids, err := column[int64](w, qLeaseExpired, nanos(w.now))
	if err != nil {
		return fmt.Errorf("recover expired leases: %w", err)
	}
	for _, id := range ids {
		if err := w.interrupted(id, "lease expired"); err != nil {
			return fmt.Errorf("recover message %d: %w", id, err)
		}
	}
	return nil
}

// recoverInterrupted runs at Open: no worker of this process exists yet, so
// every message in sending was left by a previous run.
func (s *Store) recoverInterrupted(ctx context.Context) error {
	err := s.write(ctx, func(w *wtx) error {
		ids, err := column[int64](w, qAllSending)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := w.interrupted(id, "interrupted by a restart"); err != nil {
				return fmt.Errorf("message %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover interrupted sends: %w", err)
	}
	return nil
}

// timedOut ends what time ran out on: claims whose lease ended (by
// Options.Interrupted), then queued messages past their validity, whose
// number it returns. In this order a message whose claim ran out after its
// validity ended is expired in the same transaction.
func (w *wtx) timedOut() (int, error) {
	if err := w.recoverExpiredLeases(); err != nil {
		return 0, err
	}
	return w.expireDue()
}

func (w *wtx) expireDue() (int, error) {
	ids, err := column[int64](w, qExpireDue, nanos(w.now))
	if err != nil {
		return 0, fmt.Errorf("expire: %w", err)
	}
	for _, id := range ids {
		msg := "validity ended before it could be sent"
		if _, err := w.Exec(qSetExpired, CodeExpired, msg, nanos(w.now), id); err != nil {
			return 0, fmt.Errorf("expire message %d: %w", id, err)
		}
		if err := w.event(id, StatusExpired, msg); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Expire moves queued messages whose validity has ended to StatusExpired
// and returns how many, and recovers claims whose lease ran out (by
// Options.Interrupted). Claim does both too; a dispatcher calls Expire at
// NextDeadline so that this happens on time even when no modem claims.
func (s *Store) Expire(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		var err error
		n, err = w.timedOut()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire: %w", err)
	}
	return n, nil
}

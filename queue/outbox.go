package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bridged/pdu"
)

// Enqueued is what Enqueue stored, or found stored under the same key.
type Enqueued struct {
	Messages []*Message
	// Replayed is true when the idempotency key was seen before with the
	// same body: Messages are the originals, in their current state.
	Replayed bool
}

// Enqueue durably stores msgs, one message each, and returns them once the
// transaction holding them has committed. With a non-empty key, a repeat of
// the same key and body returns the original messages (Replayed), and the
// same key with a different body fails with ErrIdempotencyConflict. A text
// that needs more than Options.Encoding.MaxParts parts fails with a
// *pdu.TooManyPartsError; an empty text with pdu.ErrEmptyText; an empty
// recipient or a negative validity with ErrInvalid.
//
// Keys are global to the store; a caller serving several clients should
// prefix keys with the client's identity.
func (s *Store) Enqueue(ctx context.Context, key string, msgs ...NewMessage) (Enqueued, error) {
	if len(msgs) == 0 {
		return Enqueued{}, fmt.Errorf("enqueue: no messages: %w", ErrInvalid)
	}
	costs := make([]pdu.Cost, len(msgs))
	for i, m := range msgs {
		switch {
		case strings.TrimSpace(m.To) == "":
			return Enqueued{}, fmt.Errorf("enqueue: message %d: empty recipient: %w", i+1, ErrInvalid)
		case m.Text == "":
			return Enqueued{}, fmt.Errorf("enqueue: message %d: %w", i+1, pdu.ErrEmptyText)
		case m.ValidFor < 0:
			return Enqueued{}, fmt.Errorf("enqueue: message %d: negative validity %v: %w", i+1, m.ValidFor, ErrInvalid)
		case m.Priority != PriorityNormal && m.Priority != PriorityHigh:
			return Enqueued{}, fmt.Errorf("enqueue: message %d: priority %d: %w", i+1, m.Priority, ErrInvalid)
		}
		costs[i] = pdu.Estimate(m.Text, s.opts.Encoding)
		if limit := s.opts.Encoding.MaxParts; costs[i].Parts > limit {
			return Enqueued{}, fmt.Errorf("enqueue: message %d: %w", i+1, &pdu.TooManyPartsError{Needed: costs[i].Parts, Max: limit})
		}
	}
	var hash []byte
	if key != "" {
		hash = bodyHash(msgs)
	}
	var out Enqueued
	err := s.write(ctx, func(w *wtx) error {
		out = Enqueued{}
		if key != "" {
			var prev []byte
			switch err := w.queryRow(qIdemGet, key).Scan(&prev); {
			case err == nil:
				if !bytes.Equal(prev, hash) {
					return ErrIdempotencyConflict
				}
				ms, err := w.messagesByKey(key)
				if err != nil {
					return err
				}
				out = Enqueued{Messages: ms, Replayed: true}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := w.exec(qIdemInsert, key, hash, nanos(w.now)); err != nil {
				return err
			}
		}
		for i, nm := range msgs {
			m := &Message{
				To: nm.To, Text: nm.Text, Encoding: costs[i].Encoding, Parts: costs[i].Parts,
				Priority: nm.Priority, Flash: nm.Flash, Report: nm.Report, Modem: nm.Modem,
				Status: StatusQueued, CreatedAt: w.now, UpdatedAt: w.now, NextAttemptAt: w.now,
			}
			if !nm.SendAt.IsZero() {
				t := nm.SendAt.UTC()
				m.SendAt = &t
				if t.After(w.now) {
					m.NextAttemptAt = t
				}
			}
			if nm.ValidFor > 0 {
				t := w.now.Add(nm.ValidFor)
				m.ExpiresAt = &t
			}
			var expires sql.NullInt64
			if m.ExpiresAt != nil {
				expires = nullNanos(*m.ExpiresAt)
			}
			var sendAt sql.NullInt64
			if m.SendAt != nil {
				sendAt = nullNanos(*m.SendAt)
			}
			res, err := w.exec(qInsertMessage, m.To, m.Text, string(m.Encoding), m.Parts, int(m.Priority),
				m.Flash, m.Report, nullString(m.Modem), sendAt, nanos(m.NextAttemptAt), expires,
				nullString(key), nanos(w.now), nanos(w.now))
			if err != nil {
				return err
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			if err := w.event(m.ID, StatusQueued, ""); err != nil {
				return err
			}
			out.Messages = append(out.Messages, m)
		}
		return nil
	})
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue: %w", err)
	}
	return out, nil
}

// bodyHash identifies a request body for idempotency: every field that
// changes what would be sent, in a fixed layout.
func bodyHash(msgs []NewMessage) []byte {
	h := sha256.New()
	var b [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	str := func(v string) {
		num(int64(len(v)))
		h.Write([]byte(v))
	}
	flag := func(v bool) {
		if v {
			num(1)
		} else {
			num(0)
		}
	}
	num(int64(len(msgs)))
	for _, m := range msgs {
		str(m.To)
		str(m.Text)
		num(int64(m.Priority))
		if m.SendAt.IsZero() {
			num(0)
		} else {
			num(m.SendAt.UnixNano())
		}
		num(int64(m.ValidFor))
		flag(m.Flash)
		flag(m.Report)
		str(m.Modem)
	}
	return h.Sum(nil)
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func (w *wtx) messagesByKey(key string) ([]*Message, error) {
	rows, err := w.query(qIdemMessages, key)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMessage)
}

// ClaimRequest asks for due messages for one modem.
//
// Routing is decided here, from the claiming modem's routes and the other
// modems that can send now (Peers), by one rule. A modem is allowed to send
// a message that is not restricted to another modem when it has a route
// (prefix) matching the recipient, when it has no routes at all, or when no
// modem that can send now has a matching route. Among the allowed, a
// message routed to a peer is left to that peer, so that routes are
// preferences, with one exception: once the message's last attempt failed
// on that peer, a modem without routes may take it (failover). A modem
// leaves its own failed attempts to a peer allowed to send them, so that a
// transient error is retried elsewhere when there is an elsewhere. A
// message pinned to one modem (by the caller, or by parts already sent:
// a phone joins parts only from one sender) goes to that modem only.
type ClaimRequest struct {
	// Modem is the claiming modem's id; messages restricted to another
	// modem are not claimed.
	Modem string
	// Limit is the most messages to claim; 0 means 1.
	Limit int
	// Lease is how long the claim lasts without a PartSent; after
	// that the message is recovered like an interrupted send. It must
	// exceed the modem's send timeout.
	Lease time.Duration
	// Routes are the claiming modem's recipient prefixes ("+44"); none
	// means it sends anything.
	Routes []string
	// Prefixes, when not empty, limits the claim to recipients starting
	// with one of them: a modem with routes asks for those first.
	Prefixes []string
	// Peers are the other modems that can send now, with their routes.
	// A modem that cannot send now (not ready, or waiting for its rate
	// limit) is not a peer: it holds nothing back.
	Peers []Peer
	// After is for NextDue only: the time of the claim that found nothing,
	// so that a message falling due between that claim and NextDue is
	// reported too instead of waiting for the next wake. Zero means now.
	After time.Time
}

// Peer is another modem that can send now, and its routes.
type Peer struct {
	Modem  string
	Routes []string
}

// Claim moves up to req.Limit due messages (queued, not-before time and
// retry time passed, not expired, routable to req.Modem) to StatusSending
// under a lease and returns them, highest priority first, then oldest. In
// the same transaction it recovers claims whose lease expired (by
// Options.Interrupted) and expires queued messages past their validity.
func (s *Store) Claim(ctx context.Context, req ClaimRequest) ([]*Message, error) {
	if req.Modem == "" || req.Lease <= 0 {
		return nil, fmt.Errorf("claim: modem and lease are required: %w", ErrInvalid)
	}
	if req.Limit <= 0 {
		req.Limit = 1
	}
	filter, prefixArgs := claimFilter(req)
	q := qClaimable + filter + qClaimOrder
	var out []*Message
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		if _, err := w.timedOut(); err != nil {
			return err
		}
		args := append([]any{nanos(w.now), req.Modem, nanos(w.now)}, prefixArgs...)
		args = append(args, req.Limit)
		rows, err := w.query(q, args...)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanMessage); err != nil {
			return err
		}
		until := w.now.Add(req.Lease)
		for _, m := range out {
			if _, err := w.exec(qClaimUpdate, req.Modem, nanos(until), nanos(w.now), m.ID); err != nil {
				return err
			}
			m.Status, m.ClaimedBy, m.UpdatedAt = StatusSending, req.Modem, w.now
			m.Attempts++
			m.Lease = &Lease{ID: m.ID, Modem: req.Modem, Attempt: m.Attempts, Until: until, Duration: req.Lease}
			// Parts confirmed by an earlier attempt are never sent again.
			if m.SentParts, err = w.sentParts(m.ID); err != nil {
				return err
			}
			if err := w.event(m.ID, StatusSending, fmt.Sprintf("attempt %d on modem %s", m.Attempts, req.Modem)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// claimPeersExample is a claim filter with routes and peers of both kinds,
// for the query-plan test.
var claimPeersExample, _ = claimFilter(ClaimRequest{Modem: "a", Routes: []string{"+44"},
	Peers: []Peer{{Modem: "b", Routes: []string{"+86", "+852"}}, {Modem: "c"}}})

// claimFilter narrows the claimable messages to what req may take, by the
// rule on ClaimRequest.
func claimFilter(req ClaimRequest) (string, []any) {
	var (
		q    string
		args []any
	)
	// match is an SQL condition that holds for recipients starting with
	// one of prefixes; "" when there are none (it would never hold).
	match := func(prefixes []string) string {
		var or []string
		for _, p := range prefixes {
			or = append(or, "substr(to_number, 1, ?) = ?")
			args = append(args, len(p), p)
		}
		if len(or) == 0 {
			return ""
		}
		return "(" + strings.Join(or, " OR ") + ")"
	}
	if m := match(req.Prefixes); m != "" {
		q += " AND " + m
	}
	// A failed attempt on modem ? that another modem may now retry: only
	// messages that can go anywhere, not those pinned to one modem.
	const failedOn = "(modem IS NULL AND claimed_by = ? AND error_code IS NOT NULL)"
	var (
		peerRoutes []string
		general    bool // a peer without routes may send anything
	)
	for _, p := range req.Peers {
		peerRoutes = append(peerRoutes, p.Routes...)
		if len(p.Routes) == 0 {
			general = true
			continue
		}
		if len(req.Routes) == 0 {
			// Left to the peer the recipient is routed to, unless it just
			// failed there: this modem, without routes, may retry it.
			q += " AND NOT (modem IS NULL AND " + match(p.Routes) + " AND NOT " + failedOn + ")"
			args = append(args, p.Modem)
		}
	}
	if len(req.Routes) > 0 && len(peerRoutes) > 0 {
		// Left to the peers the recipient is routed to, unless it is one
		// of this modem's own routes too. One condition for all peers:
		// the exception does not depend on the peer.
		q += " AND NOT (modem IS NULL AND " + match(peerRoutes) + " AND NOT " + match(req.Routes) + ")"
	}
	switch {
	case general:
		// A peer without routes is allowed to send anything.
		q += " AND NOT " + failedOn
		args = append(args, req.Modem)
	case len(req.Peers) > 0:
		// A peer with routes is allowed to send what matches them, and
		// what matches no ready modem's route (neither this modem's nor
		// any peer's).
		// Without routes of its own, everything of this modem's is one or
		// the other.
		q += " AND NOT (" + failedOn
		args = append(args, req.Modem)
		if len(req.Routes) > 0 {
			q += " AND (" + match(peerRoutes) + " OR NOT " + match(req.Routes) + ")"
		}
		q += ")"
	}
	return q, args
}

func (w *wtx) sentParts(id int64) ([]SentPart, error) {
	rows, err := w.query(qGetParts, id)
	if err != nil {
		return nil, err
	}
	return scanParts(rows)
}

func scanParts(rows *sql.Rows) ([]SentPart, error) {
	defer rows.Close()
	var out []SentPart
	for rows.Next() {
		var (
			p       SentPart
			sent    int64
			outcome sql.NullString
			st, at  sql.NullInt64
		)
		if err := rows.Scan(&p.Seq, &p.Ref, &p.Modem, &sent, &outcome, &st, &at); err != nil {
			return nil, err
		}
		p.SentAt, p.Outcome, p.ReportedAt = fromNanos(sent), pdu.Outcome(outcome.String), timePtr(at)
		if st.Valid {
			v := int(st.Int64)
			p.ReportStatus = &v
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

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
	err := w.queryRow(qLeaseCheck, l.ID).Scan(&status, &claimed, &att, &m.parts, &m.to)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("message %d: %w", l.ID, ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	if Status(status) != StatusSending || claimed.String != l.Modem || att != l.Attempt {
		return m, fmt.Errorf("message %d is %s (attempt %d on %q), lease is attempt %d on %q: %w",
			l.ID, status, att, claimed.String, l.Attempt, l.Modem, ErrLeaseLost)
	}
	return m, nil
}

// PartSent records that part seq (1-based) of the leased message was sent
// with message reference ref, and extends the lease. When it is the last
// part not yet confirmed, the message becomes StatusSent. A part already
// recorded fails with ErrInvalid: a confirmed part is never sent again.
func (s *Store) PartSent(ctx context.Context, l Lease, seq, ref int) error {
	err := s.write(ctx, func(w *wtx) error {
		m, err := w.checkLease(l)
		if err != nil {
			return err
		}
		if seq < 1 || seq > m.parts || ref < 0 || ref > 255 {
			return fmt.Errorf("part %d of %d, reference %d: %w", seq, m.parts, ref, ErrInvalid)
		}
		var one int
		switch err := w.queryRow(qPartExists, l.ID, seq).Scan(&one); {
		case err == nil:
			return fmt.Errorf("part %d already sent: %w", seq, ErrInvalid)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := w.exec(qInsertPart, l.ID, seq, l.Modem, ref, digits(m.to), nanos(w.now)); err != nil {
			return err
		}
		var n int
		if err := w.queryRow(qCountParts, l.ID).Scan(&n); err != nil {
			return err
		}
		if n < m.parts {
			if l.Duration > 0 { // a lease not from Claim keeps its end
				if _, err := w.exec(qRenew, nanos(w.now.Add(l.Duration)), nanos(w.now), l.ID); err != nil {
					return err
				}
			}
		} else {
			if _, err := w.exec(qSetSent, nanos(w.now), nanos(w.now), l.ID); err != nil {
				return err
			}
			detail := fmt.Sprintf("%d part(s) sent by modem %s", m.parts, l.Modem)
			if err := w.event(l.ID, StatusSent, detail); err != nil {
				return err
			}
			// A part reported failed while the others were still going
			// out fails the message now that all of them are out.
			if err := w.failIfUndelivered(l.ID, m.parts); err != nil {
				return err
			}
		}
		// After the status change, so that a held "delivered" for the
		// last part finds the message sent and completes it.
		return w.applyHeldReports(l.ID, seq, l.Modem, ref, digits(m.to))
	})
	if err != nil {
		return fmt.Errorf("part sent: %w", err)
	}
	return nil
}

// Retry gives a claimed message back after a transient error: it becomes
// queued again with its next attempt after an exponential backoff with
// jitter, or failed with e once Options.MaxAttempts claims were used. Parts
// already sent stay sent, and the message stays on that modem.
func (s *Store) Retry(ctx context.Context, l Lease, e Error) error {
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.checkLease(l); err != nil {
			return err
		}
		if l.Attempt >= w.s.opts.MaxAttempts {
			msg := fmt.Sprintf("%s (gave up after %d attempts)", e.Message, l.Attempt)
			return w.fail(l.ID, e.Code, msg)
		}
		d := w.s.backoff(l.Attempt)
		detail := fmt.Sprintf("retry in %v: %s", d.Round(time.Millisecond), errText(e))
		return w.requeue(l.ID, l.Modem, w.now.Add(d), 0, &e, detail)
	})
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// Release gives a claimed message back untried (its modem went down before
// sending anything): queued, due now, and the claim does not count as an
// attempt. A worker that sent some parts calls Retry instead.
func (s *Store) Release(ctx context.Context, l Lease) error {
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.checkLease(l); err != nil {
			return err
		}
		return w.requeue(l.ID, l.Modem, w.now, -1, nil, "released by modem "+l.Modem)
	})
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// Fail fails a claimed message permanently with e (an invalid number, a
// barred destination).
func (s *Store) Fail(ctx context.Context, l Lease, e Error) error {
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.checkLease(l); err != nil {
			return err
		}
		return w.fail(l.ID, e.Code, e.Message)
	})
	if err != nil {
		return fmt.Errorf("fail: %w", err)
	}
	return nil
}

// Interrupted ends a claim whose send was cut off mid-part (the modem
// disconnected while AT+CMGS was in flight), at once and by
// Options.Interrupted, exactly as a lease that ran out would: the part may
// have been on the air. With RetryInterrupted the message is due again
// now, on any modem unless parts were confirmed; with FailInterrupted it
// fails with CodeMayHaveBeenSent. why says what happened.
func (s *Store) Interrupted(ctx context.Context, l Lease, why string) error {
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.checkLease(l); err != nil {
			return err
		}
		return w.interrupted(l.ID, why)
	})
	if err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

func (w *wtx) fail(id int64, code, msg string) error {
	if _, err := w.exec(qSetFailed, nullString(code), msg, nanos(w.now), id); err != nil {
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
		if err := w.queryRow(qModemOf, id).Scan(&cur); err != nil {
			return err
		}
		pin = cur
	}
	var code, msg sql.NullString
	if e != nil {
		code, msg = nullString(e.Code), sql.NullString{String: e.Message, Valid: true}
	}
	if _, err := w.exec(qRequeue, nanos(due), pin, attemptDelta, code, msg, nanos(w.now), id); err != nil {
		return err
	}
	return w.event(id, StatusQueued, detail)
}

func (w *wtx) sentSeqs(id int64) ([]int, error) {
	rows, err := w.query(qSentSeqs, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
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
	if err := w.queryRow(qInterruptInfo, id).Scan(&parts, &attempts, &claimed); err != nil {
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

func (w *wtx) ids(q string, args ...any) ([]int64, error) {
	rows, err := w.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (w *wtx) recoverExpiredLeases() error {
	ids, err := w.ids(qLeaseExpired, nanos(w.now))
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
		ids, err := w.ids(qAllSending)
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
	ids, err := w.ids(qExpireDue, nanos(w.now))
	if err != nil {
		return 0, fmt.Errorf("expire: %w", err)
	}
	for _, id := range ids {
		msg := "validity ended before it could be sent"
		if _, err := w.exec(qSetExpired, CodeExpired, msg, nanos(w.now), id); err != nil {
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

// Cancel cancels a queued message (including one waiting for a retry). It
// fails with ErrNotFound for an unknown id and ErrNotCancellable once the
// message is sending or final.
func (s *Store) Cancel(ctx context.Context, id int64) error {
	err := s.write(ctx, func(w *wtx) error {
		var st string
		if err := w.queryRow(qStatusOf, id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if Status(st) != StatusQueued {
			return fmt.Errorf("message %d is %s: %w", id, st, ErrNotCancellable)
		}
		if _, err := w.exec(qSetCancelled, nanos(w.now), id); err != nil {
			return err
		}
		return w.event(id, StatusCancelled, "")
	})
	if err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	return nil
}

// Get returns a message with its sent parts and its history, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*Message, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	defer tx.Rollback()
	m, err := scanMessage(tx.QueryRowContext(ctx, qGetMessage, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	rows, err := tx.QueryContext(ctx, qGetParts, id)
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	if m.SentParts, err = scanParts(rows); err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	rows, err = tx.QueryContext(ctx, qGetEvents, id)
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e  Event
			st string
			at int64
		)
		if err := rows.Scan(&st, &at, &e.Detail); err != nil {
			return nil, fmt.Errorf("get message %d: %w", id, err)
		}
		e.Status, e.At = Status(st), fromNanos(at)
		m.Events = append(m.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, err)
	}
	return m, nil
}

// Filter selects messages for List. Zero fields match everything.
type Filter struct {
	Status Status
	To     string
	// Limit is the page size: 0 means DefaultPageSize, at most MaxPageSize.
	Limit int
	// Cursor is a previous page's NextCursor.
	Cursor string
}

// Page sizes for List and ListInbox.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ErrBadCursor is returned for a cursor this store did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// Page is one page of List: newest first. NextCursor is empty on the last page.
type Page struct {
	Messages   []*Message
	NextCursor string
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, ErrBadCursor
	}
	return id, nil
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// List returns messages matching f, newest first, one page at a time.
// Messages enqueued after the first page appear on no later page, so a
// walk through every page visits each older message exactly once.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	if s.closed.Load() {
		return Page{}, ErrClosed
	}
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, fmt.Errorf("list: %w", err)
		}
		before = id
	}
	if f.Status != "" && !f.Status.Valid() {
		return Page{}, fmt.Errorf("list: status %q: %w", f.Status, ErrInvalid)
	}
	limit := pageSize(f.Limit)
	var (
		rows *sql.Rows
		err  error
	)
	switch {
	case f.To != "" && f.Status != "":
		rows, err = s.rdb.QueryContext(ctx, qListToStat, f.To, string(f.Status), before, limit+1)
	case f.To != "":
		rows, err = s.rdb.QueryContext(ctx, qListTo, f.To, before, limit+1)
	case f.Status != "":
		rows, err = s.rdb.QueryContext(ctx, qListStatus, string(f.Status), before, limit+1)
	default:
		rows, err = s.rdb.QueryContext(ctx, qListAll, before, limit+1)
	}
	var p Page
	if err == nil {
		p.Messages, err = collect(rows, scanMessage)
	}
	if err != nil {
		return Page{}, fmt.Errorf("list: %w", err)
	}
	if len(p.Messages) > limit {
		p.Messages = p.Messages[:limit]
		p.NextCursor = encodeCursor(p.Messages[limit-1].ID)
	}
	return p, nil
}

// digits keeps the digits of a number: report matching compares numbers
// whatever their written form ("+44 7700", "447700").
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

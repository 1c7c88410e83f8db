package queue

// The outbox's entry and exit before sending: Enqueue stores messages
// (with idempotency keys), Cancel takes back one not yet sending.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

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
			switch err := w.QueryRow(qIdemGet, key).Scan(&prev); {
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
			if _, err := w.Exec(qIdemInsert, key, hash, nanos(w.now)); err != nil {
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
			res, err := w.Exec(qInsertMessage, m.To, m.Text, string(m.Encoding), m.Parts, int(m.Priority),
				m.Flash, m.Report, nullString(m.Modem), sendAt, nanos(m.NextAttemptAt), expires,
				nullString(key), nanos(w.now), nanos(w.now))
			if err != nil {
				return err
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			if err := w.enqueued(m); err != nil {
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

func (w *wtx) messagesByKey(key string) ([]*Message, error) {
	rows, err := w.Query(qIdemMessages, key)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMessage)
}

// Cancel cancels a queued message (including one waiting for a retry). It
// fails with ErrNotFound for an unknown id and ErrNotCancellable once the
// message is sending or final.
func (s *Store) Cancel(ctx context.Context, id int64) error {
	err := s.write(ctx, func(w *wtx) error {
		var st string
		if err := w.QueryRow(qStatusOf, id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if Status(st) != StatusQueued {
			return fmt.Errorf("message %d is %s: %w", id, st, ErrNotCancellable)
		}
		if _, err := w.Exec(qSetCancelled, nanos(w.now), id); err != nil {
			return err
		}
		return w.event(id, StatusCancelled, "")
	})
	if err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	return nil
}

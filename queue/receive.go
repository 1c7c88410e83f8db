package queue

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"bridged/pdu"
)

// Received says what Receive did with a part.
type Received struct {
	// PartID is the stored part (the earlier copy for a duplicate).
	PartID int64
	// Duplicate is true when the part was already stored: the modem may
	// delete or acknowledge it again, nothing new was written.
	Duplicate bool
	// Message is the inbox message this part completed, or nil while parts
	// of a multipart message are missing, or when the PDU did not decode
	// (it is stored raw all the same, so the modem may delete it).
	Message *InboxMessage
}

// Receive stores a received part durably, then returns; only then may the
// modem delete or acknowledge it. The part comes decoded
// (pdu.DecodeReceived) and is not decoded again; one that did not decode
// is stored raw, with its DecodeErr. A part stored before is recognised and not
// stored twice; a multipart message is joined when its last part arrives,
// in whatever order.
//
// Dedupe key: the raw PDU (which carries the service-centre time stamp to
// the second) on the same modem, and
//   - for a stored message, the same storage and slot: the same PDU read
//     again from the same place is the same message (a crash between commit
//     and +CMGD), while the same PDU in another slot is kept, as two
//     identical texts side by side on the SIM are two messages;
//   - for a direct +CMT, arrival within Options.RedeliveryWindow of the
//     earlier copy: the network redelivers when our +CNMA came late.
//
// Two identical texts sent at different seconds differ in their time stamp,
// hence in their PDU, and are both kept.
func (s *Store) Receive(ctx context.Context, in pdu.Received) (Received, error) {
	if in.Modem == "" {
		return Received{}, fmt.Errorf("receive: modem is required: %w", ErrInvalid)
	}
	hexPDU, hash := dedupeKey(in)
	if hexPDU == "" {
		return Received{}, fmt.Errorf("receive: empty PDU: %w", ErrInvalid)
	}
	msg, decErr := in.Message, in.DecodeErr
	switch {
	case decErr == nil && msg == nil:
		return Received{}, fmt.Errorf("receive: the PDU was not decoded: %w", ErrInvalid)
	case decErr == nil && msg.Type != pdu.TypeDeliver:
		return Received{}, fmt.Errorf("receive: a %s PDU is not a received message: %w", msg.Type, ErrInvalid)
	}
	var slot sql.NullInt64
	if !in.Direct() {
		slot = sql.NullInt64{Int64: int64(in.Slot), Valid: true}
	}
	var out Received
	err := s.write(ctx, func(w *wtx) error {
		out = Received{}
		dup, err := w.findDuplicate(in, hexPDU, hash)
		if err != nil {
			return err
		}
		if dup != 0 {
			out.PartID, out.Duplicate = dup, true
			// Read again, so still on the modem: not prunable until
			// Acked says it is gone.
			_, err := w.Exec(qUnacked, dup)
			return err
		}
		var decText sql.NullString
		if decErr != nil {
			decText = sql.NullString{String: decErr.Error(), Valid: true}
		}
		res, err := w.Exec(qInsertInPart, in.Modem, in.Storage, slot, hexPDU, hash, nanos(w.now), decText)
		if err != nil {
			return err
		}
		if out.PartID, err = res.LastInsertId(); err != nil {
			return err
		}
		if decErr != nil {
			return nil
		}
		if msg.Concat == nil || msg.Concat.Total == 1 {
			im, err := w.deliverToInbox(in.Modem, []*pdu.Message{msg}, false)
			if err != nil {
				return err
			}
			if _, err := w.Exec(qPartInbox, im.ID, out.PartID); err != nil {
				return err
			}
			out.Message = im
			return nil
		}
		out.Message, err = w.addToGroup(in.Modem, msg, out.PartID)
		return err
	})
	if err != nil {
		return Received{}, fmt.Errorf("receive: %w", err)
	}
	return out, nil
}

// dedupeKey is what findDuplicate matches a part by, with its modem,
// storage and slot: the PDU as stored (upper-case hex) and its hash.
// Receive and Acked must derive it alike, or Acked would not find the part
// Receive stored.
func dedupeKey(in pdu.Received) (hexPDU string, hash []byte) {
	hexPDU = strings.ToUpper(strings.TrimSpace(in.PDU))
	sum := sha256.Sum256([]byte(hexPDU))
	return hexPDU, sum[:16]
}

// Acked records that the modem deleted (+CMGD) or acknowledged (+CNMA) the
// part in, which Receive stored: it can no longer be read again, so Prune
// may remove it after the retention. The dispatcher calls it after the
// modem's successful delete; a part never acknowledged is kept. It fails with
// ErrNotFound when no such part is stored.
func (s *Store) Acked(ctx context.Context, in pdu.Received) error {
	hexPDU, hash := dedupeKey(in)
	err := s.write(ctx, func(w *wtx) error {
		id, err := w.findDuplicate(in, hexPDU, hash)
		if err != nil {
			return err
		}
		if id == 0 {
			return ErrNotFound
		}
		_, err = w.Exec(qAcked, nanos(w.now), id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("acked: part from modem %s slot %d: %w", in.Modem, in.Slot, err)
	}
	if err != nil {
		return fmt.Errorf("acked: %w", err)
	}
	return nil
}

// A part is prunable only while it is off its modem: Acked marks it so, and
// a Receive that reads it again from the modem unmarks it.
const (
	qAcked   = `UPDATE inbound_parts SET acked_at = ? WHERE id = ?`
	qUnacked = `UPDATE inbound_parts SET acked_at = NULL WHERE id = ?`
)

func (w *wtx) findDuplicate(in pdu.Received, hexPDU string, hash []byte) (int64, error) {
	rows, err := w.Query(qDedupe, in.Modem, hash)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id       int64
			st, p    string
			slot     sql.NullInt64
			received int64
		)
		if err := rows.Scan(&id, &st, &slot, &p, &received); err != nil {
			return 0, err
		}
		if p != hexPDU {
			continue
		}
		if in.Direct() {
			if !slot.Valid && w.now.Sub(fromNanos(received)) <= w.s.opts.RedeliveryWindow {
				return id, nil
			}
			continue
		}
		if slot.Valid && int(slot.Int64) == in.Slot && st == in.Storage {
			return id, nil
		}
	}
	return 0, rows.Err()
}

// addToGroup files a part of a multipart message under its open group
// (modem, sender, reference, total) and joins the group when complete.
func (w *wtx) addToGroup(modem string, msg *pdu.Message, partID int64) (*InboxMessage, error) {
	c := msg.Concat
	var groupID, firstAt int64
	err := w.QueryRow(qOpenGroup, modem, msg.From, c.Ref, c.Total).Scan(&groupID, &firstAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var parts []*pdu.Message
	if err == nil {
		if parts, err = w.groupParts(groupID); err != nil {
			return nil, err
		}
		// The same sequence number with another text means the sender has
		// reused the reference for a new message: release the old one as
		// incomplete rather than mix the two.
		for _, p := range parts {
			if p.Concat.Seq == c.Seq && p.Text != msg.Text {
				if _, err := w.closeGroup(groupID, modem, parts, true); err != nil {
					return nil, err
				}
				groupID, parts = 0, nil
				break
			}
		}
	}
	if groupID == 0 {
		res, err := w.Exec(qInsertGroup, modem, msg.From, c.Ref, c.Total, nanos(w.now))
		if err != nil {
			return nil, err
		}
		if groupID, err = res.LastInsertId(); err != nil {
			return nil, err
		}
	}
	if _, err := w.Exec(qPartGroup, groupID, partID); err != nil {
		return nil, err
	}
	parts = append(parts, msg)
	r, err := pdu.Reassemble(parts)
	if err != nil {
		return nil, err
	}
	if !r.Complete {
		return nil, nil
	}
	return w.closeGroup(groupID, modem, parts, false)
}

func (w *wtx) groupParts(groupID int64) ([]*pdu.Message, error) {
	rows, err := w.Query(qGroupParts, groupID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGroupPart)
}

// scanGroupPart decodes a stored part of an open group: only the part just
// received comes decoded, the others are read back from the store.
func scanGroupPart(r rowScanner) (*pdu.Message, error) {
	var (
		id  int64
		hex string
		at  int64
	)
	if err := r.Scan(&id, &hex, &at); err != nil {
		return nil, err
	}
	m, err := pdu.Decode(hex)
	if err != nil {
		return nil, fmt.Errorf("stored part %d: %w", id, err)
	}
	return m, nil
}

// closeGroup delivers a group's parts to the inbox and closes the group;
// release says the parts may be incomplete.
func (w *wtx) closeGroup(groupID int64, modem string, parts []*pdu.Message, release bool) (*InboxMessage, error) {
	im, err := w.deliverToInbox(modem, parts, release)
	if err != nil {
		return nil, err
	}
	if _, err := w.Exec(qCloseGroup, im.ID, groupID); err != nil {
		return nil, err
	}
	if _, err := w.Exec(qGroupPartsInbox, im.ID, groupID); err != nil {
		return nil, err
	}
	return im, nil
}

// deliverToInbox joins parts into an inbox message and logs its
// message.received event.
func (w *wtx) deliverToInbox(modem string, parts []*pdu.Message, release bool) (*InboxMessage, error) {
	r, err := pdu.Reassemble(parts)
	if err != nil {
		return nil, err
	}
	first := parts[0]
	for _, p := range parts {
		if p.Concat != nil && p.Concat.Seq < first.Concat.Seq {
			first = p
		}
	}
	im := &InboxMessage{
		Modem: modem, From: first.From, Text: r.Text, Data: r.Data, Encoding: first.Encoding,
		Class: first.Class, Parts: r.Total, Incomplete: !r.Complete, Missing: r.Missing,
		ReceivedAt: w.now,
	}
	if first.Timestamp != nil {
		t := first.Timestamp.UTC()
		im.SentAt = &t
	}
	var class sql.NullInt64
	if im.Class != nil {
		class = sql.NullInt64{Int64: int64(*im.Class), Valid: true}
	}
	var sentAt sql.NullInt64
	if im.SentAt != nil {
		sentAt = nullNanos(*im.SentAt)
	}
	res, err := w.Exec(qInsertInbox, modem, im.From, im.Text, []byte(im.Data), string(im.Encoding), class,
		im.Parts, im.Incomplete, joinInts(im.Missing), sentAt, nanos(w.now))
	if err != nil {
		return nil, err
	}
	if im.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	if err := w.inboxArrived(im); err != nil {
		return nil, err
	}
	return im, nil
}

// ReleaseIncomplete delivers to the inbox, marked incomplete, every
// multipart message whose first part arrived more than
// Options.ReassemblyTimeout ago, and returns them. Parts that arrive later
// start a new message. The inbound loop calls it periodically.
func (s *Store) ReleaseIncomplete(ctx context.Context) ([]*InboxMessage, error) {
	var out []*InboxMessage
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.Query(qStaleGroups, nanos(w.now.Add(-w.s.opts.ReassemblyTimeout)))
		if err != nil {
			return err
		}
		type group struct {
			id    int64
			modem string
		}
		gs, err := collect(rows, func(r rowScanner) (group, error) {
			var g group
			err := r.Scan(&g.id, &g.modem)
			return g, err
		})
		if err != nil {
			return err
		}
		for _, g := range gs {
			parts, err := w.groupParts(g.id)
			if err != nil {
				return err
			}
			im, err := w.closeGroup(g.id, g.modem, parts, true)
			if err != nil {
				return err
			}
			out = append(out, im)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("release incomplete: %w", err)
	}
	return out, nil
}

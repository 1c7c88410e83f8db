package queue

import (
	"context"
	"fmt"
	"time"
)

// Pruned counts what Prune removed.
type Pruned struct {
	Messages          int
	WebhookDeliveries int
	InboundParts      int
	IdempotencyKeys   int
}

// pruneBatch bounds the rows one write removes, so that enqueues keep
// flowing between batches instead of waiting behind one long transaction.
const pruneBatch = 500

// Prune removes history older than before: messages in a final state (sent,
// delivered, failed, expired, cancelled) last changed before it, with their
// events and parts; delivered and dead webhook deliveries; raw inbound parts
// received before it, once their message is in the inbox (an inbox message
// itself is the application's to delete); finished reassembly groups; and
// idempotency keys whose messages are gone. A PDU still on a modem after its
// part was pruned would be stored again, so before should be far longer
// than a modem keeps messages (days, not minutes). It runs in batches and
// returns what it removed, with an error from the first failing batch.
func (s *Store) Prune(ctx context.Context, before time.Time) (Pruned, error) {
	var p Pruned
	cut := nanos(before)
	steps := []struct {
		name  string
		count *int
		ids   string
		del   string
	}{
		{"messages", &p.Messages, qPruneMessageIDs, qDeleteMessage},
		{"webhook deliveries", &p.WebhookDeliveries, qPruneWebhookIDs, qDeleteWebhook},
		{"inbound parts", &p.InboundParts, qPrunePartIDs, qDeleteInPart},
		{"reassembly groups", new(int), qPruneGroupIDs, qDeleteGroup},
		{"idempotency keys", &p.IdempotencyKeys, qPruneKeyIDs, qDeleteKey},
		{"held reports", new(int), qPruneHeldIDs, qDeleteHeld},
	}
	for _, st := range steps {
		for {
			var n int
			err := s.write(ctx, func(w *wtx) error {
				rows, err := w.query(st.ids, cut, pruneBatch)
				if err != nil {
					return err
				}
				var ids []any
				for rows.Next() {
					var id any
					if err := rows.Scan(&id); err != nil {
						rows.Close()
						return err
					}
					ids = append(ids, id)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				for _, id := range ids {
					if _, err := w.exec(st.del, id); err != nil {
						return err
					}
				}
				n = len(ids)
				return nil
			})
			if err != nil {
				return p, fmt.Errorf("prune %s: %w", st.name, err)
			}
			*st.count += n
			if n < pruneBatch {
				break
			}
		}
	}
	return p, nil
}

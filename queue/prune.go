package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Pruned counts what Prune removed.
type Pruned struct {
	Messages          int
	WebhookDeliveries int
	InboundParts      int
	IdempotencyKeys   int
	// Events counts the event log's entries removed.
	Events int
	// PagesFreed is how many database pages (4 KiB) the incremental
	// vacuum gave back to the file system.
	PagesFreed int
}

// Empty reports whether Prune removed nothing.
func (p Pruned) Empty() bool { return p == Pruned{} }

// pruneBatch bounds the rows one write removes, so that enqueues keep
// flowing between batches instead of waiting behind one long transaction.
// vacuumStep likewise bounds the pages one incremental vacuum write moves
// (1 MiB): each is its own short write.
const (
	pruneBatch = 500
	vacuumStep = 256
)

// PruneOlder is Prune of what is older than age by the store's clock
// (Options.Now): the daemon's retention.
func (s *Store) PruneOlder(ctx context.Context, age time.Duration) (Pruned, error) {
	return s.Prune(ctx, s.opts.Now().Add(-age))
}

// Prune removes history older than before: messages in a final state (sent,
// delivered, failed, expired, cancelled) last changed before it, with their
// events and parts; delivered and dead webhook deliveries; raw inbound parts
// that were deleted from their modem (Acked) before it, once their message
// is in the inbox or they did not decode (an inbox message itself is the
// application's to delete; a part still on a modem is kept, so that reading
// it again is recognised as a duplicate however old it is); finished
// reassembly groups; idempotency keys whose messages are gone; and held
// reports. A sent message can still get its delivery report for
// Options.ReportWindow, so before should be older than that. Events
// logged before it go too, but for the newest (ids are counted from it):
// a follower away for longer resumes at the oldest event left.
//
// It runs in batches, each its own short write, so that sends and
// enqueues go between them; then it gives the freed pages back to the file
// system (PRAGMA incremental_vacuum, in steps of 1 MiB) and checkpoints the
// WAL, so that the file shrinks. It returns what it removed, with an error
// from the first failing batch.
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
		{"events", &p.Events, qPruneEventIDs, qDeleteEvent},
	}
	removed := 0
	for _, st := range steps {
		for {
			var n int
			err := s.write(ctx, func(w *wtx) error {
				ids, err := column[any](w, st.ids, cut, pruneBatch)
				if err != nil {
					return err
				}
				for _, id := range ids {
					if _, err := w.Exec(st.del, id); err != nil {
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
			removed += n
			if s.pruneBatchDone != nil && n > 0 {
				s.pruneBatchDone()
			}
			if n < pruneBatch {
				break
			}
		}
	}
	if removed == 0 {
		return p, nil
	}
	freed, err := s.vacuum(ctx)
	p.PagesFreed = freed
	if err != nil {
		return p, fmt.Errorf("prune: %w", err)
	}
	return p, nil
}

// vacuum gives free pages back to the file system, vacuumStep pages per
// write, and checkpoints the WAL so that the database file is truncated
// now rather than at the next automatic checkpoint. With auto_vacuum other
// than INCREMENTAL (a conversion at Open that failed) it frees nothing.
func (s *Store) vacuum(ctx context.Context) (int, error) {
	freed := 0
	for {
		var n, left int
		err := s.write(ctx, func(w *wtx) error {
			n, left = 0, 0
			// Each row the pragma returns is one step (one page freed):
			// Exec would run a single step.
			rows, err := w.Query(fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumStep))
			if err != nil {
				return err
			}
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			return w.QueryRow("PRAGMA freelist_count").Scan(&left)
		})
		if err != nil {
			return freed, fmt.Errorf("incremental vacuum: %w", err)
		}
		freed += n
		if s.pruneBatchDone != nil && n > 0 {
			s.pruneBatchDone()
		}
		if n == 0 || left == 0 {
			break
		}
	}
	if freed > 0 {
		// PASSIVE never waits: a reader in the way only delays the
		// truncation to a later checkpoint. The writer's connection is
		// the pool's only one, so this runs between two of its commits.
		if _, err := s.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			return freed, fmt.Errorf("checkpoint: %w", storageError(err))
		}
	}
	return freed, nil
}

// autoVacuumIncremental is PRAGMA auto_vacuum's value for INCREMENTAL.
const autoVacuumIncremental = 2

// ensureIncrementalVacuum makes the database keep the pointer maps
// incremental_vacuum needs. A new database takes the mode before its first
// table; an existing one only with a VACUUM, which rewrites the whole file
// (once: 48 s for a million messages on a loaded 2-core machine,
// bench/README.md) and needs as much free disk space again. If that fails (a full disk), the
// store works as before, without shrinking, and the next Open tries again.
func ensureIncrementalVacuum(db *sql.DB) error {
	var mode int
	if err := db.QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	if _, err := db.Exec("PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := db.Exec("VACUUM"); err != nil {
		return fmt.Errorf("vacuum to enable incremental vacuum: %w", storageError(err))
	}
	// In WAL mode the VACUUM went through the WAL: a copy of the whole
	// database that would otherwise stay on disk as the WAL's size. Nobody
	// else has the database open yet, so TRUNCATE does not wait.
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint after vacuum: %w", storageError(err))
	}
	return nil
}

// VacuumError says why Open could not enable incremental vacuum (the
// VACUUM that converts an older database needs free space as large as the
// file), nil when the database shrinks after Prune.
func (s *Store) VacuumError() error { return s.vacuumErr }

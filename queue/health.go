package queue

import (
	"context"
	"fmt"
)

// CheckWritable proves the database takes writes: it commits a real write
// through the same writer and fsync as every message, and returns nil once
// it is durable, or the store's error (full disk, read-only file, closed).
// The write rewrites user_version with its own value: the header page goes
// through the WAL like any change, without a table for the purpose and
// without changing the schema version.
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.write(ctx, func(w *wtx) error {
		var v int
		if err := w.queryRow("PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		_, err := w.exec(fmt.Sprintf("PRAGMA user_version = %d", v))
		return err
	})
	if err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	return nil
}

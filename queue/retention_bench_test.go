package queue

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bridged/internal/testutil"
)

// BenchmarkRetention1M measures what retention does to a database of
// BRIDGED_BENCH_RETENTION_ROWS messages (default 1,000,000) as the daemon
// leaves them: each delivered, with four events (queued, sending, sent,
// delivered) and one sent part, benchText as body, ended 31 to 30 days
// ago; 1% still queued. It reports the file's size as an older bridged
// left it (auto_vacuum NONE), how long Open's one-time conversion VACUUM
// takes and the size after it, then how long PruneOlder(30d) takes to
// remove every delivered message and the size after. Run it once:
//
//	go test -run '^$' -bench Retention1M -benchtime 1x ./queue
func BenchmarkRetention1M(b *testing.B) {
	rows := testutil.EnvInt(b, "BRIDGED_BENCH_RETENTION_ROWS", 1_000_000)
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "retention.db")
		if err := buildRetentionDB(path, rows); err != nil {
			b.Fatal(err)
		}
		size := func() float64 {
			var n int64
			for _, suffix := range []string{"", "-wal"} {
				if fi, err := os.Stat(path + suffix); err == nil {
					n += fi.Size()
				}
			}
			return float64(n) / (1 << 20)
		}
		b.ReportMetric(size(), "MiB-old")
		start := time.Now()
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s.VacuumError() != nil {
			b.Fatal(s.VacuumError())
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-open-convert")
		b.ReportMetric(size(), "MiB-converted")
		start = time.Now()
		p, err := s.PruneOlder(context.Background(), 30*24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-prune")
		b.ReportMetric(float64(p.Messages), "pruned")
		b.ReportMetric(size(), "MiB-pruned")
		if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(size(), "MiB-pruned-wal-truncated")
		s.Close()
	}
}

func buildRetentionDB(path string, rows int) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_foreign_keys=on")
	if err != nil {
		return err
	}
	defer db.Close()
	// As an older bridged made it: no pointer maps, nothing to shrink with.
	if _, err := db.Exec("PRAGMA auto_vacuum = NONE; VACUUM"); err != nil {
		return err
	}
	t0 := time.Now().Add(-31 * 24 * time.Hour).UnixNano()
	step := int64(24*time.Hour) / int64(rows) // spread over a day
	_, err = db.Exec(`
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO messages (id, to_number, body, encoding, parts, status, due_at, attempts, created_at, updated_at, sent_at, delivered_at, report)
		SELECT i, '+4477009' || printf('%05d', i % 100000), ?, 'gsm7', 1,
			CASE WHEN i % 100 = 0 THEN 'queued' ELSE 'delivered' END,
			? + i * ?, 1, ? + i * ?, ? + i * ?, ? + i * ?, ? + i * ?, 1
		FROM n;
		INSERT INTO message_events (message_id, status, at, detail)
			SELECT id, s.status, created_at, '' FROM messages, (SELECT 'queued' AS status UNION ALL SELECT 'sending' UNION ALL SELECT 'sent' UNION ALL SELECT 'delivered') s
			WHERE messages.status = 'delivered' ORDER BY id;
		INSERT INTO message_parts (message_id, seq, modem, ref, recipient, sent_at, report_status, report_outcome, reported_at)
			SELECT id, 1, 'usb0', id % 256, substr(to_number, 2), sent_at, 0, 'delivered', delivered_at FROM messages WHERE status = 'delivered';`,
		rows, benchText, t0, step, t0, step, t0, step, t0, step, t0, step)
	if err != nil {
		return err
	}
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	return syncFile(path)
}

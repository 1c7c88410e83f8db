package httpapi

import (
	"encoding/binary"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/queue"
)

// TestHealthzCommitsOncePerInterval: /healthz is open to anyone, so a
// client probing in a loop must not make the daemon commit (fsync) per
// request. 200 probes, 8 at a time, within one interval make at most one
// commit, counted on the disk (walFrames); the next interval makes one more.
func TestHealthzCommitsOncePerInterval(t *testing.T) {
	clk := testutil.NewClock(time.Now())
	e := MustServe(t, Options{}, queue.Options{Now: clk.Now, WriteCheckInterval: 10 * time.Second})
	probe := func(n int) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n / 8 {
					if r := e.do("GET", "/healthz", ""); r.status != 200 {
						t.Errorf("healthz: %d %s", r.status, r.raw)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	before := walFrames(t, e.path)
	probe(200)
	if c := walFrames(t, e.path) - before; c != 1 {
		t.Fatalf("200 probes in one interval made %d commits, want 1", c)
	}
	clk.Advance(9 * time.Second)
	probe(80)
	if c := walFrames(t, e.path) - before; c != 1 {
		t.Fatalf("80 more probes 9 s later made %d more commits, want none", c-1)
	}
	clk.Advance(time.Second)
	probe(80)
	if c := walFrames(t, e.path) - before; c != 2 {
		t.Fatalf("after the interval: %d commits in all, want 2", c)
	}
}

// walFrames counts the pages the database's write-ahead log holds: a
// commit of the write check's one page (the header, with user_version)
// adds one, so the count is the number of such commits. The WAL is
// rewritten from its start only after a checkpoint, which SQLite runs at
// 1,000 pages, far more than a test writes.
func walFrames(t *testing.T, dbPath string) int64 {
	t.Helper()
	f, err := os.Open(dbPath + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The WAL header is 32 bytes, the page size at offset 8; each frame is
	// a 24-byte header and a page (sqlite.org/fileformat2.html#walformat).
	var hdr [32]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		t.Fatalf("read the WAL header: %v", err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	page := int64(binary.BigEndian.Uint32(hdr[8:12]))
	return (st.Size() - 32) / (24 + page)
}

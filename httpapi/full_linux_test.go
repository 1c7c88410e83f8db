//go:build linux

package httpapi

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"bridged/queue"
)

// TestDiskWriteFails makes the disk refuse the store's writes for real: a
// file size limit (RLIMIT_FSIZE) just past the end of the WAL fails the
// next commit's write with EFBIG, which SQLite reports as an I/O error, as
// it would a failing SD card. (A short write would be SQLITE_FULL, but
// SQLite retries it and then gets EFBIG; only ENOSPC from a really full
// file system gives SQLITE_FULL, whose mapping TestStoreErrorMessages
// checks.) The limit is process-wide, so nothing else may write files
// meanwhile: this test is not parallel.
func TestDiskWriteFails(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	e.send(`{"to":"+447400123456","text":"before"}`)
	e.wake(t)
	restore := limitFileSize(t, e.path)
	post := e.do("POST", "/v1/messages", `{"to":"+447400123456","text":"cannot be written"}`)
	health := e.do("GET", "/healthz", "")
	restore()

	for _, r := range []response{post, health} {
		if r.status != 503 || r.errorField("code") != CodeStoreUnavailable ||
			!strings.Contains(r.errorField("message"), "check the disk") || !strings.Contains(r.errorField("message"), "file too large") ||
			r.header.Get("Retry-After") != "" {
			t.Errorf("while the disk refuses writes: %d %s", r.status, r.raw)
		}
	}
	if e.woken() {
		t.Errorf("woken although nothing was stored")
	}
	// The disk takes writes again: so does the same store takes writes again.
	e.send(`{"to":"+447400123456","text":"after"}`)
	if n := e.wake(t); n != 2 {
		t.Errorf("wake saw %d messages, want 2", n)
	}
	e.must(200, "GET", "/healthz", "")
}

// limitFileSize makes the disk refuse the store's next write: the process's
// file size limit (RLIMIT_FSIZE) is set just past the end of the WAL at
// path, so the next commit gets EFBIG. The limit is process-wide, so the
// caller must not be parallel. restore puts the old limit back; it may be
// called more than once and also runs when the test ends.
func limitFileSize(t *testing.T, path string) (restore func()) {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// Past the limit the kernel sends SIGXFSZ, which would kill the test.
	signal.Ignore(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: uint64(fi.Size()) + 100, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		signal.Reset(syscall.SIGXFSZ)
		t.Fatal(err)
	}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		signal.Reset(syscall.SIGXFSZ)
	}
	t.Cleanup(restore)
	return restore
}

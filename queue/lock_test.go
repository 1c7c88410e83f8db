package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenTwice: a second Open of the same database fails at once, naming
// the holder, and succeeds once the first Store is closed. flock conflicts
// between two open files of one process as between two processes, so this
// exercises the same lock a second daemon meets (cmd/bridged's
// TestE2ESecondDaemonRefused does it with two processes).
func TestOpenTwice(t *testing.T) {
	s, _, path := MustOpen(t, Options{})
	s2, err := Open(path, Options{})
	if err == nil {
		s2.Close()
		t.Fatal("a second Open of the same database succeeded")
	}
	var iu *InUseError
	if !errors.Is(err, ErrInUse) || !errors.As(err, &iu) {
		t.Fatalf("second Open: %v, want an InUseError", err)
	}
	want := fmt.Sprintf("store %s is in use by another bridged (pid %d, since ", path, os.Getpid())
	if iu.PID != os.Getpid() || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("second Open: %q, want it to start with %q", err, want)
	}
	// The first store is unharmed by the refused Open.
	MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "still mine"})
	// A closed store frees the database; the lock file stays (a stale one
	// is no lock).
	s3 := MustReopen(t, s, path, Options{})
	if _, err := os.Stat(LockPath(path)); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if p, err := s3.List(ctx, Filter{}); err != nil || len(p.Messages) != 1 {
		t.Fatalf("after reopen: %d messages, %v; want 1", len(p.Messages), err)
	}
}

// TestOpenStaleLockFile: a lock file left by a process that died (its
// content names a pid, but nobody holds the flock) does not stop Open.
func TestOpenStaleLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridged.db")
	if err := writeFile(LockPath(path), "pid 999999\nsince 2026-01-01T00:00:00Z\ncommand bridged\n"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open with a stale lock file: %v", err)
	}
	defer s.Close()
	b, err := os.ReadFile(LockPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if pid, _, _ := parseLockFile(b); pid != os.Getpid() {
		t.Fatalf("lock file names pid %d, want ours (%d):\n%s", pid, os.Getpid(), b)
	}
}

// TestOpenFailureReleasesLock: an Open that fails after taking the lock
// (here: a schema from a newer bridged) does not keep the database locked.
func TestOpenFailureReleasesLock(t *testing.T) {
	s, _, path := MustOpen(t, Options{})
	if _, err := s.wdb.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		if _, err := Open(path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("open: %v, want ErrSchemaTooNew (not ErrInUse)", err)
		}
	}
}

package queue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrInUse: another process (or another Store in this one) has the
// database open. Two daemons on one file would each recover the other's
// claims at Open and send the same messages twice.
var ErrInUse = errors.New("store is in use by another bridged")

// InUseError is the error Open returns when the lock is held: it names the
// holder as far as the lock file says. errors.Is(err, ErrInUse) is true.
type InUseError struct {
	// Path is the database; Lock the lock file beside it.
	Path, Lock string
	// PID is the holder's process id, 0 when the lock file does not say
	// (it is written just after the lock is taken).
	PID int
	// Since and Command are what the holder wrote, if anything.
	Since   string
	Command string
}

func (e *InUseError) Error() string {
	who := "another bridged (pid unknown"
	if e.PID > 0 {
		who = fmt.Sprintf("another bridged (pid %d", e.PID)
		if e.Since != "" {
			who += ", since " + e.Since
		}
	}
	return fmt.Sprintf("store %s is in use by %s); stop it first (lock %s)", e.Path, who, e.Lock)
}

// Unwrap makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Unwrap() error { return ErrInUse }

// LockPath is the lock file Open holds for the database at path.
func LockPath(path string) string { return path + ".lock" }

// fileLock is an exclusive flock(2) on the lock file, held from Open to
// Close. flock belongs to the open file, so it ends with the process
// however the process ends (SIGKILL, power cut): a lock file left behind
// is not a lock, and nothing has to be cleaned up by hand. The file is
// never removed, since removing it would let a second process lock a new
// file of the same name while the first still holds the old one.
type fileLock struct {
	f *os.File
}

// lockStore takes the lock for the database at path without waiting, and
// writes the holder's pid, start time and command into the file for the
// error a second Open reports. It fails with an *InUseError when the lock
// is held.
func lockStore(path string) (*fileLock, error) {
	lp := LockPath(path)
	// O_CLOEXEC (Go's default) keeps the lock out of child processes,
	// which would otherwise hold it after this process ends.
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		b, _ := os.ReadFile(lp)
		f.Close()
		e := &InUseError{Path: path, Lock: lp}
		e.PID, e.Since, e.Command = parseLockFile(b)
		return nil, e
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	// The content is for people and for the error above; the lock is the
	// flock. A failure to write it (full disk) does not stop the daemon.
	if err := f.Truncate(0); err == nil {
		f.WriteAt(lockFileContent(), 0)
	}
	return &fileLock{f: f}, nil
}

func lockFileContent() []byte {
	// Only the program's name: arguments could hold what is nobody's
	// business, and the file is world-readable.
	cmd := filepath.Base(os.Args[0])
	return fmt.Appendf(nil, "pid %d\nsince %s\ncommand %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339), cmd)
}

func parseLockFile(b []byte) (pid int, since, cmd string) {
	for line := range bytes.Lines(b) {
		k, v, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
		switch k {
		case "pid":
			pid, _ = strconv.Atoi(v)
		case "since":
			since = v
		case "command":
			cmd = v
		}
	}
	return pid, since, cmd
}

// unlock releases the lock; the file stays (see fileLock).
func (l *fileLock) unlock() error {
	if l == nil {
		return nil
	}
	// Closing the file releases the flock.
	return l.f.Close()
}

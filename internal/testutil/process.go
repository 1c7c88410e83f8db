package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bridged/internal/ready"
)

// ReadyTimeout is how long a started bridged may take to write its ready
// file: a race-built daemon opening its store and modems on a loaded
// machine.
const ReadyTimeout = 30 * time.Second

// StopTimeout is how long a process may take to exit after SIGTERM before
// it is killed.
const StopTimeout = 30 * time.Second

// Process is a child process (bridged serve, bridged sim) that a test or a
// benchmark started, signalled by its PID and watched until it exits.
type Process struct {
	Cmd    *exec.Cmd
	exited chan struct{}
	err    error // what Cmd.Wait returned; set before exited is closed
}

// Start starts cmd and watches for its exit. It returns the error of
// Cmd.Start.
func Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	go func() {
		// Wait returns once the output the process wrote is copied out.
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// MustStart is Start for a test: the test fails if cmd cannot start, and
// the process is stopped (Stop) when the test ends, its exit not checked.
func MustStart(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p, err := Start(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := p.Stop(StopTimeout); err != nil {
			tb.Error(err)
		}
	})
	return p
}

// PID returns the process's id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Exited returns a channel closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns what waiting for the process returned; valid once Exited
// is closed.
func (p *Process) Err() error { return p.err }

// ExitCode returns the exit code (-1 when killed by a signal); valid once
// Exited is closed.
func (p *Process) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

// Kill sends SIGKILL, by PID, unless the process is gone, and waits until
// it is.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM, by PID, and waits up to timeout for the exit, then
// kills the process. It returns the exit code, and an error when it had to
// kill.
func (p *Process) Stop(timeout time.Duration) (int, error) {
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	case <-t.C:
		p.Kill()
		return p.ExitCode(), fmt.Errorf("%s did not stop within %v of SIGTERM", processName(p.Cmd), timeout)
	}
}

// Ready waits until the ready file at path is this process's and decodes
// it into doc (a *ready.Serve or a *ready.Sim). It returns an error when
// the process exits first or timeout passes.
func (p *Process) Ready(path string, timeout time.Duration, doc any) error {
	if err := AwaitReady(path, p.PID(), p.exited, timeout, doc); err != nil {
		return fmt.Errorf("%s: %w", processName(p.Cmd), err)
	}
	return nil
}

// MustReady is Ready with ReadyTimeout for a test, which fails with out
// (what the process printed, or "") when the process is not ready.
func (p *Process) MustReady(tb testing.TB, path string, doc any, out fmt.Stringer) {
	tb.Helper()
	if err := p.Ready(path, ReadyTimeout, doc); err != nil {
		if out != nil {
			tb.Fatalf("%v; its output:\n%s", err, out)
		}
		tb.Fatal(err)
	}
}

// errExited says the process exited before it was ready.
var errExited = errors.New("exited before it was ready")

// AwaitReady waits until path holds the ready document of the process pid
// and decodes it into doc. A file of another pid is one a killed process
// left behind and is waited past. It gives up when gone is closed (nil:
// never) or after timeout, returning the last error seen.
func AwaitReady(path string, pid int, gone <-chan struct{}, timeout time.Duration, doc any) error {
	var last error
	check := func() bool {
		got, err := ready.Read(path, doc)
		switch {
		case err != nil:
			last = err
		case got != pid:
			last = fmt.Errorf("ready file %s is of pid %d, not %d", path, got, pid)
		default:
			return true
		}
		return false
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	t := time.NewTicker(tick)
	defer t.Stop()
	for !check() {
		select {
		case <-gone:
			if check() { // written just before the exit
				return nil
			}
			return fmt.Errorf("%w: %v", errExited, last)
		case <-deadline.C:
			return fmt.Errorf("not ready within %v: %v", timeout, last)
		case <-t.C:
		}
	}
	return nil
}

// MustAwaitReady is AwaitReady with ReadyTimeout that fails tb, for a
// bridged running in the test's own process (pid os.Getpid()).
func MustAwaitReady(tb testing.TB, path string, gone <-chan struct{}, doc any) {
	tb.Helper()
	if err := AwaitReady(path, os.Getpid(), gone, ReadyTimeout, doc); err != nil {
		tb.Fatal(err)
	}
}

// processName names a process in errors by its program and first
// argument: "bridged serve".
func processName(cmd *exec.Cmd) string {
	name := filepath.Base(cmd.Path)
	if len(cmd.Args) > 1 {
		name += " " + cmd.Args[1]
	}
	return name
}

// Lines is an io.Writer for a child process's output that hands each
// complete line to Each, in order, and keeps the last Keep lines for Tail:
// a harness that starts a thousand processes scans their output as it
// comes instead of holding all of it. Each must not write to the Lines.
// The zero value keeps no lines and calls nothing.
type Lines struct {
	Keep int
	Each func(line string)

	mu      sync.Mutex
	partial []byte   // the start of a line not ended yet
	lines   []string // the last lines, up to 2*Keep between trims
}

func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			return n, nil
		}
		line := string(append(l.partial, p[:i]...))
		l.partial, p = l.partial[:0], p[i+1:]
		l.add(line)
	}
}

func (l *Lines) add(line string) {
	if l.Keep > 0 {
		if len(l.lines) >= 2*l.Keep {
			l.lines = append(l.lines[:0:0], l.lines[len(l.lines)-l.Keep:]...)
		}
		l.lines = append(l.lines, line)
	}
	if l.Each != nil {
		l.Each(line)
	}
}

// Tail returns the last Keep lines, and the start of a line not ended
// (what a killed process wrote last).
func (l *Lines) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.lines[max(len(l.lines)-l.Keep, 0):], "\n")
	if len(l.partial) > 0 {
		s += "\n" + string(l.partial)
	}
	return s
}

// String is Tail, so that Lines can be shown as a process's output.
func (l *Lines) String() string { return l.Tail() }

// Rerun runs this test binary again, only the tests -test.run pattern
// matches, with env added to the environment, and fails t with the run's
// output if it fails: for a setting that takes effect only at the start of
// a process. The rerun test tells itself apart by a variable of env.
func Rerun(t *testing.T, pattern string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", pattern, "-test.count", "1")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s with %v: %v\n%s", pattern, env, err, out)
	}
}

// EnvInt returns the integer in the environment variable name, def when it
// is unset, and fails tb when it is not an integer: how a rerun test
// (Rerun) or a benchmark takes its setting.
func EnvInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

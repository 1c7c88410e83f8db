package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bridged/internal/ready"
)

// The test binary stands in for bridged: run with helperEnv set, it writes
// a ready file (or exits at once) and waits for SIGTERM, as serve does.
const helperEnv = "TESTUTIL_HELPER_READY_FILE"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(helper(path))
	}
	os.Exit(m.Run())
}

func helper(path string) int {
	if path == "exit" {
		return 3
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if err := ready.Write(path, ready.Serve{PID: os.Getpid(), Listen: "127.0.0.1:1"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-term
	if err := ready.Remove(path); err != nil {
		return 1
	}
	return 0
}

func helperCmd(readyFile string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), helperEnv+"="+readyFile)
	return cmd
}

func TestProcessReadyAndStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	// What a killed process of another pid left behind is waited past.
	if err := ready.Write(path, ready.Serve{PID: 1, Listen: "stale"}); err != nil {
		t.Fatal(err)
	}
	p := MustStart(t, helperCmd(path))
	var doc ready.Serve
	p.MustReady(t, path, &doc, nil)
	if doc.PID != p.PID() || doc.Listen != "127.0.0.1:1" {
		t.Errorf("ready document %+v, want pid %d", doc, p.PID())
	}
	code, err := p.Stop(StopTimeout)
	if err != nil || code != 0 {
		t.Fatalf("Stop: exit %d, %v", code, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file after the exit: %v", err)
	}
}

func TestProcessExitsBeforeReady(t *testing.T) {
	p := MustStart(t, helperCmd("exit"))
	err := p.Ready(filepath.Join(t.TempDir(), "never"), ReadyTimeout, &ready.Serve{})
	if !errors.Is(err, errExited) {
		t.Fatalf("Ready of a process that exited: %v", err)
	}
	if p.ExitCode() != 3 {
		t.Errorf("exit code %d, want 3", p.ExitCode())
	}
}

func TestProcessKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	p := MustStart(t, helperCmd(path))
	p.MustReady(t, path, &ready.Serve{}, nil)
	p.Kill()
	if p.ExitCode() != -1 {
		t.Errorf("exit code after SIGKILL %d, want -1", p.ExitCode())
	}
	// Killed, it leaves its ready file, which a next process waits past.
	if _, err := os.Stat(path); err != nil {
		t.Errorf("ready file of a killed process: %v", err)
	}
}

func TestLines(t *testing.T) {
	var each []string
	l := &Lines{Keep: 2, Each: func(line string) { each = append(each, line) }}
	for _, w := range []string{"one\ntw", "o\n", "three\nfour\nfi", "ve"} {
		l.Write([]byte(w))
	}
	if got := strings.Join(each, ","); got != "one,two,three,four" {
		t.Errorf("lines handed on: %q", got)
	}
	if got := l.Tail(); got != "three\nfour\nfive" {
		t.Errorf("Tail: %q", got)
	}
}

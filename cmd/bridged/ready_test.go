package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"bridged/internal/ready"
	"bridged/internal/testutil"
)

// waitReadyFile waits until path holds a ready document of this process
// (bridged runs in-process here) and decodes it into doc.
func waitReadyFile(t *testing.T, path string, doc any) {
	t.Helper()
	var err error
	if !testutil.Until(testutil.Timeout, func() bool {
		var pid int
		pid, err = ready.Read(path, doc)
		return err == nil && pid == os.Getpid()
	}) {
		t.Fatalf("no ready file of pid %d: %v", os.Getpid(), err)
	}
}

// checkReadyFileGone checks that a command removed its ready file at exit.
func checkReadyFileGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file after a clean exit: %v", err)
	}
}

func checkMode0600(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ready file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestServeReadyFile: serve -ready-file writes its pid and the address it
// listens on once it takes work, and removes the file at a clean exit.
func TestServeReadyFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridged.toml")
	if err := os.WriteFile(cfg, []byte(daemonConfig(filepath.Join(dir, "bridged.db"), []string{"sim"}, nil, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	rf := filepath.Join(dir, "serve.ready")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testutil.Buffer{}
	m := &Main{Stdout: &testutil.Buffer{}, Stderr: stderr}
	code := make(chan int, 1)
	go func() { code <- m.Run(ctx, []string{"serve", "-config", cfg, "-ready-file", rf}) }()

	var doc ready.Serve
	waitReadyFile(t, rf, &doc)
	checkMode0600(t, rf)
	res, err := http.Get("http://" + doc.Listen + "/healthz")
	if err != nil {
		t.Fatalf("the ready file's address %q: %v", doc.Listen, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz at the ready file's address: %d", res.StatusCode)
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("serve exited %d:\n%s", c, stderr)
	}
	checkReadyFileGone(t, rf)
}

// TestSimReadyFile: sim -ready-file names the control address and every
// modem's pty and number, and goes away at a clean exit.
func TestSimReadyFile(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "sim.ready")
	sock := filepath.Join(dir, "ctl.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testutil.Buffer{}
	m := &Main{Stdout: &testutil.Buffer{}, Stderr: stderr}
	code := make(chan int, 1)
	go func() {
		code <- m.Run(ctx, []string{"sim", "-n", "2", "-dir", dir, "-control", sock, "-ready-file", rf})
	}()

	var doc ready.Sim
	waitReadyFile(t, rf, &doc)
	checkMode0600(t, rf)
	want := []ready.Modem{
		{ID: "sim0", Path: filepath.Join(dir, "bridged-sim0"), Number: "+12015550101"},
		{ID: "sim1", Path: filepath.Join(dir, "bridged-sim1"), Number: "+12015550102"},
	}
	if doc.Control != "unix:"+sock || len(doc.Modems) != len(want) {
		t.Fatalf("ready file %+v, want control unix:%s and modems %+v", doc, sock, want)
	}
	for i, w := range want {
		if doc.Modems[i] != w {
			t.Errorf("modem %d: %+v, want %+v", i, doc.Modems[i], w)
		}
		if _, err := os.Lstat(w.Path); err != nil {
			t.Errorf("modem %s's pty: %v", w.ID, err)
		}
	}
	if got, c := ctl(t, doc.Control, "list"); c != 0 || len(got) == 0 {
		t.Errorf("ctl at the ready file's control address: %d %q", c, got)
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("sim exited %d:\n%s", c, stderr)
	}
	checkReadyFileGone(t, rf)
}

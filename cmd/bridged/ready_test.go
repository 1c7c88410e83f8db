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

// inProcessRun is a bridged command running in the test's process.
type inProcessRun struct {
	stdout, stderr *testutil.Buffer
	cancel         context.CancelFunc
	done           chan struct{} // closed once Run returned
	code           int           // what Run returned, once done is closed
}

// startInProcess runs bridged with args (a command and its flags) in the
// test's process with -ready-file readyFile, waits for the file and
// decodes it into doc. The command is stopped when the test ends.
func startInProcess(t *testing.T, readyFile string, doc any, args ...string) *inProcessRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &inProcessRun{stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, cancel: cancel, done: make(chan struct{})}
	m := &Main{Stdout: r.stdout, Stderr: r.stderr}
	args = append([]string{args[0], "-ready-file", readyFile}, args[1:]...)
	go func() {
		defer close(r.done)
		r.code = m.Run(ctx, args)
	}()
	t.Cleanup(func() { r.stop() })
	testutil.MustAwaitReady(t, readyFile, r.done, doc)
	return r
}

// stop ends the command as an interrupt does and returns its exit code.
func (r *inProcessRun) stop() int {
	r.cancel()
	<-r.done
	return r.code
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
	var doc ready.Serve
	r := startInProcess(t, rf, &doc, "serve", "-config", cfg)
	if doc.PID != os.Getpid() {
		t.Errorf("ready file pid %d, want %d", doc.PID, os.Getpid())
	}
	checkMode0600(t, rf)
	res, err := http.Get("http://" + doc.Listen + "/healthz")
	if err != nil {
		t.Fatalf("the ready file's address %q: %v", doc.Listen, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz at the ready file's address: %d", res.StatusCode)
	}
	if c := r.stop(); c != exitOK {
		t.Fatalf("serve exited %d:\n%s", c, r.stderr)
	}
	checkReadyFileGone(t, rf)
}

// TestSimReadyFile: sim -ready-file names the control address and every
// modem's pty and number, and goes away at a clean exit.
func TestSimReadyFile(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "sim.ready")
	sock := filepath.Join(dir, "ctl.sock")
	var doc ready.Sim
	r := startInProcess(t, rf, &doc, "sim", "-n", "2", "-dir", dir, "-control", sock)
	if doc.PID != os.Getpid() {
		t.Errorf("ready file pid %d, want %d", doc.PID, os.Getpid())
	}
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
	if c := r.stop(); c != exitOK {
		t.Fatalf("sim exited %d:\n%s", c, r.stderr)
	}
	checkReadyFileGone(t, rf)
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bridged/modem/modemsim"
)

// TestE2ESecondDaemonRefused: a second bridged serve on the store of a
// running one exits 1 at once, naming the first one's pid, and touches
// nothing: the first keeps sending, and no message goes out twice.
func TestE2ESecondDaemonRefused(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := w.config("")
	d := startDaemon(t, cfg)
	queued := d.send(map[string]any{"to": "+447400123456", "text": "owned by the first daemon"})[0]
	d.waitStatus(queued.ID, "sent", "delivered")

	path := filepath.Join(t.TempDir(), "second.toml")
	// The same store and modem, another port.
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	second := exec.Command(mustBinary(t), "serve", "-config", path)
	out := newLockedBuffer()
	second.Stdout, second.Stderr = out, out
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- second.Wait() }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		second.Process.Kill() // by its pid
		<-exited
		t.Fatal("the second daemon did not exit within 20s")
	}
	text, _ := out.snapshot()
	want := fmt.Sprintf("is in use by another bridged (pid %d", d.cmd.Process.Pid)
	if code := second.ProcessState.ExitCode(); code != 1 || !strings.Contains(text, want) || !strings.Contains(text, "stop it first") {
		t.Fatalf("second daemon: exit %d, output:\n%s\nwant exit 1 and %q", code, text, want)
	}
	if strings.Contains(text, "bridged is up") {
		t.Fatalf("the second daemon came up:\n%s", text)
	}

	// The first daemon still owns its store and modem.
	after := d.send(map[string]any{"to": "+447400123457", "text": "after the refused start"})[0]
	d.waitStatus(after.ID, "sent", "delivered")
	seen := map[string]int{}
	for _, s := range w.net.Sent() {
		seen[s.Message.Text]++
	}
	for text, n := range seen {
		if n != 1 {
			t.Errorf("%q sent %d times", text, n)
		}
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("first daemon exit %d", code)
	}
	// Stopped, it no longer holds the store: a new daemon starts on it.
	d2 := startDaemon(t, cfg)
	d2.waitStatus(after.ID, "sent", "delivered")
}

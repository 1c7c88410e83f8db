package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// TestE2EInboxFollowAcrossRestart follows the inbox with "bridged inbox
// -follow" while the daemon stops and starts again: an SMS that reaches the
// modem while the daemon is down is printed once it is back (the client
// resumes GET /v1/events with Last-Event-ID), and no message is printed
// twice or out of order.
func TestE2EInboxFollowAcrossRestart(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	// The same address across the restart, so the client finds the new
	// daemon where the old one was.
	cfgText := strings.Replace(w.config(""), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", freeListen(t)), 1)
	cfgPath := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridged's output:\n%s", logs)
		}
	})
	d := runDaemon(t, mustBinary(t), cfgPath, logs)

	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &testutil.Buffer{}, &testutil.Buffer{}
	code := make(chan int, 1)
	go func() {
		m := &Main{Stdout: out, Stderr: errOut, Stdin: strings.NewReader("")}
		code <- m.Run(ctx, []string{"inbox", "-follow", "-config", cfgPath})
	}()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("inbox -follow exited %d: %s", c, errOut)
		}
	})
	printed := func(text string) {
		t.Helper()
		testutil.Wait(t, 2*testutil.Timeout, "inbox -follow printed "+text, func() bool {
			return strings.Contains(out.String(), fmt.Sprintf("%q", text))
		})
	}

	if err := w.sims[0].Deliver("+15557770001", "before the restart"); err != nil {
		t.Fatal(err)
	}
	printed("before the restart")

	if c := d.stop(); c != 0 {
		t.Fatalf("daemon exited %d", c)
	}
	// Stored on the SIM while nobody reads it; the next daemon reads it
	// at start.
	if err := w.sims[0].Deliver("+15557770002", "while the daemon was down"); err != nil {
		t.Fatal(err)
	}
	runDaemon(t, mustBinary(t), cfgPath, logs)
	printed("while the daemon was down")
	if err := w.sims[0].Deliver("+15557770003", "after the restart"); err != nil {
		t.Fatal(err)
	}
	printed("after the restart")

	want := []string{"before the restart", "while the daemon was down", "after the restart"}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("inbox -follow printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, text := range want {
		if !strings.HasSuffix(lines[i], fmt.Sprintf(" %q", text)) {
			t.Errorf("line %d is %q, want the message %q", i, lines[i], text)
		}
	}
}

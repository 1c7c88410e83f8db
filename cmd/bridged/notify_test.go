package main

import (
	"log/slog"
	"testing"
)

// TestNotifierOutsideSystemd: without NOTIFY_SOCKET there is no notifier,
// so serve sends nothing and starts no goroutine; its calls do nothing.
func TestNotifierOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000000")
	n := newNotifier(slog.New(slog.DiscardHandler))
	if n != nil {
		t.Fatal("a notifier without NOTIFY_SOCKET")
	}
	n.ready(nil, nil) // a nil alive would panic if a watchdog loop ran
	n.stopping()
}

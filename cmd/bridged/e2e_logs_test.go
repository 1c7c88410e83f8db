package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

var statusLine = regexp.MustCompile(`level=INFO msg="message status" message=(\d+) status=(\S+)`)

// TestE2EStatusLogLines: at info level the daemon logs exactly one line
// per status change of a message, in the order of its history, with the
// message's id, and no info line carries a message's text or recipient.
func TestE2EStatusLogLines(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := strings.Replace(w.config(""), `level = "debug"`, `level = "info"`, 1)
	d := startDaemon(t, cfg)
	const to, secret = "+447400123987", "the secret text 7f3a"

	delivered := d.send(map[string]any{"to": to, "text": secret + " one", "report": true})[0]
	d.waitStatus(delivered.ID, "delivered")
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cancelled := d.send(map[string]any{"to": to, "text": secret + " two", "send_at": later})[0]
	if code := d.do("DELETE", fmt.Sprintf("/v1/messages/%d", cancelled.ID), nil, nil); code != 200 && code != 204 {
		t.Fatalf("cancel: %d", code)
	}
	w.sims[0].SetSendErrors(21) // rejected: permanent
	failed := d.send(map[string]any{"to": to, "text": secret + " three"})[0]
	d.waitStatus(cancelled.ID, "cancelled")
	d.waitStatus(failed.ID, "failed")

	for _, id := range []int64{delivered.ID, cancelled.ID, failed.ID} {
		var m apiMessage
		d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m)
		var history []string
		for _, e := range m.Events {
			history = append(history, e.Status)
		}
		// The last change's line is written once its commit is answered:
		// wait for it, then compare every line.
		var logged []string
		testutil.Eventually(t, fmt.Sprintf("message %d's %d status lines", id, len(history)), func() bool {
			logged = nil
			for _, l := range statusLine.FindAllStringSubmatch(d.out.String(), -1) {
				if l[1] == fmt.Sprint(id) {
					logged = append(logged, l[2])
				}
			}
			return len(logged) >= len(history)
		})
		if !slices.Equal(logged, history) || len(history) < 2 {
			t.Errorf("message %d: logged %v, history %v", id, logged, history)
		}
	}
	for _, line := range strings.Split(d.out.String(), "\n") {
		if strings.Contains(line, "level=INFO") && (strings.Contains(line, "secret") || strings.Contains(line, "7400123987")) {
			t.Errorf("an info line carries a message's text or recipient: %s", line)
		}
	}
}

package httpapi

import (
	"testing"
	"time"

	"bridged/modem"
	"bridged/queue"
)

// TestUnresponsiveIsNotReady: a hung modem counts as not ready, and its
// last error carries the time it happened, so that an error that stays
// after a recovery is not taken for a current one.
func TestUnresponsiveIsNotReady(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	at := time.Date(2026, 12, 3, 8, 0, 0, 123000000, time.FixedZone("CET", 3600))
	hung := modem.Status{ID: "m1", Device: "/dev/ttyUSB2", State: modem.StateUnresponsive,
		LastError: "no answer to AT+CMGS=23 for 5s", LastErrorAt: at}
	e.modems.set(hung)
	r := e.must(503, "GET", "/readyz", "")
	if r.errorField("code") != CodeNotReady {
		t.Errorf("%s", r.raw)
	}
	r = e.must(200, "GET", "/v1/modems", "")
	m1 := r.body["modems"].([]any)[0].(map[string]any)
	if m1["state"] != "unresponsive" || m1["last_error"] != hung.LastError || m1["last_error_at"] != "2026-12-03T07:00:00.123Z" {
		t.Errorf("modem %v", m1)
	}
	e.modems.set(hung, modem.Status{ID: "m2", Device: "sim", State: modem.StateReady})
	if r := e.must(200, "GET", "/readyz", ""); r.body["modems_ready"] != float64(1) {
		t.Errorf("%s", r.raw)
	}
}

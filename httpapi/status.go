package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"bridged/modem"
)

type modemView struct {
	ID           string             `json:"id"`
	Device       string             `json:"device"`
	State        modem.State        `json:"state"`
	Manufacturer string             `json:"manufacturer"`
	Model        string             `json:"model"`
	IMEI         string             `json:"imei"`
	Operator     string             `json:"operator"`
	Registration modem.Registration `json:"registration"`
	SignalDBm    *int               `json:"signal_dbm"`
	Sent         int64              `json:"sent"`
	Failed       int64              `json:"failed"`
	Received     int64              `json:"received"`
	LastError    string             `json:"last_error"`
	// PINAttemptsLeft is what the SIM last said when it asked for its PIN.
	PINAttemptsLeft *int `json:"pin_attempts_left"`
	// LastErrorAt is when LastError happened, null when there was none.
	// The error stays after the modem recovers: the time tells an old one
	// from a current one.
	LastErrorAt *time.Time `json:"last_error_at"`
}

func (h *Handler) statuses() []modem.Status {
	if h.modems == nil {
		return nil
	}
	return h.modems.Statuses()
}

func (h *Handler) listModems(w http.ResponseWriter, r *http.Request) error {
	sts := h.statuses()
	out := struct {
		Modems []modemView `json:"modems"`
	}{Modems: make([]modemView, len(sts))}
	for i, s := range sts {
		out.Modems[i] = viewModem(s)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func viewModem(s modem.Status) modemView {
	v := modemView{ID: s.ID, Device: s.Device, State: s.State, Manufacturer: s.Manufacturer,
		Model: s.Model, IMEI: s.IMEI, Operator: s.Operator, Registration: s.Registration, SignalDBm: s.SignalDBm,
		Sent: s.Sent, Failed: s.Failed, Received: s.Received, LastError: s.LastError,
		PINAttemptsLeft: s.PINAttemptsLeft}
	if !s.LastErrorAt.IsZero() {
		at := s.LastErrorAt.UTC()
		v.LastErrorAt = &at
	}
	return v
}

// healthz is a liveness probe: the process answers and the database takes a
// write. A failure says which, in the same words as a failed POST. It is
// unauthenticated, so it must cost nothing: the store proves writability
// with a real commit at most once per interval (queue
// Options.WriteCheckInterval, 10 s) and serves that answer in between, and
// a failing write of the API or the dispatcher turns it into a 503 at once.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := h.health.CheckWritable(r.Context()); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz is a readiness probe: some modem can send. Only a ready modem
// counts: starting, not registered, unresponsive (a hung modem, see
// modem.StateUnresponsive) and the rest cannot. It names no modem, as it
// needs no token; GET /v1/modems has the details.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) error {
	sts := h.statuses()
	ready := 0
	for _, s := range sts {
		if s.State == modem.StateReady {
			ready++
		}
	}
	if ready == 0 {
		msg := fmt.Sprintf("none of the %d modems is ready: see GET /v1/modems", len(sts))
		if len(sts) == 0 {
			msg = "no modem is configured"
		}
		return &Error{Code: CodeNotReady, Message: msg}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "modems_ready": ready})
	return nil
}

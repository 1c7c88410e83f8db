package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"bridged/modem"
	"bridged/queue"
)

// inboxView is a received message. Missing lists the parts that never came
// of a message released incomplete.
type inboxView struct {
	ID         int64      `json:"id"`
	From       string     `json:"from"`
	Modem      string     `json:"modem"`
	Text       string     `json:"text"`
	ReceivedAt time.Time  `json:"received_at"`
	SentAt     *time.Time `json:"sent_at"`
	Parts      int        `json:"parts"`
	Incomplete bool       `json:"incomplete"`
	Missing    []int      `json:"missing,omitempty"`
}

func viewInbox(m *queue.InboxMessage) inboxView {
	return inboxView{ID: m.ID, From: m.From, Modem: m.Modem, Text: m.Text, ReceivedAt: m.ReceivedAt,
		SentAt: m.SentAt, Parts: m.Parts, Incomplete: m.Incomplete, Missing: m.Missing}
}

// listInbox pages oldest first. next_cursor is set on every page that has
// messages, the last one too: a client polls with it for what arrives next,
// and an empty page means nothing new yet.
func (h *Handler) listInbox(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "from", "since", "limit", "cursor")
	if err != nil {
		return err
	}
	f := queue.InboxFilter{Cursor: q.Get("cursor")}
	if from := q.Get("from"); from != "" {
		f.From = normaliseFilter(from, h.opts.DefaultCountry)
	}
	if s := q.Get("since"); s != "" {
		if f.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return fieldError("since", "%q is not an RFC 3339 time such as \"2026-03-01T09:00:00Z\"", s)
		}
	}
	if f.Limit, err = pageLimit(q); err != nil {
		return err
	}
	p, err := h.store.ListInbox(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Messages   []inboxView `json:"messages"`
		NextCursor string      `json:"next_cursor"`
	}{Messages: make([]inboxView, len(p.Messages)), NextCursor: p.NextCursor}
	for i, m := range p.Messages {
		out.Messages[i] = viewInbox(m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "received message")
	if err != nil {
		return err
	}
	m, err := h.store.GetInbox(r.Context(), id)
	if err != nil {
		return notFound(err, "received message", id)
	}
	writeJSON(w, http.StatusOK, viewInbox(m))
	return nil
}

func (h *Handler) deleteInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "received message")
	if err != nil {
		return err
	}
	if err := h.store.DeleteInbox(context.WithoutCancel(r.Context()), id); err != nil {
		return notFound(err, "received message", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

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
		out.Modems[i] = modemView{ID: s.ID, Device: s.Device, State: s.State, Manufacturer: s.Manufacturer,
			Model: s.Model, IMEI: s.IMEI, Operator: s.Operator, Registration: s.Registration, SignalDBm: s.SignalDBm,
			Sent: s.Sent, Failed: s.Failed, Received: s.Received, LastError: s.LastError}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// healthz is a liveness probe: the process answers and the database takes a
// write. A failure says which, in the same words as a failed POST. Each
// probe costs one small commit (an fsync, shared with concurrent writes):
// probe every few seconds, not in a loop.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := h.store.CheckWritable(r.Context()); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz is a readiness probe: some modem can send. It names no modem, as it
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

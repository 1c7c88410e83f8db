package httpapi

import (
	"context"
	"net/http"
	"time"

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
		if f.Since, err = parseTime(s); err != nil {
			return fieldError("since", "%v", err)
		}
	}
	if f.Limit, err = pageLimit(q); err != nil {
		return err
	}
	p, err := h.store.ListInbox(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, p.Messages, p.NextCursor, viewInbox)
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

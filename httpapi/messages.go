package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bridged/pdu"
	"bridged/queue"
)

// recipients is "to": one number or an array of them.
type recipients struct {
	list  []string
	array bool
}

func (rc *recipients) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		rc.list, rc.array = []string{one}, false
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil || many == nil {
		return fieldError("to", "must be a phone number or an array of phone numbers")
	}
	rc.list, rc.array = many, true
	return nil
}

type sendRequest struct {
	To       *recipients `json:"to"`
	Text     *string     `json:"text"`
	Priority string      `json:"priority"`
	SendAt   string      `json:"send_at"`
	ValidFor string      `json:"valid_for"`
	Flash    bool        `json:"flash"`
	Report   *bool       `json:"report"`
	Modem    string      `json:"modem"`
}

// maxIdempotencyKey bounds the Idempotency-Key header; keys are stored.
const maxIdempotencyKey = 255

// newMessages validates a send request and returns one message per
// recipient. Every check that does not need the store happens here, so that
// the store's transaction holds only valid messages.
func (h *Handler) newMessages(req *sendRequest) ([]queue.NewMessage, error) {
	if req.To == nil || len(req.To.list) == 0 {
		return nil, fieldError("to", "is required: a phone number or an array of them")
	}
	if n := len(req.To.list); n > h.opts.MaxRecipients {
		return nil, &Error{Code: CodeTooManyRecipients, Field: "to",
			Message: fmt.Sprintf("has %d recipients, more than the %d one request may have: send them in several requests", n, h.opts.MaxRecipients)}
	}
	if req.Text == nil || *req.Text == "" {
		return nil, fieldError("text", "is required and must not be empty")
	}
	// The store counts again, with the same Options, when it stores the
	// messages; counting here refuses a long text before anything else.
	cost := pdu.Estimate(*req.Text, h.opts.Encoding)
	if limit := h.opts.Encoding.MaxParts; cost.Parts > limit {
		return nil, &pdu.TooManyPartsError{Needed: cost.Parts, Max: limit}
	}
	tmpl := queue.NewMessage{Text: *req.Text, Flash: req.Flash, Report: h.opts.DeliveryReports, Modem: req.Modem,
		ValidFor: h.opts.DefaultValidity}
	switch req.Priority {
	case "", "normal":
		tmpl.Priority = queue.PriorityNormal
	case "high":
		tmpl.Priority = queue.PriorityHigh
	default:
		return nil, fieldError("priority", "%q is not a priority: use \"normal\" or \"high\"", req.Priority)
	}
	if req.Report != nil {
		tmpl.Report = *req.Report
	}
	if req.ValidFor != "" {
		d, err := parseValidity(req.ValidFor)
		if err != nil {
			return nil, fieldError("valid_for", "%v", err)
		}
		tmpl.ValidFor = d
	}
	if req.SendAt != "" {
		t, err := parseTime(req.SendAt)
		if err != nil {
			return nil, fieldError("send_at", "%v", err)
		}
		tmpl.SendAt = t
		// Validity counts from the request, not from send_at: a message
		// scheduled past it would only ever expire.
		if tmpl.ValidFor > 0 && t.After(h.opts.Now().Add(tmpl.ValidFor)) {
			return nil, fieldError("send_at", "%s is after the message's validity ends (%v from now): give a longer valid_for",
				req.SendAt, tmpl.ValidFor)
		}
	}
	if req.Modem != "" {
		if err := h.knownModem(req.Modem); err != nil {
			return nil, err
		}
	}
	field := func(i int) string {
		if req.To.array {
			return fmt.Sprintf("to[%d]", i)
		}
		return "to"
	}
	seen := map[string]int{}
	msgs := make([]queue.NewMessage, len(req.To.list))
	for i, raw := range req.To.list {
		to, err := normalise(raw, h.opts.DefaultCountry)
		if err != nil {
			return nil, fieldError(field(i), "%v", err)
		}
		if j, dup := seen[to]; dup {
			return nil, fieldError(field(i), "%q is the same number as %s: each recipient is sent one message", raw, field(j))
		}
		seen[to] = i
		msgs[i] = tmpl
		msgs[i].To = to
	}
	return msgs, nil
}

func (h *Handler) knownModem(id string) error {
	var ids []string
	if h.modems != nil {
		for _, st := range h.modems.Statuses() {
			if st.ID == id {
				return nil
			}
			ids = append(ids, st.ID)
		}
	}
	if len(ids) == 0 {
		return fieldError("modem", "%q is not a configured modem: no modem is configured", id)
	}
	return fieldError("modem", "%q is not a configured modem: choose one of %s", id, strings.Join(ids, ", "))
}

type queuedView struct {
	ID       int64        `json:"id"`
	To       string       `json:"to"`
	Status   queue.Status `json:"status"`
	Encoding pdu.Encoding `json:"encoding"`
	Parts    int          `json:"parts"`
}

func (h *Handler) postMessages(w http.ResponseWriter, r *http.Request) error {
	key := r.Header.Get("Idempotency-Key")
	if _, set := r.Header["Idempotency-Key"]; set {
		if key == "" || len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
			return &Error{Code: CodeInvalidField, Field: "Idempotency-Key",
				Message: fmt.Sprintf("must be 1 to %d printable ASCII characters", maxIdempotencyKey)}
		}
	}
	var req sendRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return err
	}
	msgs, err := h.newMessages(&req)
	if err != nil {
		return err
	}
	// The write may commit even if we stop waiting for it: wait for the
	// store's answer whether or not the client is still there, so that a
	// message that was stored is never logged as a request that failed.
	if key != "" {
		// Each token has its own keys: another client's key is not ours
		// to replay.
		key = scope(r.Context()) + key
	}
	res, err := h.store.Enqueue(context.WithoutCancel(r.Context()), key, msgs...)
	if err != nil {
		return err
	}
	out := struct {
		Messages []queuedView `json:"messages"`
	}{Messages: make([]queuedView, len(res.Messages))}
	ids := make([]int64, len(res.Messages))
	for i, m := range res.Messages {
		out.Messages[i] = queuedView{ID: m.ID, To: m.To, Status: m.Status, Encoding: m.Encoding, Parts: m.Parts}
		ids[i] = m.ID
	}
	h.log.Debug("messages queued", logKeyRequestID, requestID(r.Context()), logKeyIDs, ids,
		logKeyTo, req.To.list, logKeyText, *req.Text, "replayed", res.Replayed)
	if len(res.Messages) == 1 {
		w.Header().Set("Location", "/v1/messages/"+strconv.FormatInt(res.Messages[0].ID, 10))
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

type errorView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type eventView struct {
	Status queue.Status `json:"status"`
	At     time.Time    `json:"at"`
	Detail string       `json:"detail"`
}

// messageView is a message as GET shows it. Times are UTC RFC 3339; a time
// that has not happened yet is null.
type messageView struct {
	ID          int64        `json:"id"`
	To          string       `json:"to"`
	Text        string       `json:"text"`
	Status      queue.Status `json:"status"`
	Encoding    pdu.Encoding `json:"encoding"`
	Parts       int          `json:"parts"`
	Priority    string       `json:"priority"`
	Flash       bool         `json:"flash"`
	Report      bool         `json:"report"`
	Modem       *string      `json:"modem"`
	Attempts    int          `json:"attempts"`
	Error       *errorView   `json:"error"`
	SendAt      *time.Time   `json:"send_at"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	CreatedAt   time.Time    `json:"created_at"`
	SentAt      *time.Time   `json:"sent_at"`
	DeliveredAt *time.Time   `json:"delivered_at"`
	// Events is left out of lists, which do not read the history.
	Events []eventView `json:"events,omitempty"`
	// PartsDetail, one entry per part, is left out of lists too.
	PartsDetail []partView `json:"parts_detail,omitempty"`
}

// partView is one part of a message: pending (not confirmed sent), sent
// (confirmed, no final report), delivered or failed (its report said so).
type partView struct {
	Seq    int              `json:"seq"`
	Status queue.PartStatus `json:"status"`
	// Reference is the TP-MR the network gave the part; null while pending.
	Reference  *int       `json:"reference"`
	ReportedAt *time.Time `json:"reported_at"`
}

func viewParts(m *queue.Message) []partView {
	var out []partView
	for _, p := range m.PartDetails() {
		out = append(out, partView{Seq: p.Seq, Status: p.Status, Reference: p.Ref, ReportedAt: p.ReportedAt})
	}
	return out
}

func viewMessage(m *queue.Message) messageView {
	v := messageView{
		ID: m.ID, To: m.To, Text: m.Text, Status: m.Status, Encoding: m.Encoding, Parts: m.Parts,
		Priority: "normal", Flash: m.Flash, Report: m.Report, Attempts: m.Attempts,
		SendAt: m.SendAt, ExpiresAt: m.ExpiresAt, CreatedAt: m.CreatedAt, SentAt: m.SentAt, DeliveredAt: m.DeliveredAt,
	}
	if m.Priority == queue.PriorityHigh {
		v.Priority = "high"
	}
	// The modem that took it last, else the one the caller asked for.
	if mod := m.ClaimedBy; mod != "" {
		v.Modem = &mod
	} else if mod := m.Modem; mod != "" {
		v.Modem = &mod
	}
	if m.Error != nil {
		v.Error = &errorView{Code: m.Error.Code, Message: m.Error.Message}
	}
	for _, e := range m.Events {
		v.Events = append(v.Events, eventView{Status: e.Status, At: e.At, Detail: e.Detail})
	}
	return v
}

// pathID reads the {id} of a path. An id that is not a number names no
// message, hence 404 rather than 400.
func pathID(r *http.Request, what string) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no %s with id %q", what, s)}
	}
	return id, nil
}

func notFound(err error, what string, id int64) error {
	if e := toError(err); e.Code == CodeNotFound {
		return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no %s with id %d", what, id), Err: err}
	}
	return err
}

func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := h.store.Get(r.Context(), id)
	if err != nil {
		return notFound(err, "message", id)
	}
	writeJSON(w, http.StatusOK, viewMessageDetail(m))
	return nil
}

// viewMessageDetail is a message as GET /v1/messages/{id} shows it, with
// its history and its parts.
func viewMessageDetail(m *queue.Message) messageView {
	v := viewMessage(m)
	v.PartsDetail = viewParts(m)
	return v
}

func (h *Handler) cancelMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	if err := h.store.Cancel(context.WithoutCancel(r.Context()), id); err != nil {
		if e := toError(err); e.Code == CodeNotCancellable {
			// Say what it is doing, which is why it cannot be cancelled.
			if m, gerr := h.store.Get(r.Context(), id); gerr == nil {
				e = &Error{Code: CodeNotCancellable, Err: err,
					Message: fmt.Sprintf("message %d is %s: only a queued message can be cancelled", id, m.Status)}
			}
			return e
		}
		return notFound(err, "message", id)
	}
	m, err := h.store.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMessage(m))
	return nil
}

// query reads a list's query parameters, refusing unknown ones so that a
// misspelt filter does not silently list everything, a repeated one
// (only one value would be used), and a query that does not parse
// (url.Query would drop the part it cannot read).
func query(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &Error{Code: CodeInvalidField, Message: fmt.Sprintf("the query string does not parse: %v", err)}
	}
	for k, vs := range q {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return nil, fieldError(k, "is not a known query parameter: use %s", strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return nil, fieldError(k, "is given %d times: give it once", len(vs))
		}
	}
	return q, nil
}

func pageLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > queue.MaxPageSize {
		return 0, fieldError("limit", "%q must be a whole number from 1 to %d", s, queue.MaxPageSize)
	}
	return n, nil
}

func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "status", "to", "limit", "cursor")
	if err != nil {
		return err
	}
	f := queue.Filter{Status: queue.Status(q.Get("status")), Cursor: q.Get("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		return fieldError("status", "%q is not a status: use queued, sending, sent, delivered, failed, expired or cancelled", f.Status)
	}
	if to := q.Get("to"); to != "" {
		if f.To, err = normalise(to, h.opts.DefaultCountry); err != nil {
			return fieldError("to", "%v", err)
		}
	}
	if f.Limit, err = pageLimit(q); err != nil {
		return err
	}
	p, err := h.store.List(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, p.Messages, p.NextCursor, viewMessage)
	return nil
}

// writePage answers a list: {"messages": [...], "next_cursor": "..."},
// each item shown through view.
func writePage[M, V any](w http.ResponseWriter, items []M, next string, view func(M) V) {
	out := struct {
		Messages   []V    `json:"messages"`
		NextCursor string `json:"next_cursor"`
	}{Messages: make([]V, len(items)), NextCursor: next}
	for i, m := range items {
		out.Messages[i] = view(m)
	}
	writeJSON(w, http.StatusOK, out)
}

type estimateRequest struct {
	Text *string `json:"text"`
}

func (h *Handler) estimate(w http.ResponseWriter, r *http.Request) error {
	var req estimateRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Text == nil || *req.Text == "" {
		return fieldError("text", "is required and must not be empty")
	}
	// Not limited to MaxParts: the point is to say how long a text is.
	writeJSON(w, http.StatusOK, pdu.Estimate(*req.Text, h.opts.Encoding))
	return nil
}

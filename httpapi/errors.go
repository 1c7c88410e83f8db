package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"bridged/pdu"
	"bridged/queue"
)

// Error codes, the "code" of an error response. Each has one HTTP status,
// given by Status.
const (
	CodeInvalidJSON         = "invalid_json"
	CodeInvalidField        = "invalid_field"
	CodeUnauthorized        = "unauthorized"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodeNotCancellable      = "not_cancellable"
	CodeNotDead             = "not_dead"
	CodeBodyTooLarge        = "body_too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeTooManyParts        = "too_many_parts"
	CodeTooManyRecipients   = "too_many_recipients"
	CodeHostNotAllowed      = "host_not_allowed"
	CodeRequestTimeout      = "request_timeout"
	CodeStoreFull           = "store_full"
	CodeStoreReadOnly       = "store_read_only"
	CodeStoreLocked         = "store_locked"
	CodeStoreClosed         = "store_closed"
	CodeStoreUnavailable    = "store_unavailable"
	CodeTimeout             = "timeout"
	CodeNotReady            = "not_ready"
	CodeTooManyStreams      = "too_many_streams"
	CodeInternal            = "internal"
)

// Status returns the HTTP status of an error code; unknown codes are 500.
// It is the only place that maps error kinds to statuses.
func Status(code string) int {
	switch code {
	case CodeInvalidJSON, CodeInvalidField:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeIdempotencyConflict, CodeNotCancellable, CodeNotDead:
		return http.StatusConflict
	case CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case CodeTooManyParts, CodeTooManyRecipients:
		return http.StatusUnprocessableEntity
	case CodeHostNotAllowed:
		return http.StatusForbidden
	case CodeRequestTimeout:
		return http.StatusRequestTimeout
	case CodeStoreFull, CodeStoreReadOnly, CodeStoreLocked, CodeStoreClosed, CodeStoreUnavailable,
		CodeTimeout, CodeNotReady, CodeTooManyStreams:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Error is an API error as the client sees it. Err, when set, is the cause,
// which is logged for internal errors and never shown.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Err     error  `json:"-"`

	invalidToken bool // a token was given and refused (RFC 6750 error="invalid_token")
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func fieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// toError turns any error from a handler into what the client is told.
// Store failures become 503 with a message an operator can act on; what is
// not recognised is internal, and its text is not shown.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var tooMany *pdu.TooManyPartsError
	switch {
	case errors.As(err, &tooMany):
		return &Error{Code: CodeTooManyParts, Field: "text", Err: err,
			Message: fmt.Sprintf("needs %d parts, more than the %d allowed: shorten it or send it as several messages", tooMany.Needed, tooMany.Max)}
	case errors.Is(err, pdu.ErrEmptyText):
		return &Error{Code: CodeInvalidField, Field: "text", Message: "is empty", Err: err}
	case errors.Is(err, queue.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "not found", Err: err}
	case errors.Is(err, queue.ErrIdempotencyConflict):
		return &Error{Code: CodeIdempotencyConflict, Err: err,
			Message: "this Idempotency-Key was used before with a different body: use a new key for a new request"}
	case errors.Is(err, queue.ErrNotCancellable):
		return &Error{Code: CodeNotCancellable, Message: "the message has started sending or is final and can no longer be cancelled", Err: err}
	case errors.Is(err, queue.ErrNotDead):
		return &Error{Code: CodeNotDead, Message: "only a dead webhook delivery can be retried; this one is pending or delivered", Err: err}
	case errors.Is(err, queue.ErrBadCursor):
		return &Error{Code: CodeInvalidField, Field: "cursor", Message: "is not a cursor this server returned", Err: err}
	case errors.Is(err, queue.ErrInvalid):
		// The handlers validate first; this is the store's own check.
		return &Error{Code: CodeInvalidField, Message: err.Error(), Err: err}
	}
	for _, s := range storeErrors {
		if errors.Is(err, s.kind) {
			return &Error{Code: s.code, Message: s.message, Err: err}
		}
	}
	if errors.Is(err, queue.ErrStorageUnavailable) {
		// The wrapped error carries the system's reason ("file too large").
		return &Error{Code: CodeStoreUnavailable, Err: err,
			Message: fmt.Sprintf("the message database cannot be read or written (%v): check the disk and the server log", err)}
	}
	return &Error{Code: CodeInternal, Message: "internal error: see the server log", Err: err}
}

// storeErrors are the store's failures a client can do something about,
// with what to do: they are 503s, not internal errors.
var storeErrors = []struct {
	kind          error
	code, message string
}{
	{queue.ErrClosed, CodeStoreClosed, "the message store is closed because bridged is shutting down: retry once it has restarted"},
	{context.DeadlineExceeded, CodeTimeout, "timed out waiting for the message store: a write may still have been stored, so retry with the same Idempotency-Key"},
	{queue.ErrStorageFull, CodeStoreFull, "the disk holding the message database is full, so nothing was stored: free space on it, then retry"},
	{queue.ErrStorageReadOnly, CodeStoreReadOnly, "the message database is read-only (file permissions, a read-only mount, or the file was moved), so nothing was stored: make it writable for bridged, then retry"},
	{queue.ErrStorageLocked, CodeStoreLocked, "the message database is locked by another process (a backup or the sqlite3 shell?), so nothing was stored: end that process, then retry"},
}

// writeError answers with the JSON error and logs it: the edge of the API is
// the one place a request's error is logged. Client errors stay at Debug.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	status := Status(e.Code)
	attrs := []any{logKeyRequestID, requestID(r.Context()), logKeyMethod, r.Method, logKeyPath, r.URL.Path,
		logKeyStatus, status, logKeyCode, e.Code, logKeyError, err}
	switch {
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		h.log.Debug("request canceled", attrs...)
	case e.Code == CodeTooManyStreams || e.Code == CodeNotReady || e.Code == CodeStoreClosed:
		// A limit reached, a start or a shutdown: the client retries and
		// nothing is broken, but many of them say something of the load.
		h.log.Warn("request refused", attrs...)
	case status >= 500:
		h.log.Error("request failed", attrs...)
	default:
		h.log.Debug("request refused", attrs...)
	}
	switch e.Code {
	case CodeStoreLocked, CodeStoreClosed, CodeTimeout:
		// These pass by themselves; full or read-only needs a person.
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		v := `Bearer realm="bridged"`
		if e.invalidToken {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	// The message names the field too, so that it reads alone in a log
	// or an alert: `to[1]: "+44 12" is not a valid phone number ...`.
	out := *e
	out.Message = e.Error()
	writeJSON(w, status, struct {
		Error *Error `json:"error"`
	}{&out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Texts are shown as sent: "<" stays "<" rather than "\u003c".
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

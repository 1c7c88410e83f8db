// Package httpapi serves bridged's HTTP API: posting SMS to the queue,
// reading their status, reading the inbox, and the modems' state.
//
// # Endpoints
//
//	POST   /v1/messages        queue a text to one or more numbers (202)
//	GET    /v1/messages        list sent messages, newest first (?status=&to=&limit=&cursor=)
//	GET    /v1/messages/{id}   one message with its history
//	DELETE /v1/messages/{id}   cancel a message not yet sending (409 otherwise)
//	GET    /v1/inbox           list received messages, oldest first (?from=&since=&limit=&cursor=)
//	GET    /v1/inbox/{id}      one received message
//	DELETE /v1/inbox/{id}      remove one received message (204)
//	POST   /v1/estimate        encoding and parts a text would take
//	GET    /v1/modems          each modem's state
//	GET    /healthz            200 while the process runs and the database takes writes
//	GET    /readyz             200 while at least one modem is ready
//
// The encoding and parts of a text (in the 202, the estimate and the 422)
// come from Options.Encoding, the one encoding policy the store and the
// dispatcher are given too: the parts a client is told are those sent.
//
// Every error is {"error": {"code", "message", "field"}}: the message is
// written for a person and starts with the field, the code is for a
// program, and field (when the error is about one) names it the way the
// request spelt it, such as "to[1]". Status (the function) gives each code
// its HTTP status: 400 invalid_json or invalid_field (also for an unknown
// body field or query parameter), 401 unauthorized, 403 host_not_allowed
// (see Host below), 404 not_found, 405 method_not_allowed, 408
// request_timeout (the body did not arrive within the server's read
// timeout), 409 idempotency_conflict or not_cancellable, 413
// body_too_large, 415 unsupported_media_type (a body must be
// application/json, charset utf-8 if any), 422 too_many_parts or
// too_many_recipients (Options.MaxRecipients), 503
// store_full, store_read_only, store_locked, store_unavailable,
// store_closed, timeout or not_ready, and 500 internal for anything else,
// whose cause is logged with the request id (X-Request-Id) and not shown.
// The 503s that clear by themselves (store_locked, store_closed, timeout)
// carry "Retry-After: 1".
//
// # Strict input
//
// A body means exactly what it says or is refused (400 with the field):
// invalid UTF-8 and lone UTF-16 surrogates ("\ud800"), which encoding/json
// would replace with U+FFFD; a key given twice, or in another case than the
// field's ("TEXT"), which it would resolve silently; unknown fields and
// query parameters, and a query parameter given twice. Times (send_at,
// since) must fall in the years 1970 to 2199: the store keeps int64
// nanoseconds, which end in 2262.
//
// # Idempotency
//
// With an Idempotency-Key header, a repeat of the same key and body
// (compared after normalising the numbers) answers 202 with the original
// messages in their current state and "Idempotent-Replayed: true", and
// stores nothing; the same key with another body is 409.
//
// # Authentication
//
// With Options.Tokens set, every /v1 request needs "Authorization: Bearer
// TOKEN" with one of them. Tokens are compared through their SHA-256 in
// constant time, every token every time, so neither the timing of a
// rejection nor which token matched leaks. All tokens have the same rights:
// each may read and cancel any message. Idempotency keys are per token
// (stored under a hash of it): one client's key neither replays nor
// blocks another's. /healthz and /readyz stay open so that systemd, a load
// balancer or a monitoring probe can use them without a secret; they say
// nothing about messages. With no tokens /v1 is open: the daemon refuses to
// listen on a non-loopback address in that case, and warns at start-up.
//
// # Host
//
// Without tokens, a request whose Host is not localhost, a loopback address
// or one of Options.AllowedHosts is refused with 403 host_not_allowed: a
// web page can make its own name resolve to 127.0.0.1 (DNS rebinding) and
// then call the open API as if same-origin, but its Host still names it.
// With tokens, which a page cannot add, Host is checked only when
// AllowedHosts is set.
//
// # Phone numbers
//
// Recipients are normalised to E.164 ("+447400123456") with Google's
// libphonenumber metadata; a number without "+" is read in
// Options.DefaultCountry. Short codes and alphanumeric addresses are
// refused: the queue matches delivery reports by number and the dispatcher
// routes by international prefix, neither of which a short code has, and an
// alphanumeric address can send an SMS but never receive one.
//
// # Durability
//
// POST /v1/messages answers 202 only after the store committed every
// recipient's message in one transaction: all are queued or none. The store
// call does not stop when the client goes away (the write may commit
// anyway), so that the dispatcher is always woken for what was stored.
package httpapi

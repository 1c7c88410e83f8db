package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"bridged/modem"
	"bridged/pdu"
	"bridged/phone"
	"bridged/queue"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxBodyBytes  = 64 << 10
	DefaultMaxRecipients = 100
)

// Options configure the API. The zero value serves an open API with the
// defaults below; New checks the rest.
type Options struct {
	// Tokens are the accepted bearer tokens. Empty means /v1 is open.
	Tokens []string
	// AllowedHosts are host names (or addresses), without a port, that a
	// request's Host may name besides loopback ones. Without Tokens, a
	// Host that is neither is refused, so that a web page cannot reach
	// the open API through DNS rebinding; with Tokens, Host is checked only
	// when AllowedHosts is set, and then loopback names pass too.
	AllowedHosts []string
	// MaxRecipients bounds the recipients of one POST /v1/messages; 0
	// means DefaultMaxRecipients.
	MaxRecipients int
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DefaultCountry is the ISO 3166 region ("GB") in which numbers
	// written without "+" are read. Empty means such numbers are refused.
	DefaultCountry string
	// Encoding is how texts are encoded and split, and the most parts one
	// may take (0 means pdu.DefaultMaxParts): give the store and the
	// dispatcher the same value, so that the encoding and parts a request
	// is answered with are those stored and sent.
	Encoding pdu.Options
	// DefaultValidity applies when a request has no valid_for; 0 means the
	// message never expires.
	DefaultValidity time.Duration
	// DeliveryReports is the default of a request's "report".
	DeliveryReports bool
	// Logger receives internal errors (with the request id) and, at Debug,
	// client errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxEventStreams bounds the open GET /v1/events streams (503
	// beyond); EventsKeepalive is how often an idle stream gets a comment;
	// EventsWriteTimeout how long a stream waits for a reader that takes
	// nothing before it ends. 0 means the Default constants (events.go).
	MaxEventStreams                     int
	EventsKeepalive, EventsWriteTimeout time.Duration
	// MetricsToken is a bearer token accepted for GET /metrics besides
	// Tokens; with either set, /metrics needs one of them.
	MetricsToken string
}

// Store is what the API needs of the queue; *queue.Store satisfies it.
type Store interface {
	// Enqueue stores every message in one transaction and returns them
	// once committed; see queue.Store.Enqueue.
	Enqueue(ctx context.Context, key string, msgs ...queue.NewMessage) (queue.Enqueued, error)
	Get(ctx context.Context, id int64) (*queue.Message, error)
	List(ctx context.Context, f queue.Filter) (queue.Page, error)
	Cancel(ctx context.Context, id int64) error
	ListInbox(ctx context.Context, f queue.InboxFilter) (queue.InboxPage, error)
	GetInbox(ctx context.Context, id int64) (*queue.InboxMessage, error)
	DeleteInbox(ctx context.Context, id int64) error
}

// WriteChecker proves that the database takes writes, for /healthz;
// *queue.Store is one.
type WriteChecker interface {
	// CheckWritable commits a small real write through the same writer as
	// Enqueue and returns nil once it is durable. It fails with the store's
	// error when the database cannot take writes: full disk, read-only file
	// or mount, locked by another process, closed.
	CheckWritable(ctx context.Context) error
}

// Modems reports the state of every configured modem.
type Modems interface {
	Statuses() []modem.Status
}

// Deps are the services the API calls. Store and Health are required.
type Deps struct {
	Store  Store
	Health WriteChecker
	// Modems may be nil: then /readyz is never ready and any "modem" in a
	// request is refused.
	Modems Modems
	// Events may be nil: then GET /v1/events is 404.
	Events Events
	// Metrics serves GET /metrics (a *metrics.Exporter) once the token is
	// checked; nil means no /metrics.
	Metrics http.Handler
	// Webhooks may be nil: then /v1/webhooks is not served.
	Webhooks Webhooks
}

// Handler is the API as an http.Handler. Create it with New.
type Handler struct {
	opts   Options
	store  Store
	health WriteChecker
	modems Modems
	log    *slog.Logger
	mux    *http.ServeMux
	tokens [][sha256.Size]byte
	// scopes[i] prefixes the idempotency keys of requests with tokens[i].
	scopes  []string
	hosts   map[string]bool       // AllowedHosts, normalised by hostName
	compare func(a, b []byte) int // subtle.ConstantTimeCompare; a field so a test can watch it
	events  Events
	streams *streams

	// metricsTokens are tokens and the metrics token: those /metrics takes.
	metricsTokens [][sha256.Size]byte
	metrics       http.Handler // GET /metrics; nil: none

	// webhooks is the outbox (webhooks.go); nil without one.
	webhooks Webhooks
}

// Log keys.
const (
	logKeyRequestID = "request_id"
	logKeyMethod    = "method"
	logKeyPath      = "path"
	logKeyStatus    = "status"
	logKeyCode      = "code"
	logKeyError     = "error"
	logKeyTo        = "to"
	logKeyText      = "text"
	logKeyIDs       = "ids"
)

// New returns the API over deps. It fails when Store or Health is missing, a
// token or allowed host is empty, MaxRecipients is negative or
// DefaultCountry is not a region libphonenumber knows.
func New(opts Options, deps Deps) (*Handler, error) {
	if deps.Store == nil {
		return nil, errors.New("httpapi: a store is required")
	}
	if deps.Health == nil {
		return nil, errors.New("httpapi: a write check is required for /healthz")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Encoding.MaxParts <= 0 {
		opts.Encoding.MaxParts = pdu.DefaultMaxParts
	}
	switch {
	case opts.MaxRecipients < 0:
		return nil, fmt.Errorf("httpapi: max recipients %d: must not be negative", opts.MaxRecipients)
	case opts.MaxRecipients == 0:
		opts.MaxRecipients = DefaultMaxRecipients
	}
	if opts.DefaultValidity < 0 || opts.DefaultValidity > maxValidity {
		return nil, fmt.Errorf("httpapi: default validity %v: must be between 0 and %v", opts.DefaultValidity, maxValidity)
	}
	if opts.DefaultCountry != "" {
		opts.DefaultCountry = strings.ToUpper(opts.DefaultCountry)
		if !phone.IsRegion(opts.DefaultCountry) {
			return nil, fmt.Errorf("httpapi: default country %q is not an ISO 3166 region code such as GB or CN", opts.DefaultCountry)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{
		opts: opts, store: deps.Store, health: deps.Health, modems: deps.Modems, webhooks: deps.Webhooks,
		log: opts.Logger, mux: http.NewServeMux(), compare: subtle.ConstantTimeCompare,
		events: deps.Events, streams: newStreams(&opts),
	}
	for i, t := range opts.Tokens {
		if t == "" {
			return nil, fmt.Errorf("httpapi: token %d is empty", i+1)
		}
		h.tokens = append(h.tokens, sha256.Sum256([]byte(t)))
		h.scopes = append(h.scopes, idempotencyScope(t))
	}
	if err := h.setMetrics(opts.MetricsToken, deps.Metrics); err != nil {
		return nil, err
	}
	for i, host := range opts.AllowedHosts {
		name := hostName(host)
		if name == "" {
			return nil, fmt.Errorf("httpapi: allowed host %d is empty", i+1)
		}
		if h.hosts == nil {
			h.hosts = map[string]bool{}
		}
		h.hosts[name] = true
	}
	// The endpoints, by resource.
	for pattern, f := range map[string]handlerFunc{
		"POST /v1/messages": h.postMessages, "GET /v1/messages": h.listMessages,
		"GET /v1/messages/{id}": h.getMessage, "DELETE /v1/messages/{id}": h.cancelMessage,
		"GET /v1/inbox": h.listInbox, "GET /v1/inbox/{id}": h.getInbox, "DELETE /v1/inbox/{id}": h.deleteInbox,
		"POST /v1/estimate": h.estimate, "GET /v1/modems": h.listModems, "DELETE /v1/modems/{id}/pin-refusal": h.clearPINRefusal,
		"GET /healthz": h.healthz, "GET /readyz": h.readyz,
		"GET /v1/events": h.streamEvents,
	} {
		h.route(pattern, f)
	}
	if h.webhooks != nil {
		h.route("GET /v1/webhooks/deliveries", h.listDeliveries)
		h.route("POST /v1/webhooks/deliveries/{id}/retry", h.retryDelivery)
	}
	return h, nil
}

// handlerFunc returns its error instead of writing it, so that every error
// goes through writeError: one place maps kinds to statuses and logs.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h *Handler) route(pattern string, f handlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		// A panic is a bug: answer it like any internal error, logged with
		// the request id, rather than let net/http drop the connection.
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.writeError(w, r, fmt.Errorf("panic in %s: %v\n%s", pattern, v, debug.Stack()))
			}
		}()
		if err := f(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	scopeKey
)

// idempotencyScope is what prefixes the Idempotency-Keys of requests with
// this token, so that one client can neither replay nor block another's
// keys. It is a hash, so that the token is not stored, and a hash of the
// token rather than its place in the list, so that reordering or adding
// tokens keeps every client's keys. The domain string keeps it from being
// the SHA-256 that authorize compares.
func idempotencyScope(token string) string {
	sum := sha256.Sum256([]byte("bridged idempotency scope\x00" + token))
	return "t" + hex.EncodeToString(sum[:16]) + ":"
}

// scope returns the idempotency scope of the request's token: "" without
// tokens, where all clients share one.
func scope(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey).(string)
	return s
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// newRequestID keeps a caller's X-Request-Id when it is short and plain, so
// that a client's logs and ours can be joined; otherwise it makes one.
func newRequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && strings.Trim(id,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ServeHTTP checks Host, authenticates /v1 and /metrics requests and
// routes them.
// Authentication comes before routing so that an unauthenticated client
// cannot map the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID(r)
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
	if err := h.checkHost(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	if p := path.Clean("/" + r.URL.Path); p == "/v1" || strings.HasPrefix(p, "/v1/") {
		sc, err := h.authorize(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), scopeKey, sc))
	} else if p == metricsPath && h.metrics != nil {
		if err := h.authorizeMetrics(r); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.unrouted(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// checkHost refuses a request whose Host is not this machine's or an
// allowed name, when no token protects the API (or allowed hosts are
// configured). A page on attacker.example can make its name resolve to
// 127.0.0.1 (DNS rebinding) and then call the API as same-origin; its
// requests still say "Host: attacker.example", which gives it away. A
// request without Host (HTTP/1.0) cannot come from a browser and passes.
func (h *Handler) checkHost(r *http.Request) error {
	if len(h.tokens) > 0 && h.hosts == nil {
		return nil
	}
	name := hostName(r.Host)
	if r.Host == "" || h.hosts[name] || loopbackHost(name) {
		return nil
	}
	msg := "Host %q is not this machine: without API tokens only localhost, 127.0.0.1 and [::1] are accepted " +
		"(this refuses web pages that reach the API through DNS rebinding); add the name to [http] allowed_hosts to accept it"
	if len(h.tokens) > 0 {
		msg = "Host %q is not in [http] allowed_hosts, nor localhost, 127.0.0.1 or [::1]"
	}
	return &Error{Code: CodeHostNotAllowed, Message: fmt.Sprintf(msg, r.Host)}
}

// hostName returns the host of a Host header or an allowed_hosts entry,
// without port or brackets, lower-case and without a trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// loopbackHost reports whether name (as hostName returns it) can only be
// this machine: localhost, or a loopback address (127.0.0.0/8, ::1, and
// ::ffff:127.0.0.1).
func loopbackHost(name string) bool {
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// authorize checks the bearer token against every configured token, without
// stopping at a match, on fixed-length hashes: the time taken depends on
// neither the token's length nor how much of it is right, nor on which
// token matched. It returns the idempotency scope of the token.
func (h *Handler) authorize(r *http.Request) (string, error) {
	if len(h.tokens) == 0 {
		return "", nil
	}
	which, err := h.matchToken(r, h.tokens)
	if err != nil {
		return "", err
	}
	return h.scopes[which], nil
}

// matchToken returns which of tokens the request's bearer token is, in
// the constant time authorize describes.
func (h *Handler) matchToken(r *http.Request, tokens [][sha256.Size]byte) (int, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return 0, &Error{Code: CodeUnauthorized, Message: `missing "Authorization: Bearer <token>" header`}
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match, which := 0, 0
	for i := range tokens {
		eq := h.compare(got[:], tokens[i][:])
		match |= eq
		which = subtle.ConstantTimeSelect(eq, i, which)
	}
	if match != 1 {
		return 0, &Error{Code: CodeUnauthorized, Message: "the bearer token is not one of the configured tokens", invalidToken: true}
	}
	return which, nil
}

// unrouted lets the mux answer a request no pattern matches (404, 405 with
// its Allow header, or a redirect to the cleaned path) and rewrites a 404 or
// 405 body as our JSON error.
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request) {
	c := &captureWriter{header: w.Header()}
	h.mux.ServeHTTP(c, r)
	switch c.status {
	case http.StatusNotFound:
		h.writeError(w, r, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
	case http.StatusMethodNotAllowed:
		h.writeError(w, r, &Error{Code: CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, w.Header().Get("Allow"))})
	default:
		if c.status == 0 {
			c.status = http.StatusOK
		}
		w.WriteHeader(c.status)
		w.Write(c.body.Bytes())
	}
}

type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

package httpapi

// GET /v1/events: the durable event log as server-sent events, and the
// views that render an event's data as the rest of the API shows it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"bridged/modem"
	"bridged/queue"
)

// Defaults for the event stream's Options left zero.
const (
	DefaultMaxEventStreams = 16
	DefaultEventsKeepalive = 15 * time.Second
	// DefaultEventsWriteTimeout is how long one write to a stream may
	// take: a reader that takes no data for that long is disconnected,
	// so that what it has not read is never buffered here (it resumes
	// from the log with Last-Event-ID).
	DefaultEventsWriteTimeout = 10 * time.Second
)

// eventsPage is how many events a stream holds in memory at once.
const eventsPage = 100

// Events is the durable event log; *queue.Store is one.
type Events interface {
	// SubscribeEvents wakes the caller after each commit that logged events.
	SubscribeEvents() (<-chan struct{}, func())
	// LastEventID is the id of the newest committed event.
	LastEventID() int64
	// EventsAfter returns events with ids above after, oldest first.
	EventsAfter(ctx context.Context, after int64, types []string, limit int) ([]queue.LoggedEvent, error)
}

// Views returns the renderers the store writes events' data with:
// messages as GET /v1/messages/{id} shows them and received messages as
// GET /v1/inbox/{id} does, so that an event's data is the JSON a client
// would have got by asking at that moment.
func Views() queue.Views {
	return queue.Views{
		Message: func(m *queue.Message) ([]byte, error) { return marshalView(viewMessageDetail(m)) },
		Inbox:   func(m *queue.InboxMessage) ([]byte, error) { return marshalView(viewInbox(m)) },
	}
}

// ModemJSON renders a modem as one element of GET /v1/modems shows it: the
// data of a modem.state event.
func ModemJSON(s modem.Status) ([]byte, error) { return marshalView(viewModem(s)) }

// marshalView encodes v as writeJSON does, on one line.
func marshalView(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// streams bounds and ends the event streams.
type streams struct {
	slots chan struct{} // one element per open stream
	done  chan struct{} // closed by EndStreams
	end   sync.Once
}

// newStreams fills in the event stream's defaults in opts.
func newStreams(opts *Options) *streams {
	orDefault(&opts.MaxEventStreams, DefaultMaxEventStreams)
	orDefault(&opts.EventsKeepalive, DefaultEventsKeepalive)
	orDefault(&opts.EventsWriteTimeout, DefaultEventsWriteTimeout)
	return &streams{slots: make(chan struct{}, opts.MaxEventStreams), done: make(chan struct{})}
}

func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// EndStreams ends every event stream and refuses new ones. Give it to
// http.Server.RegisterOnShutdown: Shutdown waits for handlers to return,
// and a stream returns only when told.
func (h *Handler) EndStreams() { h.streams.end.Do(func() { close(h.streams.done) }) }

// streamEvents serves GET /v1/events: the events after Last-Event-ID (or
// ?after=) from the log, then each new one as it commits; without either,
// only new ones. The log is the only buffer: a stream holds at most one
// page of events, and wakes on the store's commits rather than polling.
func (h *Handler) streamEvents(w http.ResponseWriter, r *http.Request) error {
	if h.events == nil {
		return &Error{Code: CodeNotFound, Message: "this server has no event log"}
	}
	q, err := query(r, "after", "types")
	if err != nil {
		return err
	}
	after, resume, err := eventsCursor(r, q)
	if err != nil {
		return err
	}
	types, err := eventTypes(q.Get("types"))
	if err != nil {
		return err
	}
	select {
	case <-h.streams.done:
		return &Error{Code: CodeStoreClosed, Message: "bridged is shutting down: reconnect once it has restarted"}
	case h.streams.slots <- struct{}{}:
		defer func() { <-h.streams.slots }()
	default:
		return &Error{Code: CodeTooManyStreams,
			Message: fmt.Sprintf("%d event streams are open, the most this server keeps: close one or retry later", cap(h.streams.slots))}
	}
	// Subscribed before the log is read, so that no commit falls between.
	woke, unsubscribe := h.events.SubscribeEvents()
	defer unsubscribe()
	if !resume {
		after = h.events.LastEventID()
	}
	rc := http.NewResponseController(w)
	// The server's read deadline would end the request's context; a stream
	// reads nothing more, and a client that goes away is still noticed.
	rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: rc, timeout: h.opts.EventsWriteTimeout}
	if err := s.send(func(io.Writer) {}); err != nil {
		return nil
	}
	keepalive := time.NewTicker(h.opts.EventsKeepalive)
	defer keepalive.Stop()
	ctx := r.Context()
	for {
		for {
			evs, err := h.events.EventsAfter(ctx, after, types, eventsPage)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Error("event stream ended: reading the event log failed", logKeyRequestID, requestID(ctx), logKeyError, err)
				}
				return nil
			}
			if len(evs) > 0 {
				err := s.send(func(w io.Writer) {
					for _, e := range evs {
						fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, e.Body)
					}
				})
				if err != nil {
					return nil
				}
				after = evs[len(evs)-1].ID
			}
			if len(evs) < eventsPage {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.streams.done:
			return nil
		case <-woke:
		case <-keepalive.C:
			if err := s.send(func(w io.Writer) { io.WriteString(w, ": keepalive\n\n") }); err != nil {
				return nil
			}
		}
	}
}

// eventStream writes one stream, each send bounded in time.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// send writes with write and flushes. The deadline is set before writing,
// as the response's buffer may go to the socket during write. It fails
// when the client takes nothing for the timeout or has gone: the stream
// ends, the client resumes from the log.
func (s *eventStream) send(write func(io.Writer)) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	write(s.w)
	return s.rc.Flush()
}

// eventsCursor reads where a stream resumes: the Last-Event-ID header,
// which a browser's EventSource sends when it reconnects and so wins over
// the URL's after; resume is false when neither is given.
func eventsCursor(r *http.Request, q map[string][]string) (after int64, resume bool, err error) {
	field, v := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if v == "" {
		field, v = "after", ""
		if vs := q["after"]; len(vs) > 0 {
			v = vs[0]
		}
		if v == "" {
			return 0, false, nil
		}
	}
	id, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || id < 0 {
		return 0, false, fieldError(field, "%q is not an event id: give the id of the last event received", v)
	}
	return id, true, nil
}

// eventTypes reads ?types=a,b: known types only, so that a misspelt one
// does not silently stream nothing.
func eventTypes(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if !slices.Contains(queue.EventTypes, t) {
			return nil, fieldError("types", "%q is not an event type: use %s", t, strings.Join(queue.EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

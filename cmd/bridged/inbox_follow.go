package main

// The event stream reader of "bridged inbox -follow": GET /v1/events as
// server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html),
// resumed with Last-Event-ID.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// eventFollower is one -follow's connection to the event stream, and
// where it is in it. It is used by one goroutine.
type eventFollower struct {
	api  *apiClient
	p    *inboxPrinter
	idle time.Duration
	// lastEventID is the id of the last event handled, sent as
	// Last-Event-ID when connecting again; "" before the first.
	lastEventID string
	listed      bool // the inbox was listed once
	// onConnect, if not nil, is called each time the stream is open.
	onConnect func()
}

// followOnce connects to the stream, lists the inbox if nothing else
// says where to resume, and prints what the stream brings until it
// breaks. connected says the daemon answered with a stream.
func (f *eventFollower) followOnce(ctx context.Context) (connected bool, err error) {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Silence, not a deadline, tells a dead connection: the stream lasts
	// for ever, and its keepalives prove it alive.
	var silent atomic.Bool
	watchdog := time.AfterFunc(f.idle, func() { silent.Store(true); cancel() })
	defer watchdog.Stop()
	defer func() {
		if silent.Load() && ctx.Err() == nil {
			err = fmt.Errorf("the event stream of the daemon at %s was silent for %v", f.api.shown, f.idle)
		}
	}()
	req, err := f.api.newRequest(connCtx, http.MethodGet, "/v1/events?types="+eventReceived, nil)
	if err != nil {
		return false, permanentError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	if f.lastEventID != "" {
		req.Header.Set("Last-Event-ID", f.lastEventID)
	}
	resp, err := f.api.stream.Do(req)
	if err != nil {
		return false, f.api.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, permanentIfFinal(f.api.answerError(resp, raw))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, permanentError{fmt.Errorf("the daemon at %s answered GET /v1/events with %q, not an event stream: -follow needs a bridged that serves it",
			f.api.shown, resp.Header.Get("Content-Type"))}
	}
	if f.onConnect != nil {
		f.onConnect()
	}
	if !f.listed || f.lastEventID == "" {
		// What was stored before the stream opened is in the inbox; what
		// comes later is in the stream, which waits meanwhile.
		watchdog.Stop()
		if err := listInbox(ctx, f.api, f.p, 0); err != nil {
			return true, permanentIfFinal(err)
		}
		f.listed = true
		watchdog.Reset(f.idle)
	}
	return true, readEvents(resp.Body, func() { watchdog.Reset(f.idle) }, f.handle)
}

// handle prints a message.received event's message; lastEventID moves
// past every event, printed or not, once it is handled.
func (f *eventFollower) handle(ev sseEvent) error {
	if ev.typ == eventReceived {
		var body struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil || len(body.Data) == 0 {
			return permanentError{fmt.Errorf("event %q of the stream is not an event body with data", ev.id)}
		}
		if err := f.p.print(body.Data); err != nil {
			return permanentError{err}
		}
	}
	if ev.id != "" {
		f.lastEventID = ev.id
	}
	return nil
}

// sseEvent is one event of a server-sent event stream.
type sseEvent struct {
	id, typ, data string
}

// errStreamEnded is a stream the daemon closed, as it does when it stops.
var errStreamEnded = errors.New("the daemon closed the event stream")

// readEvents reads events from r and hands each to handle, calling alive
// for every line, comments (keepalives) included. It returns handle's
// error, or why the stream ended.
func readEvents(r io.Reader, alive func(), handle func(sseEvent) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	var (
		ev      sseEvent
		data    strings.Builder
		hasData bool
	)
	for sc.Scan() {
		alive()
		line := sc.Text()
		if line == "" {
			// A blank line ends an event; one without data is none.
			if hasData {
				ev.data = data.String()
				if err := handle(ev); err != nil {
					return err
				}
			}
			ev, hasData = sseEvent{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			if !strings.Contains(value, "\x00") {
				ev.id = value
			}
		case "event":
			ev.typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
			if data.Len() > maxEventBytes {
				return fmt.Errorf("an event of the stream is longer than %d MB", maxEventBytes>>20)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read the event stream: %w", err)
	}
	return errStreamEnded
}

// permanentError ends -follow: connecting again would get the same
// answer (a wrong token, a daemon without the event stream) or fail the
// same way.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// permanentIfFinal makes an answer that asking again would not change
// permanent: any 4xx but a timeout or too many requests.
func permanentIfFinal(err error) error {
	de, ok := errors.AsType[*daemonError](err)
	if !ok || de.statusCode >= 500 || de.statusCode == http.StatusRequestTimeout || de.statusCode == http.StatusTooManyRequests {
		return err
	}
	return permanentError{err}
}

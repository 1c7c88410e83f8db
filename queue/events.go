package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types: the "type" of an event in the log, a webhook delivery and
// the event stream.
const (
	EventMessageStatus   = "message.status"
	EventMessageReceived = "message.received"
	EventModemState      = "modem.state"
)

// EventTypes are every event type, in the order the documentation lists them.
var EventTypes = []string{EventMessageReceived, EventMessageStatus, EventModemState}

// Views render the "data" of an event: the object as the API shows it at
// that moment, so that a webhook receiver or a stream follower reads the
// same JSON as a client that asks GET. The store writes an event's body in
// the transaction of the change it reports, so it must render it there;
// the API's views live in the API's package, which imports this one, hence
// functions given by the program that wires both. A nil view marshals the
// store's own struct, which is enough for tests of the store alone.
type Views struct {
	// Message renders a message with its parts and history, as
	// GET /v1/messages/{id} shows it.
	Message func(*Message) ([]byte, error)
	// Inbox renders a received message, as GET /v1/inbox/{id} shows it.
	Inbox func(*InboxMessage) ([]byte, error)
}

func (v Views) message(m *Message) ([]byte, error) {
	if v.Message == nil {
		return json.Marshal(m)
	}
	return v.Message(m)
}

func (v Views) inbox(m *InboxMessage) ([]byte, error) {
	if v.Inbox == nil {
		return json.Marshal(m)
	}
	return v.Inbox(m)
}

// LoggedEvent is one event of the durable log.
type LoggedEvent struct {
	// ID grows with every event and is never used twice.
	ID   int64
	Type string
	// Subject is what the event is about: the message's or the inbox
	// message's id, or the modem's.
	Subject   string
	CreatedAt time.Time
	// Body is the event as webhooks get it and the stream sends it:
	// {"id", "type", "created_at", "data"}, one line of JSON.
	Body []byte
}

// MaxEventsPage bounds EventsAfter's answer.
const MaxEventsPage = 1000

// lastEventID reads the id of the newest event ever written, so that the
// writer goes on after it: Prune never removes the newest event.
func lastEventID(db *sql.DB) (int64, error) {
	var id int64
	if err := db.QueryRow(qLastEventID).Scan(&id); err != nil {
		return 0, fmt.Errorf("read the last event id: %w", err)
	}
	return id, nil
}

// logEvent appends an event with data to the log and queues its body for
// the webhook endpoints, in w's transaction. The writer is the only one
// to assign ids, in commit order, so that a reader that has seen id n has
// seen every event before it.
func (w *wtx) logEvent(typ, subject string, data []byte) error {
	id := w.s.eventSeq + 1
	body := make([]byte, 0, len(data)+96)
	body = append(body, `{"id":"`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `","type":"`...)
	body = append(body, typ...)
	body = append(body, `","created_at":"`...)
	body = w.now.AppendFormat(body, timeFormat)
	body = append(body, `","data":`...)
	body = append(body, data...)
	body = append(body, '}')
	if _, err := w.Exec(qInsertLogged, id, typ, subject, nanos(w.now), string(body)); err != nil {
		return fmt.Errorf("log event: %w", err)
	}
	// A write rolled back to its savepoint leaves a gap, never a repeat.
	w.s.eventSeq = id
	w.events++
	return w.webhook(typ, subject, body)
}

// messageChanged logs the message.status event of message id, read back
// in w's transaction after its change and its history entry.
func (w *wtx) messageChanged(id int64) error {
	m, err := readMessage(context.Background(), w, id)
	if err != nil {
		return err
	}
	return w.logMessage(m)
}

// logMessage logs the message.status event of m, as it is now.
func (w *wtx) logMessage(m *Message) error {
	data, err := w.s.opts.Views.message(m)
	if err != nil {
		return fmt.Errorf("render message %d: %w", m.ID, err)
	}
	return w.logEvent(EventMessageStatus, strconv.FormatInt(m.ID, 10), data)
}

// inboxArrived logs the message.received event of a message that has just
// reached the inbox.
func (w *wtx) inboxArrived(m *InboxMessage) error {
	data, err := w.s.opts.Views.inbox(m)
	if err != nil {
		return fmt.Errorf("render received message %d: %w", m.ID, err)
	}
	return w.logEvent(EventMessageReceived, strconv.FormatInt(m.ID, 10), data)
}

// ModemState logs a modem.state event with data (the modem as the API
// shows it) when state differs from the last one logged for modem, and
// reports whether it did. The dispatcher calls it for the states worth
// telling; passing through others (starting) changes nothing, so a modem
// that comes back ready after a restart is not told again.
func (s *Store) ModemState(ctx context.Context, modem, state string, data []byte) (bool, error) {
	logged := false
	err := s.writeAs(ctx, "modem state", func(w *wtx) error {
		logged = false
		var last string
		switch err := w.QueryRow(qModemStateOf, modem).Scan(&last); {
		case err == nil && last == state:
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := w.Exec(qSetModemState, modem, state, nanos(w.now)); err != nil {
			return err
		}
		logged = true
		return w.logEvent(EventModemState, modem, data)
	})
	if err != nil {
		// Not logged: when ctx ended first, fn may still be running in
		// the writer and logged is not ours to read.
		return false, err
	}
	return logged, nil
}

// SubscribeEvents returns a channel that receives a value after each commit
// that wrote an event, and a function that ends the subscription. Values
// are coalesced, like Subscribe's: a follower reads EventsAfter its last id
// when woken.
func (s *Store) SubscribeEvents() (<-chan struct{}, func()) { return s.logged.subscribe() }

// LastEventID returns the id of the newest committed event (0 before the
// first): where a follower that wants only new events starts. It costs no
// query.
func (s *Store) LastEventID() int64 { return s.lastEvent.Load() }

// EventsAfter returns up to limit events with ids greater than after,
// oldest first, of the given types (all when types is empty). Events older
// than the retention are gone: a follower that was away longer resumes at
// the oldest one left.
func (s *Store) EventsAfter(ctx context.Context, after int64, types []string, limit int) ([]LoggedEvent, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	q, args := qEventsAfter, []any{after}
	if len(types) > 0 {
		q += " AND type IN (?" + strings.Repeat(", ?", len(types)-1) + ")"
		for _, t := range types {
			args = append(args, t)
		}
	}
	rows, err := s.rdb.QueryContext(ctx, q+qEventsOrder, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", after, err)
	}
	out, err := collect(rows, func(r rowScanner) (LoggedEvent, error) {
		var (
			e    LoggedEvent
			at   int64
			body string
		)
		err := r.Scan(&e.ID, &e.Type, &e.Subject, &at, &body)
		e.CreatedAt, e.Body = fromNanos(at), []byte(body)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", after, err)
	}
	return out, nil
}

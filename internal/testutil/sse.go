package testutil

import (
	"bufio"
	"io"
	"strings"
)

// SSEEvent is one server-sent event as a client reads it, or a comment
// (a line starting with ":", such as a keepalive).
type SSEEvent struct {
	ID, Event, Data string
	// Comment is the text of a comment line; the other fields are empty.
	Comment string
}

// SSEReader reads server-sent events from a stream (the text/event-stream
// format of the WHATWG HTML standard, as much as bridged sends).
type SSEReader struct{ r *bufio.Reader }

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader { return &SSEReader{r: bufio.NewReader(r)} }

// Next returns the next event or comment; io.EOF when the stream ended
// between two events.
func (s *SSEReader) Next() (SSEEvent, error) {
	var e SSEEvent
	started := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && started {
				err = io.ErrUnexpectedEOF
			}
			return SSEEvent{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && started:
			return e, nil
		case line == "":
		case strings.HasPrefix(line, ":"):
			if !started {
				return SSEEvent{Comment: strings.TrimSpace(line[1:])}, nil
			}
		default:
			started = true
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				e.ID = value
			case "event":
				e.Event = value
			case "data":
				if e.Data != "" {
					e.Data += "\n"
				}
				e.Data += value
			}
		}
	}
}

// NextEvent is Next without comments.
func (s *SSEReader) NextEvent() (SSEEvent, error) {
	for {
		e, err := s.Next()
		if err != nil || e.Comment == "" {
			return e, err
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"bridged/config"
)

// inboxCommand is "bridged inbox": it prints what the running daemon
// received and, with -follow, what it receives next, from the event
// stream.
type inboxCommand struct {
	stdout, stderr io.Writer
	// idle is how long -follow waits without a byte from the event stream,
	// whose keepalives come every 15 s, before it takes the connection for
	// dead and connects again; 0 means followIdle.
	idle time.Duration
}

func (c *inboxCommand) Usage() string {
	return `Usage:
  bridged inbox [flags]

Prints the messages the running daemon received, oldest first, one a line:
the time received (UTC), the sender, the modem and the text, quoted with Go's
escapes (a newline in an SMS prints as \n, so a line is always one message).

Flags:
` + clientFlagsUsage + `
  -since T       only messages received since T: an RFC 3339 time, a duration
                 ago such as 2h or 7d, or "now"
  -limit N       print at most N messages (default: all; not with -follow)
  -json          print each message as GET /v1/inbox/ID shows it, one a line
  -follow        then print each message as it arrives (from GET /v1/events),
                 connecting again after a lost connection without missing one;
                 stop with Ctrl-C
`
}

const (
	// inboxPageSize is how many messages one GET /v1/inbox asks for.
	inboxPageSize = 500
	// followIdle is three keepalive intervals of the event stream.
	followIdle = 45 * time.Second
	// followFirstPause and followMaxPause pace the reconnections of
	// -follow: quick after a daemon restart, slow while it stays away.
	followFirstPause = 500 * time.Millisecond
	followMaxPause   = 30 * time.Second
	// maxEventBytes bounds one event of the stream: a received message of
	// 255 UCS-2 parts, escaped as JSON, is about 100 kB.
	maxEventBytes = 4 << 20
	// eventReceived is the event type -follow prints.
	eventReceived = "message.received"
)

// receivedMessage is what inbox prints of a received message.
type receivedMessage struct {
	ID         int64     `json:"id"`
	From       string    `json:"from"`
	Modem      string    `json:"modem"`
	Text       string    `json:"text"`
	ReceivedAt time.Time `json:"received_at"`
	Incomplete bool      `json:"incomplete"`
	Missing    []int     `json:"missing"`
}

// inboxPrinter prints each received message once, in the order of their
// ids, which grow in the order the daemon stored them: a message both
// listed and announced by the event stream prints once.
type inboxPrinter struct {
	w      io.Writer
	json   bool
	lastID int64 // the highest id printed
	// since and cursor say where the next listing starts: cursor is the
	// API's next_cursor of the last page that had messages.
	since  time.Time
	cursor string
}

func (p *inboxPrinter) print(raw json.RawMessage) error {
	var m receivedMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("a received message that does not read: %w", err)
	}
	if m.ID <= p.lastID {
		return nil
	}
	p.lastID = m.ID
	if p.json {
		return writeJSONLine(p.w, raw)
	}
	line := fmt.Sprintf("%s %s %s %s", m.ReceivedAt.UTC().Format(time.RFC3339), plainField(m.From),
		plainField(m.Modem), strconv.Quote(m.Text))
	if m.Incomplete {
		line += " (incomplete" + missingParts(m.Missing) + ")"
	}
	_, err := fmt.Fprintln(p.w, line)
	return err
}

// missingParts names the parts an incomplete message lacks.
func missingParts(seqs []int) string {
	if len(seqs) == 0 {
		return ""
	}
	s := make([]string, len(seqs))
	for i, n := range seqs {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return ": part " + s[0] + " missing"
	}
	return ": parts " + strings.Join(s, ", ") + " missing"
}

// plainField prints a field as it is when it is one word, quoted
// otherwise: an alphanumeric sender chooses its own letters.
func plainField(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"' }) {
		return strconv.Quote(s)
	}
	return s
}

func (c *inboxCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("inbox", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	sinceText := fs.String("since", "", "")
	limit := fs.Int("limit", 0, "")
	asJSON := fs.Bool("json", false, "")
	follow := fs.Bool("follow", false, "")
	rest, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("inbox: takes no arguments, got %q", rest[0])
	}
	if *limit < 0 {
		return usageErrorf("inbox: -limit %d: want a number of messages, 0 for all", *limit)
	}
	if *limit > 0 && *follow {
		// Both would leave a gap: the messages past the limit, skipped,
		// and those that come next, printed.
		return usageErrorf("inbox: -limit and -follow do not go together: use -since to start later")
	}
	p := &inboxPrinter{w: c.stdout, json: *asJSON}
	if p.since, err = parseSince(*sinceText, time.Now()); err != nil {
		return err
	}
	api, err := cf.client()
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if !*follow {
		if err := listInbox(ctx, api, p, *limit); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		return nil
	}
	if err := c.follow(ctx, api, p); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	switch s {
	case "":
		return time.Time{}, nil
	case "now":
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("inbox: -since %q: want an RFC 3339 time such as 2026-03-01T09:00:00Z, a duration such as 2h, or \"now\"", s)
}

// listInbox prints the messages after p's position, page by page, at most
// limit of them (0: all).
func listInbox(ctx context.Context, api *apiClient, p *inboxPrinter, limit int) error {
	for printed := 0; ; {
		size := inboxPageSize
		if limit > 0 {
			size = min(size, limit-printed)
		}
		q := url.Values{"limit": {strconv.Itoa(size)}}
		if p.cursor != "" {
			q.Set("cursor", p.cursor)
		}
		if !p.since.IsZero() {
			q.Set("since", p.since.UTC().Format(time.RFC3339Nano))
		}
		var page struct {
			Messages   []json.RawMessage `json:"messages"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := api.callJSON(ctx, http.MethodGet, "/v1/inbox?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, raw := range page.Messages {
			if err := p.print(raw); err != nil {
				return err
			}
		}
		if page.NextCursor != "" {
			p.cursor = page.NextCursor
		}
		printed += len(page.Messages)
		if len(page.Messages) < size || (limit > 0 && printed >= limit) {
			return nil
		}
	}
}

// follow lists the inbox and then prints what the event stream announces,
// connecting again whenever the stream breaks, until ctx ends. The stream
// is opened before the listing, so that a message stored in between is in
// one or the other; after a reconnection Last-Event-ID resumes it, and
// when no event came yet to resume from, the inbox is listed again from
// where it was left instead. Until the first connection succeeds, an error
// ends it: a daemon that is not there is a mistake to report, one that
// goes away later is waited for.
func (c *inboxCommand) follow(ctx context.Context, api *apiClient, p *inboxPrinter) error {
	lost := false
	f := &eventFollower{api: api, p: p, idle: followIdle, onConnect: func() {
		if lost {
			fmt.Fprintln(c.stderr, "bridged: inbox: connected again")
			lost = false
		}
	}}
	if c.idle > 0 {
		f.idle = c.idle
	}
	pause := followFirstPause
	for everConnected := false; ; {
		connected, err := f.followOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		everConnected = everConnected || connected
		if _, permanent := errors.AsType[permanentError](err); permanent || !everConnected {
			return err
		}
		if connected {
			pause = followFirstPause
		}
		if !lost {
			fmt.Fprintf(c.stderr, "bridged: inbox: %v; connecting again\n", err)
			lost = true
		}
		if sleepCtx(ctx, pause) != nil {
			return nil
		}
		pause = min(2*pause, followMaxPause)
	}
}

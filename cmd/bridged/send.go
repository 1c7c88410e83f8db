package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"bridged/config"
)

// sendCommand is "bridged send": it queues a text through a running
// daemon's API and, with -wait, follows it to its final status.
type sendCommand struct {
	stdin  io.Reader
	stdout io.Writer
}

func (c *sendCommand) Usage() string {
	return `Usage:
  bridged send [flags] NUMBER [TEXT]

Queues TEXT for NUMBER (several numbers separated by commas) through the
running daemon and prints the id of each message, one per line. Without
TEXT, or with TEXT "-", the text is read from standard input (one final
newline dropped). Put "--" before a text that starts with "-".

Flags:
` + clientFlagsUsage + `
  -report        ask for a delivery report (-report=false: none; default: the
                 daemon's [sms] delivery_reports)
  -wait          follow each message to its final status and print "ID STATUS"
                 (and the failure's code); exit 1 if one failed, expired or was
                 cancelled, or was not final within -timeout
  -timeout D     how long -wait waits (default 5m)
  -json          print the API's answer instead of ids (with -wait, each
                 message as GET /v1/messages/ID shows it at the end, one a line)
  -idempotency-key KEY
                 the request's Idempotency-Key (default: a random one): run the
                 command again with the same KEY and the message is not sent twice
`
}

const (
	// maxStdinText bounds a text read from standard input: far more than
	// the 255 parts an SMS can have, small enough to hold.
	maxStdinText = 256 << 10
	// postAttempts is how often send tries the POST: again after a
	// connection that broke or a 503 that passes by itself, with the same
	// Idempotency-Key, so that a message stored by an attempt whose answer
	// was lost is not stored twice.
	postAttempts = 3
	// waitFirstPoll and waitMaxPoll pace -wait: quick at first, when a
	// message on an idle modem is sent within a second, then every few
	// seconds, which costs the daemon next to nothing.
	waitFirstPoll = 200 * time.Millisecond
	waitMaxPoll   = 5 * time.Second
)

// optionalBool is a boolean flag that knows whether it was given, so that
// an absent -report leaves the daemon's default.
type optionalBool struct{ v *bool }

func (b *optionalBool) String() string {
	if b == nil || b.v == nil {
		return ""
	}
	return strconv.FormatBool(*b.v)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	b.v = &v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// sendRequestBody is what POST /v1/messages is given.
type sendRequestBody struct {
	To     any    `json:"to"` // a number, or an array of them
	Text   string `json:"text"`
	Report *bool  `json:"report,omitempty"`
}

// messageState is what -wait reads of GET /v1/messages/{id}.
type messageState struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Report bool   `json:"report"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// final reports whether the message will not change any more: sent is
// final only when no delivery report was asked for.
func (m *messageState) final() bool {
	switch m.Status {
	case "delivered", "failed", "expired", "cancelled":
		return true
	case "sent":
		return !m.Report
	}
	return false
}

func (m *messageState) succeeded() bool { return m.Status == "delivered" || m.Status == "sent" }

// failureCode is the code of a message that did not reach its recipient.
func (m *messageState) failureCode() string {
	if m.Error != nil && m.Error.Code != "" {
		return m.Error.Code
	}
	return m.Status
}

func (c *sendCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	var report optionalBool
	fs.Var(&report, "report", "")
	wait := fs.Bool("wait", false, "")
	timeoutText := fs.String("timeout", "5m", "")
	asJSON := fs.Bool("json", false, "")
	key := fs.String("idempotency-key", "", "")
	rest, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	timeout, err := config.ParseDuration(*timeoutText)
	if err != nil || timeout <= 0 {
		return usageErrorf("send: -timeout %q: want a duration such as 30s, 5m or 1h", *timeoutText)
	}
	if len(rest) == 0 || len(rest) > 2 {
		return usageErrorf("send: want NUMBER and at most one TEXT (quote the text), got %d arguments", len(rest))
	}
	body := sendRequestBody{To: recipientsOf(rest[0]), Report: report.v}
	if len(rest) == 2 && rest[1] != "-" {
		body.Text = rest[1]
	} else if body.Text, err = readText(c.stdin); err != nil {
		return err
	}
	if body.Text == "" {
		return usageErrorf("send: the text is empty: give TEXT or pipe it on standard input")
	}
	if !utf8.ValidString(body.Text) {
		return usageErrorf("send: the text is not valid UTF-8")
	}
	if *key == "" {
		*key = newIdempotencyKey()
	}
	api, err := cf.client()
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	raw, err := postMessages(ctx, api, body, *key)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	var accepted struct {
		Messages []messageState `json:"messages"`
	}
	if err := json.Unmarshal(raw, &accepted); err != nil || len(accepted.Messages) == 0 {
		return fmt.Errorf("send: the daemon at %s answered 202 without the messages it queued", api.shown)
	}
	if !*wait {
		if *asJSON {
			return writeJSONLine(c.stdout, raw)
		}
		for _, m := range accepted.Messages {
			fmt.Fprintln(c.stdout, m.ID)
		}
		return nil
	}
	return c.waitFinal(ctx, api, accepted.Messages, timeout, *asJSON)
}

// recipientsOf reads NUMBER: one number, or several separated by commas.
func recipientsOf(arg string) any {
	if !strings.Contains(arg, ",") {
		return arg
	}
	var to []string
	for n := range strings.SplitSeq(arg, ",") {
		to = append(to, strings.TrimSpace(n))
	}
	return to
}

// readText reads a text from standard input; the newline that ends what
// echo or a here-document writes is not part of the message.
func readText(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxStdinText+1))
	if err != nil {
		return "", fmt.Errorf("send: read the text from standard input: %w", err)
	}
	if len(b) > maxStdinText {
		return "", usageErrorf("send: the text on standard input is longer than %d kB", maxStdinText>>10)
	}
	s, _ := strings.CutSuffix(string(b), "\n")
	s, _ = strings.CutSuffix(s, "\r")
	return s, nil
}

func newIdempotencyKey() string {
	return "bridged-send-" + rand.Text()
}

// postMessages posts body, trying again with the same Idempotency-Key
// when the daemon's answer was lost or it asked to be asked again.
func postMessages(ctx context.Context, api *apiClient, body sendRequestBody, key string) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		req, err := api.newRequest(ctx, http.MethodPost, "/v1/messages", body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Idempotency-Key", key)
		raw, err := api.call(req)
		if err == nil {
			return raw, nil
		}
		pause, again := retryPause(err)
		if !again || attempt == postAttempts || ctx.Err() != nil {
			return nil, err
		}
		if err := sleepCtx(ctx, pause); err != nil {
			return nil, err
		}
	}
}

// retryPause says whether a request that failed with err may pass when
// tried again, and after how long. A refused connection is not tried
// again: nothing listens, and nothing was stored.
func retryPause(err error) (time.Duration, bool) {
	if de, ok := errors.AsType[*daemonError](err); ok {
		return min(de.retryAfter, waitMaxPoll), de.retryAfter > 0
	}
	if errors.Is(err, errNoDaemon) || errors.Is(err, context.Canceled) {
		return 0, false
	}
	return time.Second, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitFinal follows each message until it is final, printing each as it
// ends, and fails if one did not reach its recipient.
func (c *sendCommand) waitFinal(ctx context.Context, api *apiClient, msgs []messageState, timeout time.Duration, asJSON bool) error {
	deadline := time.Now().Add(timeout)
	var failed []string
	for _, m := range msgs {
		st, raw, err := followMessage(ctx, api, m.ID, deadline)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		switch {
		case asJSON:
			if err := writeJSONLine(c.stdout, raw); err != nil {
				return err
			}
		case st.succeeded():
			fmt.Fprintf(c.stdout, "%d %s\n", st.ID, st.Status)
		default:
			fmt.Fprintf(c.stdout, "%d %s %s\n", st.ID, st.Status, st.failureCode())
		}
		if !st.succeeded() {
			why := st.failureCode()
			if st.Error != nil && st.Error.Message != "" {
				why += ": " + st.Error.Message
			}
			failed = append(failed, fmt.Sprintf("message %d %s (%s)", st.ID, st.Status, why))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("send: %s", strings.Join(failed, "; "))
	}
	return nil
}

// followMessage polls GET /v1/messages/{id}, more slowly as time passes,
// until the message is final or deadline passes. A daemon that restarts
// meanwhile is waited for; an answer such as 401 or 404 ends the wait.
func followMessage(ctx context.Context, api *apiClient, id int64, deadline time.Time) (*messageState, []byte, error) {
	path := "/v1/messages/" + strconv.FormatInt(id, 10)
	pause := waitFirstPoll
	var last messageState
	var lastErr error
	for {
		req, err := api.newRequest(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, nil, err
		}
		raw, err := api.call(req)
		if err == nil {
			last = messageState{}
			if err := json.Unmarshal(raw, &last); err != nil {
				return nil, nil, fmt.Errorf("the daemon at %s answered GET %s with JSON that does not read: %w", api.shown, path, err)
			}
			if last.final() {
				return &last, raw, nil
			}
		} else if de, ok := errors.AsType[*daemonError](err); ok && de.statusCode < 500 {
			return nil, nil, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("stopped waiting: message %d is %s", id, orUnknown(last.Status))
		}
		left := time.Until(deadline)
		if left <= 0 {
			if lastErr != nil {
				return nil, nil, fmt.Errorf("message %d has no final status within the -timeout: %w", id, lastErr)
			}
			return nil, nil, fmt.Errorf("message %d is still %s: no final status within the -timeout (it may still get one)", id, last.Status)
		}
		if sleepCtx(ctx, min(pause, left)) != nil {
			return nil, nil, fmt.Errorf("stopped waiting: message %d is %s", id, orUnknown(last.Status))
		}
		pause = min(pause*3/2, waitMaxPoll)
	}
}

func orUnknown(status string) string {
	if status == "" {
		return "in an unknown state"
	}
	return status
}

// writeJSONLine writes one JSON value on one line.
func writeJSONLine(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return fmt.Errorf("the daemon's answer is not JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

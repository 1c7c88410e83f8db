package main

// What the commands that talk to a running daemon share: where it answers,
// with which token, and how its answers and errors read.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The environment a client command reads when its flags are not given.
// BRIDGED_TOKEN is the safer way to give a token: a -token flag shows in
// the process list.
const (
	envClientURL   = "BRIDGED_URL"
	envClientToken = "BRIDGED_TOKEN"
)

const (
	// clientRequestTimeout bounds one request and the read of its answer, so
	// that a daemon that stops answering fails the command instead of
	// hanging it.
	clientRequestTimeout = 30 * time.Second
	// maxAnswerBytes bounds an answer read into memory: a full page of
	// long received messages is a few MB.
	maxAnswerBytes = 32 << 20
)

// clientFlags are the flags of every command that talks to a daemon.
type clientFlags struct {
	url, token, config string
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "")
	fs.StringVar(&f.token, "token", "", "")
	fs.StringVar(&f.config, "config", "", "")
}

// clientFlagsUsage documents register's flags in each command's usage.
const clientFlagsUsage = `  -url URL       the daemon's API (default $BRIDGED_URL, else the config's [http] listen)
  -token TOKEN   the API token (default $BRIDGED_TOKEN, else the config's first token);
                 prefer the variable: a flag shows in the process list
  -config FILE   the daemon's configuration (default: the built-in defaults)`

// client resolves the daemon's address and token: flags, then the
// environment, then the configuration the daemon runs on, which is read
// only when something is still missing.
func (f *clientFlags) client() (*apiClient, error) {
	base, token := f.url, f.token
	if base == "" {
		base = os.Getenv(envClientURL)
	}
	if token == "" {
		token = os.Getenv(envClientToken)
	}
	if base == "" || token == "" {
		cfg, err := loadServeConfig(f.config)
		if err != nil {
			return nil, err
		}
		if base == "" {
			if base = apiURL(cfg.HTTP.Listen); base == "" {
				// Port 0: the daemon's port is chosen when it starts.
				return nil, usageErrorf("where a daemon listening on %q answers cannot be told from the configuration: give its address with -url or %s", cfg.HTTP.Listen, envClientURL)
			}
		}
		if token == "" && len(cfg.HTTP.Tokens) > 0 {
			token = cfg.HTTP.Tokens[0]
		}
	}
	return newAPIClient(base, token)
}

// apiURL is where a daemon listening on listen answers locally; "" when it
// cannot be known (port 0).
func apiURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return ""
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// apiClient calls one daemon's API.
type apiClient struct {
	base string // scheme and host, no trailing slash
	// shown names the daemon in messages, without any password of the URL.
	shown string
	token string // never printed
	// calls bounds each request; stream has no timeout, for the event
	// stream, whose reader watches for silence itself.
	calls, stream *http.Client
}

func newAPIClient(base, token string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("%q is not the URL of a daemon: use http://HOST:PORT or https://HOST", base)
	}
	// The token goes to the daemon only: a redirect is an error, not a
	// second place to send it.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &apiClient{base: u.String(), shown: u.Redacted(), token: token,
		calls:  &http.Client{Timeout: clientRequestTimeout, CheckRedirect: noRedirect},
		stream: &http.Client{CheckRedirect: noRedirect}}, nil
}

// daemonError is an answer other than 2xx, as the API's error body
// {"error": {"code", "message", "field"}} describes it.
type daemonError struct {
	shown      string
	status     string
	statusCode int
	code       string
	message    string
	// retryAfter is the Retry-After the daemon gave, 0 if none.
	retryAfter time.Duration
}

func (e *daemonError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("the daemon at %s answered %s", e.shown, e.status)
	}
	return fmt.Sprintf("the daemon at %s answered %s: %s (%s)", e.shown, e.status, e.message, e.code)
}

// newRequest builds a request to path (which starts with "/") with the
// token and, if body is not nil, body as JSON.
func (c *apiClient) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// call sends req and returns the answer's body; an answer other than 2xx
// is a *daemonError. A daemon that is not running is errNoDaemon.
func (c *apiClient) call(req *http.Request) ([]byte, error) {
	resp, err := c.calls.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer of the daemon at %s: %w", c.shown, err)
	}
	if len(raw) > maxAnswerBytes {
		return nil, fmt.Errorf("the daemon at %s answered more than %d MB", c.shown, maxAnswerBytes>>20)
	}
	if resp.StatusCode/100 != 2 {
		return nil, c.answerError(resp, raw)
	}
	return raw, nil
}

// callJSON is call for a request built from method, path and body, with
// the answer decoded into out (if not nil).
func (c *apiClient) callJSON(ctx context.Context, method, path string, body, out any) error {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	raw, err := c.call(req)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("the daemon at %s answered %s %s with JSON that does not read: %w", c.shown, method, path, err)
		}
	}
	return nil
}

// errNoDaemon is a refused connection: nothing listens, so nothing was
// sent either.
var errNoDaemon = errors.New("no daemon answers (is bridged serve running?)")

func (c *apiClient) transportError(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: %w", c.shown, errNoDaemon)
	}
	// url.Error names the URL, which holds no token; its password, if
	// the URL had one, is redacted by net/http.
	return fmt.Errorf("ask the daemon: %w", err)
}

func (c *apiClient) answerError(resp *http.Response, raw []byte) *daemonError {
	e := &daemonError{shown: c.shown, status: resp.Status, statusCode: resp.StatusCode}
	// The message names the field it is about, if any.
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.code, e.message = body.Error.Code, body.Error.Message
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.retryAfter = time.Duration(s) * time.Second
	}
	return e
}

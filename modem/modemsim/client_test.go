package modemsim_test

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"bridged/modem/modemsim"
)

// timeout bounds every wait for the simulator; generous for a loaded CI
// machine, never reached when things work.
const timeout = 5 * time.Second

// client is a test's end of a simulated modem: the real pty opened through
// go.bug.st/serial at the modem's published path, as a driver opens a USB
// modem.
type client struct {
	t    testing.TB
	port serial.Port
	done chan struct{} // closed when the read loop ends

	mu      sync.Mutex
	buf     []byte        // received, not yet consumed
	readErr error         // why the read loop ended
	more    chan struct{} // closed and replaced when buf or readErr changes
}

// mustOpen opens path and closes it when the test ends.
func mustOpen(t testing.TB, path string) *client {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	c := &client{t: t, port: port, done: make(chan struct{}), more: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	b := make([]byte, 4096)
	for {
		n, err := c.port.Read(b)
		c.mu.Lock()
		c.buf = append(c.buf, b[:n]...)
		if err != nil {
			c.readErr = err
		}
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *client) close() {
	c.port.Close()
	<-c.done
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.port.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// waitFor waits until the unconsumed input matches re, consumes it up to
// the end of the match and returns the consumed text.
func (c *client) waitFor(re *regexp.Regexp) string {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if loc := re.FindIndex(c.buf); loc != nil {
			out := string(c.buf[:loc[1]])
			c.buf = c.buf[loc[1]:]
			c.mu.Unlock()
			return out
		}
		more, err, got := c.more, c.readErr, string(c.buf)
		c.mu.Unlock()
		if err != nil {
			c.t.Fatalf("waiting for %s: read ended: %v; got %q", re, err, got)
		}
		select {
		case <-more:
		case <-deadline.C:
			c.t.Fatalf("no %s within %s; got %q", re, timeout, got)
		}
	}
}

// expect waits for the literal s.
func (c *client) expect(s string) string {
	c.t.Helper()
	return c.waitFor(regexp.MustCompile(regexp.QuoteMeta(s)))
}

var finalRE = regexp.MustCompile(`\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*)\r\n`)

// cmd sends one command line and returns everything up to and including
// its final result code.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.write(line + "\r")
	return c.waitFor(finalRE)
}

// mustOK sends line and fails unless the final result is OK.
func (c *client) mustOK(line string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasSuffix(r, "\r\nOK\r\n") {
		c.t.Fatalf("%s: %q, want OK", line, r)
	}
	return r
}

// pending returns the unconsumed input without waiting.
func (c *client) pending() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// quiet asserts that nothing at all arrives for d: the only way to check
// that a modem stays silent.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	c.mu.Lock()
	more, got := c.more, len(c.buf)
	c.mu.Unlock()
	if got > 0 {
		c.t.Fatalf("expected silence, have %q", c.pending())
	}
	select {
	case <-more:
		c.t.Fatalf("expected silence for %s, got %q", d, c.pending())
	case <-time.After(d):
	}
}

// readEnded waits until the port's reads fail, as on an unplug.
func (c *client) readEnded() error {
	c.t.Helper()
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.readErr
	case <-time.After(timeout):
		c.t.Fatalf("reads still work %s after the unplug", timeout)
		return nil
	}
}

// testLogger sends the simulator's Debug logs to t.Log, shown for failed tests.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mustNetwork returns a network whose paths are in a temporary directory,
// closed when the test ends.
func mustNetwork(t testing.TB, opts modemsim.Options) *modemsim.Network {
	t.Helper()
	opts.Dir = t.TempDir()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	n := modemsim.NewNetwork(opts)
	t.Cleanup(func() { n.Close() })
	return n
}

func mustModem(t testing.TB, n *modemsim.Network, cfg modemsim.Config) *modemsim.Modem {
	t.Helper()
	m, err := n.AddModem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustReady opens a modem and turns echo off and numeric errors on, as a
// driver's init does.
func mustReady(t testing.TB, m *modemsim.Modem) *client {
	t.Helper()
	c := mustOpen(t, m.Path())
	c.mustOK("ATE0")
	c.mustOK("AT+CMEE=1")
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

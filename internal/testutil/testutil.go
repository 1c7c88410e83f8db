// Package testutil holds what the tests of every package, and bench/load,
// need to drive the real parts: a condition waited on with a deadline,
// output that goroutines or child processes write while a test reads it,
// and a bridged process started, learnt from its ready file (package
// internal/ready) and stopped by its PID.
//
// It is imported only by _test.go files and by bench/; nothing in the
// daemon depends on it.
package testutil

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Timeout is how long Eventually waits: long enough for a loaded CI machine
// running the race detector, short enough that a hung test says so.
const Timeout = 10 * time.Second

// tick is how often a condition without a notification is looked at again.
const tick = 5 * time.Millisecond

// Until calls cond until it holds and reports whether it did within
// timeout. Callers that want to say what they last saw use it; the others
// use Eventually or Wait.
func Until(timeout time.Duration, cond func() bool) bool {
	return UntilEvery(timeout, tick, cond)
}

// UntilEvery is Until looking at cond every interval: a condition that
// costs a few HTTP requests is not asked 200 times a second on a machine
// the daemon under test shares.
func UntilEvery(timeout, interval time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-deadline.C:
			return cond()
		case <-t.C:
			if cond() {
				return true
			}
		}
	}
}

// Wait fails the test unless cond holds within timeout; what names the
// condition in the failure ("message 3 delivered").
func Wait(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Until(timeout, cond) {
		tb.Fatalf("timed out after %v waiting until %s", timeout, what)
	}
}

// Eventually is Wait with the default Timeout.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	Wait(tb, Timeout, what, cond)
}

// Buffer collects output written by other goroutines (a logger, a child
// process's stdout) and lets a test read it meanwhile, or wait until it
// matches, without polling. The zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on each write
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.b.Write(p)
}

// Reset forgets what was written, for a test that looks only at what
// comes next (the answer to the next command).
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

// String returns everything written so far.
func (b *Buffer) String() string {
	s, _ := b.snapshot()
	return s
}

// snapshot returns what was written so far and a channel closed by the
// next write.
func (b *Buffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.b.String(), b.changed
}

// WaitMatch waits until the output matches re and returns the submatches
// of its first match; the test fails, showing the output, after timeout.
func (b *Buffer) WaitMatch(tb testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, changed := b.snapshot()
		if m := re.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("no %q in the output within %v:\n%s", re, timeout, s)
		}
	}
}

// Clock is a clock for code that takes a Now function (queue.Options.Now):
// time moves only when the test says, so a test crosses a retention, a
// lease or an interval without waiting for it. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

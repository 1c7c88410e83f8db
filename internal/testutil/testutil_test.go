package testutil

import (
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	if !Until(Timeout, func() bool { return n.Load() == 3 }) {
		t.Fatalf("Until gave up with n = %d", n.Load())
	}
	if Until(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a condition that never held")
	}
}

func TestBufferWaitMatch(t *testing.T) {
	var b Buffer
	go func() {
		for i := range 5 {
			fmt.Fprintf(&b, "line %d\n", i)
		}
	}()
	m := b.WaitMatch(t, regexp.MustCompile(`line (4)`), Timeout)
	if m[1] != "4" {
		t.Fatalf("submatch %q", m[1])
	}
	if got := b.String(); got != "line 0\nline 1\nline 2\nline 3\nline 4\n" {
		t.Fatalf("String() = %q", got)
	}
}

func TestBufferReset(t *testing.T) {
	var b Buffer
	fmt.Fprint(&b, "before")
	b.Reset()
	fmt.Fprint(&b, "after")
	if got := b.String(); got != "after" {
		t.Fatalf("String() after Reset = %q", got)
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now() = %v, want %v", c.Now(), start)
	}
	c.Advance(90 * time.Minute)
	if want := start.Add(90 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after Advance, Now() = %v, want %v", c.Now(), want)
	}
}

package modem

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.bug.st/serial"
)

// resyncTimeout is how long a modem that missed a command gets to answer
// the bare AT of a re-sync, and how much longer than command_timeout an
// AT+CMGS waits for its prompt before the port is closed.
const resyncTimeout = 2 * time.Second

// ErrUnresponsive: the modem stopped answering. The session ends with it
// (wrapped) when a re-sync failed, and a send the modem never prompted for
// fails with it (the message was not sent).
var ErrUnresponsive = errors.New("modem not answering")

// watchdog watches the command in flight from beside the session, whose
// goroutine is blocked in that command and cannot report anything itself.
//
// The rule: a command is overdue when the modem has sent not one byte for
// command_timeout since the command was written (or since the modem's last
// byte, so a long AT+CMGL that keeps printing is not). AT+CMGS is the one
// command that is silent by design: once the modem has given its "> "
// prompt and the PDU is written, it waits for the network, as long as
// send_timeout, and nothing it prints tells a slow network from a hang. So
// a send is overdue only while it has no prompt; after the PDU its own
// timeout decides. An overdue command makes the modem unresponsive at once;
// an AT+CMGS still without a prompt resyncTimeout later is cut off by
// closing the port, since the PDU was never written and the message can
// safely go again, and the session ends as after a failed re-sync.
type watchdog struct {
	m    *Modem
	port serial.Port

	mu      sync.Mutex // guards the fields below; held by Write
	seq     uint64     // numbers commands, so a late timer finds its own
	cmd     string     // the command in flight, "" when none
	send    bool       // cmd is AT+CMGS
	start   time.Time  // when cmd was written
	lastRx  time.Time  // when the modem last sent a byte
	pduSent bool       // the PDU of the send in flight was written
	cut     bool       // the port was closed by the watchdog
	timer   *time.Timer
}

// Read and Write make the watchdog the port the AT engine drives.
func (w *watchdog) Read(p []byte) (int, error) {
	n, err := w.port.Read(p)
	if n > 0 {
		w.mu.Lock()
		w.lastRx = time.Now()
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchdog) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.cut {
		w.mu.Unlock()
		return 0, ErrUnresponsive
	}
	// Decided under mu, before the bytes go out: either the watchdog
	// gives up on the send first and its PDU is never written, or the PDU
	// counts as written and the watchdog leaves the send to send_timeout.
	// The write itself runs unlocked, since a wedged port may block it.
	if w.send && len(p) > 0 && p[len(p)-1] == 0x1a {
		w.pduSent = true // the PDU ends with Ctrl-Z (TS 27.005 3.5.1)
	}
	w.mu.Unlock()
	return w.port.Write(p)
}

// begin notes that cmd is about to be written, and returns its number.
func (w *watchdog) begin(cmd string, send bool) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	seq := w.seq
	w.cmd, w.send, w.start, w.pduSent = cmd, send, time.Now(), false
	w.timer = time.AfterFunc(w.m.cfg.CommandTimeout, func() { w.check(seq) })
	return seq
}

// end notes that command seq returned, and reports whether its PDU, if it
// is a send, was written.
func (w *watchdog) end(seq uint64) (pduSent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seq == seq {
		w.cmd = ""
		w.timer.Stop()
	}
	return w.pduSent
}

// cutOff reports whether the watchdog closed the port.
func (w *watchdog) cutOff() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cut
}

// waitQuiet returns once the modem has sent nothing for quiet, or after
// limit, or when ctx ends.
func (w *watchdog) waitQuiet(ctx context.Context, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		left := quiet - time.Since(w.lastRx)
		w.mu.Unlock()
		if left <= 0 || time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// check runs on a timer goroutine when command seq may be overdue.
func (w *watchdog) check(seq uint64) {
	w.mu.Lock()
	if w.seq != seq || w.cmd == "" || (w.send && w.pduSent) {
		w.mu.Unlock()
		return
	}
	timeout := w.m.cfg.CommandTimeout
	quiet := time.Since(w.start)
	if w.lastRx.After(w.start) {
		quiet = time.Since(w.lastRx)
	}
	cmd := w.cmd
	cut := w.send && quiet >= timeout+resyncTimeout
	switch {
	case cut:
		w.cut = true
	case quiet < timeout:
		w.timer = time.AfterFunc(timeout-quiet, func() { w.check(seq) })
	case w.send:
		w.timer = time.AfterFunc(timeout+resyncTimeout-quiet, func() { w.check(seq) })
	}
	if quiet >= timeout {
		// Under mu, so that end, and the recovery the session notes after
		// it, cannot come between this check and the mark.
		w.m.markUnresponsive(fmt.Errorf("no answer to AT%s for %s", cmd, quiet.Round(time.Millisecond)))
	}
	w.mu.Unlock()
	if cut {
		w.m.log.Warn("no prompt for a send; closing the port", "command", "AT"+cmd, "after", quiet.Round(time.Millisecond))
		w.port.Close()
	}
}

// markUnresponsive reports that the modem stopped answering, on any
// goroutine. A SIM error or a closed port is the stronger news and stays.
func (m *Modem) markUnresponsive(err error) {
	m.update(func(s *Status) {
		switch s.State {
		case StateReady, StateNotRegistered, StateStarting:
			s.State = StateUnresponsive
		}
		if s.State == StateUnresponsive {
			s.LastError, s.LastErrorAt = err.Error(), time.Now()
		}
	})
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// finalWait bounds the wait for every message to be final after a fault.
var finalWait = 90 * time.Second

var heavyFaults = flag.Bool("faults.heavy", false, "run the fault matrix with more load and longer faults")

// The +CMS ERROR codes of TS 27.005 3.2.5 that modem.classifyCMS treats as
// transient (the network, the SIM or the modem) and as permanent (the
// destination or the message).
var (
	transientCMS = []int{27, 38, 41, 42, 47, 81, 98, 111, 127, 192, 194, 208, 209, 210, 211, 212, 213, 255,
		300, 301, 302, 310, 311, 312, 313, 314, 315, 316, 317, 318, 320, 321, 322, 330, 331, 332, 340, 500, 512, 77}
	permanentCMS = []int{1, 8, 10, 21, 28, 29, 30, 50, 69, 95, 96, 97, 99, 128, 129, 130, 143, 144, 145, 159,
		160, 161, 175, 176, 193, 195, 196, 197, 198, 199, 303, 304, 305}
)

// TestE2EFaultMatrix runs the daemon with two simulated modems under a
// steady load (single and two-part messages) and injects every fault the
// simulator has, one after the other, without restarting anything. During
// each fault GET /v1/modems must show the faulty modem in the right state
// and /readyz must agree with it; after it the modem must be ready again;
// and in the end every message is final (sent or delivered; failed with a
// reason, and only by a permanent +CMS ERROR; expired, and only the ones
// pinned to the modem that never came back), and nothing reached the
// network twice but a message whose send was interrupted after its PDU
// (its history says it may have been sent).
func TestE2EFaultMatrix(t *testing.T) {
	// Two simulated modems behind a race-built daemon sent 10 to 15 parts
	// a second on two shared cores: the heavy load stays below that, or
	// the queue only grows and no wait for "final" can end.
	every, faultFor := 100*time.Millisecond, time.Second
	if *heavyFaults {
		every, faultFor, finalWait = 70*time.Millisecond, 5*time.Second, 4*time.Minute
	}
	w := mustWorld(t, 2, modemsim.Options{SendLatency: 30 * time.Millisecond})
	// The world's configuration suits the faults: a hung modem shows within
	// its 2 s command timeout, and a send cut off without a prompt ends 2 s later.
	d := startDaemon(t, w.config(""))
	waitModems(t, d, "both modems ready", 20*time.Second, allReady("m0", "m1"))
	l := startLoad(t, d, every)
	m0, m1 := w.sims[0], w.sims[1]

	t.Run("hang", func(t *testing.T) {
		from := time.Now()
		m0.Hang()
		// The next send m0 takes gets no prompt: unresponsive within
		// command_timeout, while m1 keeps the daemon ready.
		st := waitModems(t, d, "m0 unresponsive", 10*time.Second, stateIs("m0", "unresponsive"))
		if st["m0"].LastErrorAt == nil || st["m0"].LastErrorAt.Before(from) || st["m0"].LastError == "" {
			t.Errorf("m0 unresponsive with last error %q at %v, want one from after %v", st["m0"].LastError, st["m0"].LastErrorAt, from)
		}
		waitModems(t, d, "m0 ready again", 20*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("unplug-replug", func(t *testing.T) {
		m1.Unplug(faultFor)
		waitModems(t, d, "m1 disconnected", 10*time.Second, stateIs("m1", "disconnected"))
		waitModems(t, d, "m1 ready again", 20*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("transient-cms", func(t *testing.T) {
		// Half on each modem, so that both use theirs up soon and a retry
		// of a failed message meets few of them.
		half := len(transientCMS) / 2
		m0.SetSendErrors(transientCMS[:half]...)
		m1.SetSendErrors(transientCMS[half:]...)
		waitModems(t, d, "every transient error used", 30*time.Second, func(st map[string]apiModem) bool {
			if !allReady("m0", "m1")(st) {
				t.Errorf("a transient send error changed a modem's state: %v", st)
			}
			return m0.PendingSendErrors() == 0 && m1.PendingSendErrors() == 0
		})
		l.waitFinal(t, l.posted())
	})
	t.Run("permanent-cms", func(t *testing.T) {
		m1.SetSendErrors(permanentCMS...)
		waitModems(t, d, "every permanent error used", 30*time.Second, func(st map[string]apiModem) bool {
			return m1.PendingSendErrors() == 0
		})
		waitModems(t, d, "both ready", 10*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("garbage", func(t *testing.T) {
		// Line noise and confused firmware, but no final result code: an
		// "OK" or "NO CARRIER" in the noise would be a different fault.
		for i := range 20 {
			m0.InjectGarbage([]byte("\x00\xff#@!garbage " + strconv.Itoa(i) + "\r\n"))
			m0.InjectURC("^RSSI: 14")
			m1.InjectGarbage([]byte("\r\n+CME ERR\xfe\r\n^BOOT:12345,0,0,0,72\r\nRDY\r\n\x1b[0m"))
		}
		l.waitSome(t, d, 10)
		waitModems(t, d, "both ready", 10*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("urc-flood", func(t *testing.T) {
		m1.FloodURCs(2000, "")
		m1.FloodURCs(500, "^MODE: 5,4")
		m1.FloodURCs(300, "+CREG: 1")
		if err := m1.Deliver("+15550001111", "through the flood"); err != nil {
			t.Fatal(err)
		}
		waitInbox(t, d, "through the flood")
		waitModems(t, d, "both ready", 10*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("not-registered", func(t *testing.T) {
		m0.SetRegistration(modemsim.RegSearching)
		waitModems(t, d, "m0 not registered", 10*time.Second, stateIs("m0", "not-registered"))
		l.waitSome(t, d, 5) // the load goes on through m1
		m0.SetRegistration(modemsim.RegHome)
		waitModems(t, d, "m0 ready again", 10*time.Second, allReady("m0", "m1"))
		l.waitFinal(t, l.posted())
	})
	t.Run("sim-full", func(t *testing.T) {
		if err := m1.SetCapacity("SM", 0); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := m1.Deliver("+15550002222", fmt.Sprintf("held while full %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		// A full SIM stops receiving, not sending.
		l.waitSome(t, d, 5)
		waitModems(t, d, "both still ready", 5*time.Second, allReady("m0", "m1"))
		if err := m1.SetCapacity("SM", 30); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			waitInbox(t, d, fmt.Sprintf("held while full %d", i))
		}
		l.waitFinal(t, l.posted())
	})
	t.Run("gone-for-good", func(t *testing.T) {
		m0.Unplug(time.Hour) // longer than the test: never back
		waitModems(t, d, "m0 disconnected", 10*time.Second, stateIs("m0", "disconnected"))
		// Messages only m0 may send can go nowhere: they expire.
		for i := range 2 {
			ms := d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprintf("pinned %d", i), "modem": "m0", "valid_for": "2s"})
			l.pin(ms[0].ID)
		}
		l.waitSome(t, d, 5) // the rest goes through m1
		// With m1 hung too, no modem is ready: /readyz says 503.
		m1.Hang()
		waitModems(t, d, "m1 unresponsive and /readyz 503", 10*time.Second, func(st map[string]apiModem) bool {
			return st["m1"].State == "unresponsive" && d.do("GET", "/readyz", nil, nil) == http.StatusServiceUnavailable
		})
		waitModems(t, d, "m1 ready again", 20*time.Second, stateIs("m1", "ready"))
	})
	l.stop(t)
	l.waitFinal(t, l.posted())
	l.check(t, w)
	select {
	case <-d.exited():
		t.Fatalf("the daemon exited during the faults: %v", d.proc.Err())
	default:
	}
}

// modemStates returns the modems by id.
func (d *daemon) modemStates() map[string]apiModem {
	d.t.Helper()
	st := map[string]apiModem{}
	for _, m := range d.modems() {
		st[m.ID] = m
	}
	return st
}

func sameStates(a, b map[string]apiModem) bool {
	return maps.EqualFunc(a, b, func(x, y apiModem) bool { return x.State == y.State })
}

// waitModems polls GET /v1/modems until cond holds and returns what it saw.
// Each sample also asks /readyz, between two reads of the modems: when the
// two agree, /readyz must be 200 exactly when one of them is ready.
func waitModems(t *testing.T, d *daemon, what string, timeout time.Duration, cond func(map[string]apiModem) bool) map[string]apiModem {
	t.Helper()
	var after map[string]apiModem
	if !testutil.UntilEvery(timeout, 20*time.Millisecond, func() bool {
		before := d.modemStates()
		var ready struct {
			ModemsReady int `json:"modems_ready"`
		}
		code := d.do("GET", "/readyz", nil, &ready)
		after = d.modemStates()
		if sameStates(before, after) {
			n := 0
			for _, m := range after {
				if m.State == "ready" {
					n++
				}
			}
			if (n > 0) != (code == http.StatusOK) || (n > 0 && ready.ModemsReady != n) {
				t.Errorf("/readyz %d (%d ready) while the modems are %v", code, ready.ModemsReady, after)
			}
		}
		return cond(after)
	}) {
		t.Fatalf("%s: not within %v; modems %v", what, timeout, after)
	}
	return after
}

func stateIs(id, state string) func(map[string]apiModem) bool {
	return func(st map[string]apiModem) bool { return st[id].State == state }
}

func allReady(ids ...string) func(map[string]apiModem) bool {
	return func(st map[string]apiModem) bool {
		for _, id := range ids {
			if st[id].State != "ready" {
				return false
			}
		}
		return true
	}
}

// waitInbox waits until a received message with this text is in the inbox.
func waitInbox(t *testing.T, d *daemon, text string) {
	t.Helper()
	var out struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if !testutil.UntilEvery(20*time.Second, 20*time.Millisecond, func() bool {
		out.Messages = nil
		d.do("GET", "/v1/inbox?limit=100", nil, &out)
		for _, m := range out.Messages {
			if m.Text == text {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%q never reached the inbox: %+v", text, out.Messages)
	}
}

// load posts messages at a steady rate from its own goroutine, every
// fourth one in two parts. Each text names its number and part, so that
// what reached the network can be counted per message.
type load struct {
	d       *daemon
	quit    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	ids     []int64
	byN     map[int]int64 // load number -> message id
	pinned  map[int64]bool
	final   map[int64]apiMessage
	seen    map[int64]apiMessage // the last answer about each message
	postErr []string
}

func startLoad(t *testing.T, d *daemon, every time.Duration) *load {
	l := &load{d: d, quit: make(chan struct{}), done: make(chan struct{}), byN: map[int]int64{},
		pinned: map[int64]bool{}, final: map[int64]apiMessage{}, seen: map[int64]apiMessage{}}
	go l.run(every)
	t.Cleanup(func() {
		select {
		case <-l.quit:
		default:
			close(l.quit)
		}
		<-l.done
	})
	return l
}

func loadText(n int) string {
	if n%4 != 3 {
		return fmt.Sprintf("load %d", n)
	}
	first := fmt.Sprintf("load %d part 1 ", n)
	return first + strings.Repeat("x", 153-len(first)) + fmt.Sprintf("load %d part 2", n)
}

func (l *load) run(every time.Duration) {
	defer close(l.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	client := &http.Client{Timeout: 10 * time.Second}
	for n := 0; ; n++ {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		body, _ := json.Marshal(map[string]any{"to": "+447400123456", "text": loadText(n)})
		resp, err := client.Post("http://"+l.d.addr+"/v1/messages", "application/json", bytes.NewReader(body))
		var out struct {
			Messages []apiMessage `json:"messages"`
		}
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &out) != nil || len(out.Messages) != 1 {
				err = fmt.Errorf("%d %s", resp.StatusCode, raw)
			}
		}
		l.mu.Lock()
		if err != nil {
			l.postErr = append(l.postErr, fmt.Sprintf("message %d: %v", n, err))
		} else {
			l.ids = append(l.ids, out.Messages[0].ID)
			l.byN[n] = out.Messages[0].ID
		}
		l.mu.Unlock()
	}
}

func (l *load) stop(t *testing.T) {
	t.Helper()
	close(l.quit)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.postErr) > 0 {
		t.Errorf("%d messages were refused, for example %s", len(l.postErr), l.postErr[0])
	}
}

func (l *load) pin(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pinned[id] = true
	l.ids = append(l.ids, id)
}

// posted returns the ids of the messages accepted so far.
func (l *load) posted() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids)
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

var finalStatus = map[string]bool{"sent": true, "delivered": true, "failed": true, "expired": true}

// finalCount asks about each message not yet final and returns how many are.
func (l *load) finalCount(t *testing.T) int {
	t.Helper()
	for _, id := range l.posted() {
		l.mu.Lock()
		m, done := l.final[id]
		l.mu.Unlock()
		if done && m.Status != "sent" {
			continue // sent may still become delivered: asked again
		}
		l.d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m)
		l.mu.Lock()
		l.seen[id] = m
		if finalStatus[m.Status] {
			l.final[id] = m
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.final)
}

// waitSome waits until n more messages are final.
func (l *load) waitSome(t *testing.T, d *daemon, n int) {
	t.Helper()
	target := l.finalCount(t) + n
	waitModems(t, d, fmt.Sprintf("%d more messages final", n), 20*time.Second, func(map[string]apiModem) bool {
		return l.finalCount(t) >= target
	})
}

// waitFinal waits until every message of ids is final.
func (l *load) waitFinal(t *testing.T, ids []int64) {
	t.Helper()
	var open []int64
	if !testutil.UntilEvery(finalWait, 50*time.Millisecond, func() bool {
		l.finalCount(t)
		open = nil
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, id := range ids {
			if _, ok := l.final[id]; !ok {
				open = append(open, id)
			}
		}
		return len(open) == 0
	}) {
		l.mu.Lock()
		example := l.seen[open[0]]
		l.mu.Unlock()
		t.Fatalf("%d messages not final after %v, for example %+v", len(open), finalWait, example)
	}
}

var loadRE = regexp.MustCompile(`^load (\d+)(?: part (\d))?`)

// check asserts what became of every message, against the network's list
// of what it was given.
func (l *load) check(t *testing.T, w *world) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	onAir := map[string]int{} // "n/part" -> times the network got it
	for _, s := range w.net.Sent() {
		if m := loadRE.FindStringSubmatch(s.Message.Text); m != nil {
			part := m[2]
			if part == "" {
				part = "1"
			}
			onAir[m[1]+"/"+part]++
		} else {
			t.Errorf("the network got %q, which nobody posted", s.Message.Text)
		}
	}
	permanent := map[string]bool{}
	for _, c := range permanentCMS {
		permanent["cms_"+strconv.Itoa(c)] = true
	}
	failed := 0
	for n, id := range l.byN {
		m := l.final[id]
		parts := 1
		if n%4 == 3 {
			parts = 2
		}
		mayRepeat := false
		for _, e := range m.Events {
			if strings.Contains(e.Detail, "may have been sent") || strings.Contains(e.Detail, "interrupted") {
				mayRepeat = true
			}
		}
		for p := 1; p <= parts; p++ {
			got := onAir[fmt.Sprintf("%d/%d", n, p)]
			switch {
			case (m.Status == "sent" || m.Status == "delivered") && got == 0:
				t.Errorf("message %d (%d) is %s but part %d never reached the network", n, id, m.Status, p)
			case got > 1 && !mayRepeat:
				t.Errorf("message %d (%d) part %d reached the network %d times; its history: %+v", n, id, p, got, m.Events)
			}
		}
		switch m.Status {
		case "failed":
			failed++
			if m.Error == nil || m.Error.Message == "" || !permanent[m.Error.Code] {
				t.Errorf("message %d (%d) failed without a permanent error: %+v", n, id, m.Error)
			}
		case "expired":
			t.Errorf("message %d (%d) expired: only the pinned ones may", n, id)
		}
	}
	if failed != len(permanentCMS) {
		t.Errorf("%d messages failed, want one per permanent error: %d", failed, len(permanentCMS))
	}
	for id := range l.pinned {
		if m := l.final[id]; m.Status != "expired" {
			t.Errorf("message %d, pinned to the modem that never came back, is %q, want expired", id, m.Status)
		}
	}
	t.Logf("%d messages posted, %d parts on the air, %d failed by permanent errors", len(l.byN), len(onAir), failed)
}

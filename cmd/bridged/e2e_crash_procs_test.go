package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/ready"
	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// The crash harness's processes: the bridged daemons it kills and the
// "bridged sim" that outlives them. Their output is scanned as it comes
// and only its tail kept: a long run starts a thousand daemons.

// crashLog returns where to keep the whole output of a process of the
// batch: a file in -crash.logs (the daemons of a batch share one), or
// nowhere.
func crashLog(t *testing.T, batch int, what string) io.Writer {
	t.Helper()
	if *crashLogs == "" {
		return io.Discard
	}
	f, err := os.OpenFile(filepath.Join(*crashLogs, fmt.Sprintf("batch%d-%s.log", batch, what)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// outputTail is how many lines of a process's output a failure shows.
const outputTail = 200

// rereadRE is the daemon's line for a part read again and deduplicated: a
// kill fell between its commit and its AT+CMGD.
// unmatchedRE is its line for a status report held because it matched no
// recorded part (message 0).
var (
	rereadRE    = regexp.MustCompile(`msg="received a part already stored"`)
	unmatchedRE = regexp.MustCompile(`msg="status report" .*message=0 part=0 `)
)

// startCrashDaemon starts bridged serve on the configuration file cfg, its
// whole output to log; seen is called for each part read again (true) and
// each unmatched status report (false) in its log. A daemon still running
// when the test ends is killed.
func startCrashDaemon(t *testing.T, bin, cfg string, log io.Writer, seen func(reread bool)) *daemon {
	t.Helper()
	out := &testutil.Lines{Keep: outputTail, Each: func(line string) {
		fmt.Fprintln(log, line)
		switch {
		case rereadRE.MatchString(line):
			seen(true)
		case unmatchedRE.MatchString(line):
			seen(false)
		}
	}}
	d := runDaemon(t, bin, cfg, out)
	t.Cleanup(d.kill) // before runDaemon's SIGTERM: the harness only kills
	return d
}

// postCrash sends one request; an error is a transport error (the daemon
// died under it). Any answer but 202 fails the test.
func (d *daemon) postCrash(client *http.Client, r *crashRequest) (int64, int, error) {
	body, _ := json.Marshal(map[string]any{"to": r.to, "text": r.text, "report": r.report})
	req, err := http.NewRequest("POST", "http://"+d.addr+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	var out struct {
		Messages []struct {
			ID    int64 `json:"id"`
			Parts int   `json:"parts"`
		} `json:"messages"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &out) != nil || len(out.Messages) != 1 {
		d.t.Errorf("POST %s: %d %s", r.key, resp.StatusCode, raw)
		return 0, 0, errors.New("not accepted")
	}
	return out.Messages[0].ID, out.Messages[0].Parts, nil
}

// simProcess is "bridged sim" in a process of its own, driven over its
// control socket. Its Debug log tells when a send is in the network and
// when the daemon reads stored messages, for kills aimed at those moments.
type simProcess struct {
	t     *testing.T
	proc  *testutil.Process
	paths []string
	out   *testutil.Lines
	sends *eventCount
	reads *eventCount

	ctlc *modemsim.ControlClient
}

var (
	simSendRE = regexp.MustCompile(`msg="send accepted"`)
	simReadRE = regexp.MustCompile(`msg=command .*line="?AT\+CMG[RL]=`)
)

// startSimProcess starts bin sim with args, its log to log, and learns the
// modems' ptys and its control socket from its ready file. It is stopped,
// and must exit 0, when the test ends.
func startSimProcess(t *testing.T, bin, dir string, log io.Writer, args ...string) *simProcess {
	t.Helper()
	s := &simProcess{t: t, sends: newEventCount(), reads: newEventCount()}
	s.out = &testutil.Lines{Keep: outputTail, Each: func(line string) {
		fmt.Fprintln(log, line)
		switch {
		case simSendRE.MatchString(line):
			s.sends.add()
		case simReadRE.MatchString(line):
			s.reads.add()
		}
	}}
	readyFile := filepath.Join(dir, "sim.ready")
	cmd := exec.Command(bin, append([]string{"sim", "-dir", dir, "-control", filepath.Join(dir, "ctl.sock"), "-ready-file", readyFile}, args...)...)
	cmd.Stderr = s.out // its log; what it prints on stdout is for people
	s.proc = testutil.MustStart(t, cmd)
	t.Cleanup(func() {
		if s.ctlc != nil {
			s.ctlc.Close()
		}
		code, err := s.proc.Stop(testutil.StopTimeout)
		switch {
		case err != nil:
			t.Error(err)
		case code != 0:
			t.Errorf("bridged sim exited %d:\n%s", code, s.out.Tail())
		}
	})
	var doc ready.Sim
	s.proc.MustReady(t, readyFile, &doc, s.out)
	for _, m := range doc.Modems {
		s.paths = append(s.paths, m.Path)
	}
	if len(s.paths) == 0 {
		t.Fatalf("no modems in the ready file of bridged sim: %+v", doc)
	}
	c, err := modemsim.DialControl(context.Background(), doc.Control)
	if err != nil {
		t.Fatal(err)
	}
	s.ctlc = c
	return s
}

// ctl runs one control command and returns its data lines.
func (s *simProcess) ctl(args ...string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := s.ctlc.Do(ctx, strings.Join(args, " "))
	if err != nil {
		return nil, fmt.Errorf("ctl %s: %w", args[0], err)
	}
	return out, nil
}

// eventCount counts events from a log and lets a caller wait for the next.
type eventCount struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced at each event
}

func newEventCount() *eventCount { return &eventCount{ch: make(chan struct{})} }

func (e *eventCount) add() {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.ch)
	e.ch = make(chan struct{})
}

// next returns a channel closed at the next event.
func (e *eventCount) next() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bridged/modem/modemsim"
)

// The end-to-end tests run the real bridged binary against simulated
// modems that live in the test process, over their ptys, and talk to it
// over real HTTP on 127.0.0.1.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// mustBinary builds bridged once per test run.
func mustBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bridged-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bridged")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lockedBuffer collects a process's output for a test to read meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	ch chan struct{} // closed and replaced on each write
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{ch: make(chan struct{})} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.ch)
	l.ch = make(chan struct{})
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.ch
}

// waitFor waits until the output matches re and returns the submatches.
func (l *lockedBuffer) waitFor(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s, ch := l.snapshot()
		if m := re.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %q in the daemon's output within %v:\n%s", re, d, s)
		}
	}
}

// world is a virtual network with simulated modems for a daemon to use.
type world struct {
	net  *modemsim.Network
	sims []*modemsim.Modem
	dir  string
}

func mustWorld(t *testing.T, n int, opts modemsim.Options) *world {
	t.Helper()
	return mustWorldOf(t, opts, make([]modemsim.Config, n)...)
}

// mustWorldOf is mustWorld with a configuration per simulated modem.
func mustWorldOf(t *testing.T, opts modemsim.Options, cfgs ...modemsim.Config) *world {
	t.Helper()
	w := &world{dir: t.TempDir()}
	opts.Dir = w.dir
	opts.Logger = slog.New(slog.DiscardHandler)
	w.net = modemsim.NewNetwork(opts)
	t.Cleanup(func() { w.net.Close() })
	for _, c := range cfgs {
		s, err := w.net.AddModem(c)
		if err != nil {
			t.Fatal(err)
		}
		w.sims = append(w.sims, s)
	}
	return w
}

// config returns a configuration for a daemon using the world's modems.
func (w *world) config(extra string) string {
	return daemonConfig(w.db(), w.devices(), nil, extra)
}

func (w *world) db() string { return filepath.Join(w.dir, "bridged.db") }

// devices returns the paths of the world's modems, in the order of m0, m1 ...
func (w *world) devices() []string {
	var d []string
	for _, s := range w.sims {
		d = append(d, s.Path())
	}
	return d
}

// daemonConfig is the configuration every end-to-end daemon starts from:
// the API on a free port of 127.0.0.1, debug logs, and one [[modem]] m0,
// m1 ... per device, whose 2 s command timeout shows a hung modem quickly;
// modemExtra (if not nil) adds lines to modem i's table, and extra follows
// the last one.
func daemonConfig(db string, devices []string, modemExtra func(i int) string, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[http]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"10s\"\n")
	fmt.Fprintf(&b, "[store]\npath = %q\n", db)
	fmt.Fprintf(&b, "[log]\nlevel = \"debug\"\n")
	for i, dev := range devices {
		fmt.Fprintf(&b, "[[modem]]\nid = \"m%d\"\ndevice = %q\ncommand_timeout = \"2s\"\nsend_timeout = \"5s\"\n", i, dev)
		if modemExtra != nil {
			b.WriteString(modemExtra(i))
		}
	}
	b.WriteString(extra)
	return b.String()
}

// daemon is one running bridged process.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	token  string
	out    *lockedBuffer
	exited chan struct{}
	err    error
}

var upRE = regexp.MustCompile(`msg="bridged is up" listen=(\S+)`)

// startDaemon runs bridged serve with the configuration text and waits
// until it listens. It is stopped (SIGTERM, by PID) when the test ends.
func startDaemon(t *testing.T, cfgText string) *daemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, out: newLockedBuffer(), exited: make(chan struct{})}
	d.cmd = exec.Command(mustBinary(t), "serve", "-config", path)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			out, _ := d.out.snapshot()
			t.Logf("bridged's output:\n%s", out)
		}
	})
	select {
	case <-d.exited:
		s, _ := d.out.snapshot()
		t.Fatalf("bridged exited at start: %v\n%s", d.err, s)
	default:
	}
	d.addr = d.out.waitFor(t, upRE, 20*time.Second)[1]
	return d
}

// stop sends SIGTERM and waits for the exit; it returns the exit code.
func (d *daemon) stop() int {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
			d.t.Error("bridged did not stop within 30s of SIGTERM")
		}
	}
	return d.cmd.ProcessState.ExitCode()
}

// do sends an HTTP request and decodes a JSON answer into out (if not nil).
func (d *daemon) do(method, path string, body any, out any, headers ...string) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+d.addr+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			d.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

type apiMessage struct {
	ID       int64  `json:"id"`
	To       string `json:"to"`
	Text     string `json:"text"`
	Status   string `json:"status"`
	Encoding string `json:"encoding"`
	Parts    int    `json:"parts"`
	Report   bool   `json:"report"`
	Modem    string `json:"modem"`
	Attempts int    `json:"attempts"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Events []struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"events"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// send posts one message and returns the accepted messages.
func (d *daemon) send(body map[string]any, headers ...string) []apiMessage {
	d.t.Helper()
	var out struct {
		Messages []apiMessage `json:"messages"`
		apiError
	}
	if code := d.do("POST", "/v1/messages", body, &out, headers...); code != http.StatusAccepted {
		d.t.Fatalf("POST /v1/messages %v: %d %+v", body, code, out.apiError)
	}
	return out.Messages
}

// poll calls cond every interval until it holds, and reports whether it
// did before the timeout; the caller says what it last saw.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// waitStatus polls GET /v1/messages/{id} until its status is one of want.
func (d *daemon) waitStatus(id int64, want ...string) apiMessage {
	d.t.Helper()
	var m apiMessage
	if !poll(20*time.Second, 10*time.Millisecond, func() bool {
		m = apiMessage{}
		d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m)
		return slices.Contains(want, m.Status)
	}) {
		d.t.Fatalf("message %d is %q (%+v), want %v", id, m.Status, m, want)
	}
	return m
}

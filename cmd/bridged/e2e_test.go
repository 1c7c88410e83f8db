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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/ready"
	"bridged/internal/testutil"
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

// daemon is one running bridged serve process.
type daemon struct {
	t     *testing.T
	proc  *testutil.Process
	addr  string
	token string
	out   fmt.Stringer // what it printed: all of it (startDaemon), or what the caller keeps
}

// startDaemon runs bridged serve with the configuration text and waits
// until it listens. It is stopped (SIGTERM, by PID) when the test ends,
// and its output shown if the test failed.
func startDaemon(t *testing.T, cfgText string) *daemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	// Registered first, so that it runs after the stop and shows it.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridged's output:\n%s", out)
		}
	})
	return runDaemon(t, mustBinary(t), path, out)
}

// runDaemon starts bin serve on the configuration file cfgPath, its output
// to out, and waits until it listens: its ready file, beside cfgPath,
// names the address. The file a killed daemon left there is removed first
// (and would be waited past anyway: it names another pid). It is stopped
// when the test ends.
func runDaemon(t *testing.T, bin, cfgPath string, out interface {
	io.Writer
	fmt.Stringer
}) *daemon {
	t.Helper()
	readyFile := cfgPath + ".ready"
	if err := ready.Remove(readyFile); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "-config", cfgPath, "-ready-file", readyFile)
	cmd.Stdout, cmd.Stderr = out, out
	d := &daemon{t: t, proc: testutil.MustStart(t, cmd), out: out}
	var doc ready.Serve
	d.proc.MustReady(t, readyFile, &doc, out)
	d.addr = doc.Listen
	return d
}

// stop sends SIGTERM and waits for the exit; it returns the exit code.
func (d *daemon) stop() int {
	code, err := d.proc.Stop(testutil.StopTimeout)
	if err != nil {
		d.t.Error(err)
	}
	return code
}

// kill sends SIGKILL, by PID, and waits until the process is gone.
func (d *daemon) kill() { d.proc.Kill() }

// exited is closed once the daemon has exited.
func (d *daemon) exited() <-chan struct{} { return d.proc.Exited() }

// httpClient bounds each request: a daemon that stops answering fails
// the test instead of hanging it.
var httpClient = &http.Client{Timeout: time.Minute}

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
	resp, err := httpClient.Do(req)
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

// waitStatus polls GET /v1/messages/{id} until its status is one of want.
func (d *daemon) waitStatus(id int64, want ...string) apiMessage {
	d.t.Helper()
	var m apiMessage
	if !testutil.UntilEvery(20*time.Second, 10*time.Millisecond, func() bool {
		m = apiMessage{}
		d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m)
		return slices.Contains(want, m.Status)
	}) {
		d.t.Fatalf("message %d is %q (%+v), want %v", id, m.Status, m, want)
	}
	return m
}

// apiModem is a modem as GET /v1/modems shows it, with the fields the
// tests look at.
type apiModem struct {
	ID              string     `json:"id"`
	State           string     `json:"state"`
	Registration    string     `json:"registration"`
	LastError       string     `json:"last_error"`
	LastErrorAt     *time.Time `json:"last_error_at"`
	PINAttemptsLeft *int       `json:"pin_attempts_left"`
}

// modems returns GET /v1/modems; any answer but 200 fails the test.
func (d *daemon) modems() []apiModem {
	d.t.Helper()
	var out struct {
		Modems []apiModem `json:"modems"`
	}
	if code := d.do("GET", "/v1/modems", nil, &out); code != http.StatusOK {
		d.t.Fatalf("GET /v1/modems: %d", code)
	}
	return out.Modems
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"bridged/internal/ready"
	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// counter counts the AT commands the simulated modems execute, from their
// Debug log records.
type counter struct{ n atomic.Int64 }

func (c *counter) Enabled(context.Context, slog.Level) bool { return true }
func (c *counter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "command" {
		c.n.Add(1)
	}
	return nil
}
func (c *counter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *counter) WithGroup(string) slog.Handler      { return c }

// rig is a daemon and the network of its modems.
type rig struct {
	net  *modemsim.Network
	proc *testutil.Process
	addr string
	dir  string
	at   *counter
	mods []*modemsim.Modem
	// hooks is the webhook receiver of a -webhook run, else nil.
	hooks *hookReceiver
}

// start runs bin serve against modems simulated modems of this process
// and returns once every modem is ready; a failure ends the program. With
// -webhook, the daemon also has a [[webhook]] to a receiver in this
// process that answers at once.
func start(bin string, modems int, latency, sendTimeout time.Duration) *rig {
	if !*withWebhook {
		return startWith(bin, modems, latency, sendTimeout, "")
	}
	hooks := startHookReceiver()
	r := startWith(bin, modems, latency, sendTimeout, hooks.webhookTable())
	r.hooks = hooks
	return r
}

// startWith is start with extra appended to the configuration.
func startWith(bin string, modems int, latency, sendTimeout time.Duration, extra string) *rig {
	dir, err := os.MkdirTemp("", "bridged-bench-run-")
	if err != nil {
		log.Fatal(err)
	}
	r := &rig{dir: dir, at: &counter{}}
	r.net = modemsim.NewNetwork(modemsim.Options{Dir: dir, SendLatency: latency, Logger: slog.New(r.at)})
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[http]\nlisten = \"127.0.0.1:0\"\n[store]\npath = %q\n[log]\nlevel = \"info\"\n[sms]\ndelivery_reports = false\n", filepath.Join(dir, "bridged.db"))
	for i := range modems {
		m, err := r.net.AddModem(modemsim.Config{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(&cfg, "[[modem]]\nid = \"m%d\"\ndevice = %q\nsend_timeout = %q\n", i, m.Path(), sendTimeout.String())
		r.mods = append(r.mods, m)
	}
	cfg.WriteString(extra)
	path := filepath.Join(dir, "bridged.toml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	// The daemon's log is not read: its address comes from the ready file.
	readyFile := filepath.Join(dir, "serve.ready")
	if r.proc, err = testutil.Start(exec.Command(bin, "serve", "-config", path, "-ready-file", readyFile)); err != nil {
		log.Fatal(err)
	}
	var doc ready.Serve
	if err := r.proc.Ready(readyFile, testutil.ReadyTimeout, &doc); err != nil {
		log.Fatal(err)
	}
	r.addr = doc.Listen
	if !testutil.UntilEvery(30*time.Second, 50*time.Millisecond, func() bool { return r.modemsReady() == modems }) {
		log.Fatal("modems not ready")
	}
	return r
}

// modemsReady returns how many modems GET /v1/modems shows ready.
func (r *rig) modemsReady() int {
	var ms struct {
		Modems []struct{ State string } `json:"modems"`
	}
	getJSON(r.addr, "/v1/modems", &ms)
	n := 0
	for _, m := range ms.Modems {
		if m.State == "ready" {
			n++
		}
	}
	return n
}

func (r *rig) stop() {
	if _, err := r.proc.Stop(testutil.StopTimeout); err != nil {
		log.Print(err)
	}
	r.net.Close()
	os.RemoveAll(r.dir)
}

// rss returns VmRSS and VmHWM of the daemon in MB.
func (r *rig) rss() (cur, peak float64) {
	m := r.memory()
	return m["VmRSS:"], m["VmHWM:"]
}

// cpu returns the user and system time the daemon used so far, from
// /proc/PID/stat (in clock ticks of 1/100 s, as on Linux on amd64 and arm).
func (r *rig) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.proc.PID()))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// memory returns the daemon's memory figures from /proc/PID/status in MB,
// keyed by their names there ("VmRSS:", "RssAnon:", "RssFile:" ...).
func (r *rig) memory() map[string]float64 {
	m := map[string]float64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.proc.PID()))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			m[f[0]] = kb / 1024
		}
	}
	return m
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// postMessage posts msg (its "to", "text" ...) and returns the status.
func postMessage(addr string, msg map[string]any) (int, error) {
	body, _ := json.Marshal(msg)
	resp, err := client.Post("http://"+addr+"/v1/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func getJSON(addr, path string, out any) {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
}

// count returns how many messages have the status, up to 1,000.
func count(addr, status string) int {
	var page struct {
		Messages []struct{} `json:"messages"`
	}
	getJSON(addr, "/v1/messages?limit=1000&status="+status, &page)
	return len(page.Messages)
}

// total pages through a listing (path with its query, cursor added) and
// returns how many entries it holds. The inbox sets next_cursor on every
// page that has entries, the outbox only when there may be more, so either
// end stops.
func total(addr, path string) int {
	n := 0
	for cursor := ""; ; {
		var page struct {
			Messages   []struct{} `json:"messages"`
			NextCursor string     `json:"next_cursor"`
		}
		getJSON(addr, path+"&cursor="+cursor, &page)
		n += len(page.Messages)
		if page.NextCursor == "" || len(page.Messages) == 0 {
			return n
		}
		cursor = page.NextCursor
	}
}

// Command load measures bridged end to end: it builds and starts the real
// daemon against simulated modems living in this process (over their
// ptys), drives it over HTTP on 127.0.0.1 and prints what it measured.
// It is run by hand, not in CI:
//
//	go run ./bench/load                 # every scenario
//	go run ./bench/load -only post,latency
//	go run ./bench/load -only mixed20k   # 20,000 messages, 4 modems, inbound alongside
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bridged/modem/modemsim"
)

var (
	only     = flag.String("only", "post,latency,one,four,idle", "scenarios to run")
	duration = flag.Duration("duration", 10*time.Second, "how long the POST scenario runs")
	clients  = flag.Int("clients", 32, "concurrent HTTP clients for the POST scenario")
	idleFor  = flag.Duration("idle", 3*time.Minute, "how long the idle scenario watches the modem")
	after    = flag.Duration("after", 0, "if set, the one-modem scenario then idles this long and reports RSS")
	mixedN   = flag.Int("mixed", 20000, "messages the mixed20k scenario posts")
	static   = flag.Bool("static", true, "build the daemon as the README builds it for a Pi (static, netgo, C code -Os); false: a plain go build")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	bin, err := build()
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range strings.Split(*only, ",") {
		switch s {
		case "post":
			post(bin)
		case "latency":
			latency(bin)
		case "one":
			throughput(bin, 1, 0, 2000)
		case "four":
			throughput(bin, 4, time.Second, 0)
		case "idle":
			idle(bin)
		case "mixed20k":
			mixed(bin, *mixedN)
		default:
			log.Fatalf("unknown scenario %q", s)
		}
	}
}

func build() (string, error) {
	dir, err := os.MkdirTemp("", "bridged-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bridged")
	args := []string{"build", "-o", bin}
	if *static {
		// What runs on a Pi: no shared C library mapped beside the binary.
		args = append(args, "-tags", "sqlite_omit_load_extension netgo osusergo nethttpomithttp2", "-ldflags", "-extldflags=-static")
	}
	cmd := exec.Command("go", append(args, "./cmd/bridged")...)
	if *static && os.Getenv("CGO_CFLAGS") == "" {
		cmd.Env = append(os.Environ(), "CGO_CFLAGS=-Os")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

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
	cmd  *exec.Cmd
	addr string
	dir  string
	at   *counter
}

var upRE = regexp.MustCompile(`msg="bridged is up" listen=(\S+)`)

func start(bin string, modems int, latency, sendTimeout time.Duration) *rig {
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
	}
	path := filepath.Join(dir, "bridged.toml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	pr, pw := io.Pipe()
	r.cmd = exec.Command(bin, "serve", "-config", path)
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	if err := r.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	// The daemon prints its address in the "bridged is up" line; the rest
	// of its output is drained so that it never blocks on a full pipe.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := upRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case r.addr = <-found:
	case <-time.After(30 * time.Second):
		log.Fatal("bridged did not come up")
	}
	// Wait for every modem to be ready.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ms struct {
			Modems []struct{ State string } `json:"modems"`
		}
		getJSON(r.addr, "/v1/modems", &ms)
		ready := 0
		for _, m := range ms.Modems {
			if m.State == "ready" {
				ready++
			}
		}
		if ready == modems {
			return r
		}
	}
	log.Fatal("modems not ready")
	return nil
}

func (r *rig) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
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

func postMessage(addr, to, text string) (int, error) {
	body, _ := json.Marshal(map[string]any{"to": to, "text": text})
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

func post(bin string) {
	// The modem never answers a send in time: what is measured is the API
	// and the store, with a worker claiming and retrying alongside.
	r := start(bin, 1, time.Hour, 2*time.Second)
	defer r.stop()
	var ok, bad atomic.Int64
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				code, err := postMessage(r.addr, "+447400123456", fmt.Sprintf("load %d/%d", c, i))
				if err == nil && code == http.StatusAccepted {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	_, peak := r.rss()
	fmt.Printf("post: %d clients, %v: %.0f durable POST /v1/messages per second (%d accepted, %d failed); peak RSS %.1f MB\n",
		*clients, *duration, float64(ok.Load())/duration.Seconds(), ok.Load(), bad.Load(), peak)
}

func latency(bin string) {
	r := start(bin, 1, 0, 30*time.Second)
	defer r.stop()
	var lat []time.Duration
	for i := range 200 {
		before := len(r.net.Sent())
		code, err := postMessage(r.addr, "+447400123456", fmt.Sprintf("latency %d", i))
		accepted := time.Now()
		if err != nil || code != http.StatusAccepted {
			log.Fatalf("post: %d %v", code, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sent, err := r.net.WaitSent(ctx, before+1)
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		lat = append(lat, sent[len(sent)-1].Time.Sub(accepted))
	}
	slices.Sort(lat)
	fmt.Printf("latency: 202 to the SMS at an idle simulated modem, 200 messages: p50 %v, p90 %v, p99 %v, max %v\n",
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}

func throughput(bin string, modems int, lat time.Duration, n int) {
	r := start(bin, modems, lat, 30*time.Second)
	defer r.stop()
	if n == 0 {
		n = modems * 40
	}
	startT := time.Now()
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += 8 {
				if code, err := postMessage(r.addr, "+447400123456", fmt.Sprintf("through %d", i)); err != nil || code != http.StatusAccepted {
					log.Fatalf("post: %d %v", code, err)
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := r.net.WaitSent(ctx, n); err != nil {
		log.Fatal(err)
	}
	el := time.Since(startT)
	rate := float64(n) / el.Seconds()
	_, peak := r.rss()
	if lat == 0 {
		fmt.Printf("one modem, no network latency: %d messages in %v: %.0f messages/s (%.2f ms each); peak RSS %.1f MB\n", n, el.Round(time.Millisecond), rate, 1000/rate, peak)
		if *after > 0 {
			time.Sleep(*after)
			m := r.memory()
			fmt.Printf("after those messages, %v idle: RSS %.2f MB (%.2f anonymous, %.2f of files)\n", *after, m["VmRSS:"], m["RssAnon:"], m["RssFile:"])
		}
		return
	}
	limit := float64(modems) / lat.Seconds()
	fmt.Printf("%d modems, %v network latency: %d messages in %v: %.2f messages/s, %.1f%% of the %.0f/s limit; peak RSS %.1f MB\n",
		modems, lat, n, el.Round(time.Millisecond), rate, 100*rate/limit, limit, peak)
}

func idle(bin string) {
	r := start(bin, 1, 0, 30*time.Second)
	defer r.stop()
	time.Sleep(2 * time.Second) // let start-up finish
	before := r.at.n.Load()
	rssStart, _ := r.rss()
	// Sampled every 10 s: a creep shows as a rising maximum.
	highest := rssStart
	for end := time.Now().Add(*idleFor); time.Now().Before(end); {
		time.Sleep(min(10*time.Second, time.Until(end)))
		cur, _ := r.rss()
		highest = max(highest, cur)
	}
	n := r.at.n.Load() - before
	m := r.memory()
	fmt.Printf("idle: %d AT commands in %v (%.2f a minute); RSS %.2f MB after start (%.0f kB), %.2f MB after idling (%.0f kB; %.2f anonymous, %.2f of files), at most %.2f MB while idle\n",
		n, *idleFor, float64(n)/idleFor.Minutes(), rssStart, rssStart*1024, m["VmRSS:"], m["VmRSS:"]*1024, m["RssAnon:"], m["RssFile:"], highest)
}

// mixed posts n messages (one in ten of two parts, one in four with a
// delivery report) through four modems without network latency while the
// network delivers SMS to them (one in three of two parts), and measures
// the time until every message is final (sent, or delivered when a report
// was asked for) and every inbound SMS is in the inbox.
func mixed(bin string, n int) {
	const modems = 4
	r := start(bin, modems, 0, 30*time.Second)
	defer r.stop()
	sims := r.net.Modems()
	var posted, parts, reports atomic.Int64
	injected := map[string]bool{}
	var injMu sync.Mutex
	stopInject := make(chan struct{})
	injDone := make(chan struct{})
	startT := time.Now()
	go func() {
		// About one inbound SMS per ten outbound, spread over the posting.
		defer close(injDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopInject:
				return
			case <-tick.C:
			}
			text := fmt.Sprintf("inbound %d", i)
			if i%3 == 1 {
				text += strings.Repeat(" a long inbound message", 10)
			}
			if err := sims[i%modems].Deliver(fmt.Sprintf("+4477009%05d", i%1000), text); err != nil {
				log.Fatal(err)
			}
			injMu.Lock()
			injected[text] = true
			injMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	const clients = 16
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += clients {
				text := fmt.Sprintf("mixed %d", i)
				p := 1
				if i%10 == 3 {
					text += strings.Repeat(" two parts", 20)
					p = 2
				}
				report := i%4 == 0
				body, _ := json.Marshal(map[string]any{"to": fmt.Sprintf("+44741%07d", i), "text": text, "report": report})
				resp, err := client.Post("http://"+r.addr+"/v1/messages", "application/json", bytes.NewReader(body))
				if err != nil {
					log.Fatalf("post: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					log.Fatalf("post: %d", resp.StatusCode)
				}
				posted.Add(1)
				parts.Add(int64(p))
				if report {
					reports.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	postT := time.Since(startT)
	close(stopInject)
	<-injDone
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if _, err := r.net.WaitSent(ctx, int(parts.Load())); err != nil {
		log.Fatal(err)
	}
	sentT := time.Since(startT)
	// Then final by the API: nothing queued or sending, and no message
	// that asked for a report still waiting for it.
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			log.Fatal("mixed: messages not final 5 minutes after the last part left")
		}
		if count(r.addr, "queued") > 0 || count(r.addr, "sending") > 0 || total(r.addr, "/v1/messages?limit=1000&status=delivered") < int(reports.Load()) {
			continue
		}
		if total(r.addr, "/v1/inbox?limit=1000") < len(injected) {
			continue
		}
		break
	}
	el := time.Since(startT)
	_, peak := r.rss()
	cpu := r.cpu()
	// Every inbound SMS once, whole.
	seen := map[string]int{}
	for cursor := ""; ; {
		var page struct {
			Messages []struct {
				Text       string `json:"text"`
				Incomplete bool   `json:"incomplete"`
			} `json:"messages"`
			NextCursor string `json:"next_cursor"`
		}
		getJSON(r.addr, "/v1/inbox?limit=1000&cursor="+cursor, &page)
		if len(page.Messages) == 0 {
			break
		}
		for _, m := range page.Messages {
			if m.Incomplete {
				log.Fatalf("mixed: inbound %q incomplete", m.Text)
			}
			seen[m.Text]++
		}
		cursor = page.NextCursor
	}
	for text := range injected {
		if seen[text] != 1 {
			log.Fatalf("mixed: inbound %q in the inbox %d times", text, seen[text])
		}
	}
	if len(seen) != len(injected) {
		log.Fatalf("mixed: %d texts in the inbox, %d injected", len(seen), len(injected))
	}
	fmt.Printf("mixed: %d messages (%d parts, %d with a report) through %d modems without network latency, %d inbound SMS alongside: "+
		"posted in %v, every part out in %v, all final in %v: %.0f messages/s end to end; %d inbound each in the inbox once; peak RSS %.1f MB; daemon CPU %v (%.0f%% of one core)\n",
		posted.Load(), parts.Load(), reports.Load(), modems, len(injected), postT.Round(time.Millisecond), sentT.Round(time.Millisecond), el.Round(time.Millisecond),
		float64(posted.Load())/el.Seconds(), len(injected), peak, cpu.Round(10*time.Millisecond), 100*cpu.Seconds()/el.Seconds())
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

package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bridged/internal/ready"
	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// notifySocket is what systemd listens on for sd_notify: a unixgram
// socket, here one the test opens, recording every state it is sent.
type notifySocket struct {
	path string
	mu   sync.Mutex
	got  []notice
}

type notice struct {
	at    time.Time
	state string // one line: "READY=1", "STATUS=..."
}

func mustNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	// A socket path must fit in sun_path (108 bytes): t.TempDir's can be
	// longer.
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &notifySocket{path: filepath.Join(dir, "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed at the end of the test
			}
			now := time.Now()
			s.mu.Lock()
			for line := range strings.SplitSeq(strings.TrimSpace(string(buf[:n])), "\n") {
				s.got = append(s.got, notice{at: now, state: line})
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// last returns the last notice equal to state (or, with a trailing "=",
// starting with it) and whether there was one.
func (s *notifySocket) last(state string) (notice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.got) - 1; i >= 0; i-- {
		n := s.got[i]
		if n.state == state || strings.HasSuffix(state, "=") && strings.HasPrefix(n.state, state) {
			return n, true
		}
	}
	return notice{}, false
}

// first returns the first state sent.
func (s *notifySocket) first() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return ""
	}
	return s.got[0].state
}

func (s *notifySocket) count(state string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.got {
		if g.state == state {
			n++
		}
	}
	return n
}

func (s *notifySocket) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, g := range s.got {
		fmt.Fprintf(&b, "%s %s\n", g.at.Format("15:04:05.000"), g.state)
	}
	return b.String()
}

// waitFor waits until a notice equal to state (or starting with it, for a
// state ending in "=") has come, and returns the last one.
func (s *notifySocket) waitFor(t *testing.T, state string) notice {
	t.Helper()
	var n notice
	if !testutil.Until(testutil.Timeout, func() bool {
		var ok bool
		n, ok = s.last(state)
		return ok
	}) {
		t.Fatalf("systemd was not sent %s; it got:\n%s", state, s)
	}
	return n
}

// fileOutput shows what a daemon wrote to a file, for a failing test.
type fileOutput string

func (f fileOutput) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// journalStream is JOURNAL_STREAM as systemd sets it for a service whose
// stderr is f: the device and inode of f.
func journalStream(t *testing.T, f *os.File) string {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// TestE2ESystemd runs the daemon as systemd does with Type=notify and
// WatchdogSec=: NOTIFY_SOCKET, WATCHDOG_USEC, and stderr going to the
// journal (JOURNAL_STREAM names the file stderr is). It tells systemd it
// is ready, the modems' states as they change, pings the watchdog only
// while the dispatcher answers through the store, and says when it stops;
// under the journal it logs JSON.
func TestE2ESystemd(t *testing.T) {
	const watchdog = 3 * time.Second // pinged every 1.5 s
	w := mustWorld(t, 1, modemsim.Options{})
	sock := mustNotifySocket(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bridged.toml")
	if err := os.WriteFile(cfgPath, []byte(w.config("")), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "journal")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	readyFile := cfgPath + ".ready"
	cmd := exec.Command(mustBinary(t), "serve", "-config", cfgPath, "-ready-file", readyFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock.path,
		fmt.Sprintf("WATCHDOG_USEC=%d", watchdog.Microseconds()), "JOURNAL_STREAM="+journalStream(t, logFile))
	out := fileOutput(logPath)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridged's output:\n%s\nsystemd was sent:\n%s", out, sock)
		}
	})
	p := testutil.MustStart(t, cmd)
	var doc ready.Serve
	p.MustReady(t, readyFile, &doc, out)

	sock.waitFor(t, "READY=1")
	sock.waitFor(t, "STATUS=m0 ready")
	testutil.Eventually(t, "two watchdog pings", func() bool { return sock.count("WATCHDOG=1") >= 2 })
	if first := sock.first(); first != "READY=1" {
		t.Errorf("systemd was sent %s before READY=1:\n%s", first, sock)
	}

	// A modem that changes state changes the status line.
	w.sims[0].SetRegistration(modemsim.RegSearching)
	sock.waitFor(t, "STATUS=m0 not-registered")
	w.sims[0].SetRegistration(modemsim.RegHome)
	testutil.Eventually(t, "the status back to ready", func() bool {
		n, _ := sock.last("STATUS=")
		return n.state == "STATUS=m0 ready"
	})

	// Another process holds the database's write lock, so the store's
	// writer cannot commit: the dispatcher's liveness round trip does not
	// come back (until the busy timeout), and the pings stop for longer
	// than the watchdog interval, which is when systemd would restart it.
	db, err := sql.Open("sqlite3", "file:"+w.db()+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("lock the database: %v", err)
	}
	// A quarter more than the interval: the round trip asked at most half
	// an interval after the last ping has then waited longer than half an
	// interval, which the daemon logs as late. The write gives up after
	// the busy timeout (5 s), past this.
	testutil.Wait(t, 30*time.Second, "no watchdog ping for longer than WATCHDOG_USEC", func() bool {
		n, _ := sock.last("WATCHDOG=1")
		return time.Since(n.at) > watchdog+watchdog/4
	})
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	unlocked := time.Now()
	testutil.Eventually(t, "the pings back once the store commits", func() bool {
		n, _ := sock.last("WATCHDOG=1")
		return n.at.After(unlocked)
	})

	if code, err := p.Stop(testutil.StopTimeout); err != nil || code != 0 {
		t.Fatalf("stop: exit %d, %v", code, err)
	}
	stopping := sock.waitFor(t, "STOPPING=1")
	if n, _ := sock.last("WATCHDOG=1"); n.at.After(stopping.at) {
		t.Errorf("watchdog pinged after STOPPING=1:\n%s", sock)
	}

	// Under the journal every line is JSON, and the late answer was said.
	logs, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	late := false
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON log line under the journal: %q", sc.Text())
		}
		late = late || line.Msg == "the dispatcher answered the watchdog late"
	}
	if !late {
		t.Error("the late watchdog answer was not logged")
	}
}

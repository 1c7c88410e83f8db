package queue

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/pdu"
)

var crashIterations = flag.Int("crash.iterations", 20, "SIGKILLs in TestCrashKeepsAcknowledgedEnqueues")

// crashChildEnv names the database a re-executed test binary enqueues into
// until it is killed; see crashChild.
const crashChildEnv = "BRIDGED_QUEUE_CRASH_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	code := m.Run()
	if bigTemp {
		os.RemoveAll(filepath.Dir(bigPath))
	}
	os.Exit(code)
}

// crashChild enqueues from 8 goroutines forever and prints "id text" for
// each enqueue that returned success: that line is the acknowledgement the
// parent holds the store to.
func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	pid := os.Getpid()
	var wg sync.WaitGroup
	// One goroutine plays the modem driver: it stores received parts and
	// prints "in" lines, the moment it would delete them from the SIM.
	go func() {
		for n := 0; ; n++ {
			p := deliverPDU("+447700900999", fmt.Sprintf("in %d %d", pid, n), time.Unix(int64(n), 0), 0, 1, 1)
			r, err := s.Receive(context.Background(), pdu.DecodeReceived("crash", p, "SM", n%50))
			if err != nil || r.Message == nil {
				fmt.Fprintln(os.Stderr, "child receive:", err, r.Duplicate)
				os.Exit(5)
			}
			line := fmt.Sprintf("in\t%d\t%s\n", r.Message.ID, p)
			mu.Lock()
			os.Stdout.WriteString(line)
			mu.Unlock()
		}
	}()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				text := fmt.Sprintf("crash %d %d %d %s", pid, g, n, strings.Repeat("€", n%200))
				key := ""
				if n%3 == 0 {
					key = fmt.Sprintf("%d-%d-%d", pid, g, n)
				}
				res, err := s.Enqueue(context.Background(), key, NewMessage{To: "+447700900123", Text: text})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child enqueue:", err)
					os.Exit(4)
				}
				line := fmt.Sprintf("%d\t%s\n", res.Messages[0].ID, text)
				mu.Lock()
				// One write(2) per line: lines never interleave on the pipe.
				os.Stdout.WriteString(line)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedEnqueues kills a child process that enqueues in
// a loop with SIGKILL at random moments (after a random number of
// acknowledgements, or at once, during Open) and checks after each kill that
// every acknowledged message is stored intact and the database is sound.
// A longer run: go test ./queue -run Crash -crash.iterations=500.
func TestCrashKeepsAcknowledgedEnqueues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[int64]string{}    // message id: text
	received := map[int64]string{} // inbox id: raw PDU
	for i := range *crashIterations {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := rand.IntN(400)
		if rand.IntN(10) == 0 {
			killAfter = 0 // while it opens, migrates or recovers
		}
		r := bufio.NewReader(stdout)
		got := 0
		killed := false
		kill := func() {
			if !killed {
				killed = true
				if err := cmd.Process.Kill(); err != nil { // SIGKILL, by its pid
					t.Errorf("kill %d: %v", cmd.Process.Pid, err)
				}
			}
		}
		if killAfter == 0 {
			kill()
		}
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF {
				break // a line cut by the kill has no newline: not an acknowledgement
			}
			if err != nil {
				t.Fatal(err)
			}
			if rest, ok := strings.CutPrefix(line, "in\t"); ok {
				idText, p, _ := strings.Cut(strings.TrimSuffix(rest, "\n"), "\t")
				id, err := strconv.ParseInt(idText, 10, 64)
				if err != nil {
					t.Fatalf("child wrote %q", line)
				}
				received[id] = p
				continue
			}
			idText, text, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
			id, perr := strconv.ParseInt(idText, 10, 64)
			if !ok || perr != nil {
				t.Fatalf("child wrote %q", line)
			}
			if prev, seen := acked[id]; seen && prev != text {
				t.Fatalf("id %d acknowledged for %q and %q", id, prev, text)
			}
			acked[id] = text
			if got++; got >= killAfter {
				kill()
			}
		}
		kill()
		err = cmd.Wait()
		if !strings.Contains(fmt.Sprint(err), "killed") {
			t.Fatalf("iteration %d: child ended with %v, not by our SIGKILL; stderr:\n%s", i, err, stderr.String())
		}
		checkCrashDB(t, path, acked, received)
	}
	t.Logf("%d kills, %d acknowledged enqueues and %d acknowledged received parts, all present", *crashIterations, len(acked), len(received))
	if len(acked) == 0 {
		t.Fatal("no enqueue was acknowledged: the test checked nothing")
	}
}

func checkCrashDB(t *testing.T, path string, acked, received map[int64]string) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	rows, err := s.rdb.Query("SELECT id, body, to_number, status FROM messages")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[int64]string{}
	for rows.Next() {
		var (
			id               int64
			body, to, status string
		)
		if err := rows.Scan(&id, &body, &to, &status); err != nil {
			t.Fatal(err)
		}
		if to != "+447700900123" || status != string(StatusQueued) {
			t.Fatalf("message %d: to %q status %q", id, to, status)
		}
		stored[id] = body
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, text := range acked {
		if got, ok := stored[id]; !ok || got != text {
			t.Fatalf("acknowledged message %d: stored %q (present %v), want %q", id, got, ok, text)
		}
	}
	parts := map[int64]string{}
	prows, err := s.rdb.Query("SELECT i.id, p.pdu FROM inbox i JOIN inbound_parts p ON p.inbox_id = i.id")
	if err != nil {
		t.Fatal(err)
	}
	defer prows.Close()
	for prows.Next() {
		var (
			id  int64
			pdu string
		)
		if err := prows.Scan(&id, &pdu); err != nil {
			t.Fatal(err)
		}
		parts[id] = pdu
	}
	for id, p := range received {
		if parts[id] != p {
			t.Fatalf("acknowledged received part of inbox %d: stored %q, want %q", id, parts[id], p)
		}
	}
	var events int
	if err := s.rdb.QueryRow("SELECT count(*) FROM message_events").Scan(&events); err != nil || events != len(stored) {
		t.Fatalf("%d events for %d messages (%v): a message and its history are one transaction", events, len(stored), err)
	}
}

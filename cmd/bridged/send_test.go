package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestSendRetriesWithTheSameKey: a POST whose answer is lost (the
// connection breaks) or that the daemon asks to repeat (503 with
// Retry-After) is tried again with the same Idempotency-Key, so that the
// daemon stores the message once.
func TestSendRetriesWithTheSameKey(t *testing.T) {
	var (
		mu   sync.Mutex
		keys []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1: // stored, but the answer is lost
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"error":{"code":"store_locked","message":"the message store is busy"}}`)
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintln(w, `{"messages":[{"id":42,"to":"+447400123456","status":"queued","encoding":"gsm7","parts":1}]}`)
		}
	}))
	defer srv.Close()
	code, stdout, stderr := runMain(t, "", "send", "-url", srv.URL, "-token", cliToken, "+447400123456", "hi")
	if code != exitOK || stdout != "42\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 3 || keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("Idempotency-Keys %q, want three times the same", keys)
	}
	if !strings.HasPrefix(keys[0], "bridged-send-") {
		t.Errorf("key %q", keys[0])
	}
}

// TestSendGivesUp: a daemon that keeps answering 503 is asked
// postAttempts times, and its error is the command's.
func TestSendGivesUp(t *testing.T) {
	var (
		mu    sync.Mutex
		posts int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"error":{"code":"store_locked","message":"the message store is busy"}}`)
	}))
	defer srv.Close()
	code, stdout, stderr := runMain(t, "", "send", "-url", srv.URL, "+447400123456", "hi")
	want := "bridged: send: the daemon at " + srv.URL + " answered 503 Service Unavailable: the message store is busy (store_locked)\n"
	if code != exitError || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != postAttempts {
		t.Errorf("%d POSTs, want %d", posts, postAttempts)
	}
}

func TestClientCommandsHelp(t *testing.T) {
	for cmd, want := range map[string]string{"send": "-idempotency-key KEY", "inbox": "-follow"} {
		code, stdout, _ := runMain(t, "", "help", cmd)
		if code != exitOK || !strings.Contains(stdout, want) || !strings.Contains(stdout, "BRIDGED_TOKEN") {
			t.Errorf("help %s: exit %d, %q", cmd, code, stdout)
		}
		if _, stdout, _ := runMain(t, "", "help"); !strings.Contains(stdout, "\n  "+cmd+" ") {
			t.Errorf("help does not list %s: %q", cmd, stdout)
		}
	}
}

// TestClientAddressFromConfig: a configuration whose port is chosen at
// start cannot say where the daemon is; the error says what to give.
func TestClientAddressFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(path, []byte("[http]\nlisten = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envClientURL, "")
	code, _, stderr := runMain(t, "", "send", "-config", path, "+447400123456", "hi")
	if code != exitUsage || !strings.Contains(stderr, "give its address with -url or BRIDGED_URL") {
		t.Errorf("exit %d, stderr %q; want 2 and what to give", code, stderr)
	}
}

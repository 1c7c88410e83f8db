package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/modem/modemsim"
)

// The send and inbox clients run in-process against the real daemon.

const cliToken = "0123456789abcdef0123456789abcdef"

// startTokenDaemon runs a daemon on w whose API wants cliToken.
func startTokenDaemon(t *testing.T, w *world) *daemon {
	t.Helper()
	d := startDaemon(t, strings.Replace(w.config(""), "[http]\n", "[http]\ntokens = [\""+cliToken+"\"]\n", 1))
	d.token = cliToken
	return d
}

var idLine = regexp.MustCompile(`^[0-9]+\n$`)

// cliRun is what one run of the CLI did.
type cliRun struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) cliRun {
	t.Helper()
	var r cliRun
	r.code, r.stdout, r.stderr = runMain(t, stdin, args...)
	return r
}

// sentID reads the one id a send printed.
func sentID(t *testing.T, r cliRun) int64 {
	t.Helper()
	if r.code != exitOK || !idLine.MatchString(r.stdout) {
		t.Fatalf("send: %+v; want exit 0 and one id", r)
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	return id
}

func TestE2ESendCommand(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	d := startTokenDaemon(t, w)
	base := "http://" + d.addr
	send := func(stdin string, args ...string) cliRun {
		t.Helper()
		return runCLI(t, stdin, append([]string{"send", "-url", base, "-token", cliToken}, args...)...)
	}
	textOf := func(id int64) string {
		t.Helper()
		var m apiMessage
		if code := d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m); code != 200 {
			t.Fatalf("GET message %d: %d", id, code)
		}
		return m.Text
	}

	t.Run("text as argument", func(t *testing.T) {
		id := sentID(t, send("", "+447400123456", "hello from the shell"))
		if got := textOf(id); got != "hello from the shell" {
			t.Errorf("message %d has text %q", id, got)
		}
	})
	t.Run("text from stdin", func(t *testing.T) {
		for _, args := range [][]string{{"+447400123456"}, {"+447400123456", "-"}} {
			id := sentID(t, send("piped\nsecond line\n", args...))
			if got := textOf(id); got != "piped\nsecond line" {
				t.Errorf("send %v: message %d has text %q, want the final newline dropped", args, id, got)
			}
		}
	})
	t.Run("several numbers", func(t *testing.T) {
		r := send("", "+447400123401,+447400123402", "to both")
		if lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); r.code != 0 || len(lines) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q: want two ids", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := send("", "-json", "+447400123456", "as json")
		var out struct {
			Messages []apiMessage `json:"messages"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || len(out.Messages) != 1 || out.Messages[0].Status != "queued" {
			t.Fatalf("exit %d, stdout %q (%v), stderr %q", r.code, r.stdout, err, r.stderr)
		}
	})
	t.Run("idempotency key", func(t *testing.T) {
		first := sentID(t, send("", "-idempotency-key", "order-42", "+447400123456", "once"))
		again := sentID(t, send("", "-idempotency-key", "order-42", "+447400123456", "once"))
		if first != again {
			t.Errorf("the same key sent twice: messages %d and %d", first, again)
		}
	})
	t.Run("wait delivered", func(t *testing.T) {
		r := send("", "-wait", "-report", "+447400123456", "wait for me")
		if !regexp.MustCompile(`^[0-9]+ delivered\n$`).MatchString(r.stdout) || r.code != 0 {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and \"ID delivered\"", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("wait json", func(t *testing.T) {
		r := send("", "-wait", "-json", "-report=false", "+447400123456", "no report")
		var m apiMessage
		if err := json.Unmarshal([]byte(r.stdout), &m); r.code != 0 || err != nil || m.Status != "sent" || m.Report {
			t.Fatalf("exit %d, stdout %q (%v), stderr %q; want the message sent, without a report", r.code, r.stdout, err, r.stderr)
		}
	})
	t.Run("wait failed", func(t *testing.T) {
		w.sims[0].SetSendErrors(21) // rejected by the network: permanent
		r := send("", "-wait", "+447400123456", "refused")
		if !regexp.MustCompile(`^[0-9]+ failed cms_21\n$`).MatchString(r.stdout) || r.code != exitError ||
			!strings.Contains(r.stderr, "failed (cms_21: ") {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 1, \"ID failed cms_21\" and the reason", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(envClientURL, base)
		t.Setenv(envClientToken, cliToken)
		id := sentID(t, runCLI(t, "", "send", "+447400123456", "from the environment"))
		if got := textOf(id); got != "from the environment" {
			t.Errorf("message %d has text %q", id, got)
		}
	})
	t.Run("token from the config", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "client.toml")
		if err := os.WriteFile(path, []byte("[http]\ntokens = [\""+cliToken+"\"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		id := sentID(t, runCLI(t, "", "send", "-url", base, "-config", path, "+447400123456", "token from the file"))
		if got := textOf(id); got != "token from the file" {
			t.Errorf("message %d has text %q", id, got)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		const wrong = "not-the-token-but-a-secret-all-the-same"
		r := runCLI(t, "", "send", "-url", base, "-token", wrong, "+447400123456", "nope")
		if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "401 Unauthorized") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the daemon's 401", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, wrong) || strings.Contains(r.stderr, cliToken) {
			t.Errorf("a token is printed: %q", r.stderr)
		}
	})
	t.Run("no daemon", func(t *testing.T) {
		code, _, stderr := runMain(t, "", "send", "-url", "http://"+freeListen(t), "+447400123456", "nobody")
		if code != exitError || !strings.Contains(stderr, "no daemon answers") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"+447400123456", "a", "b"}, {"-timeout", "soon", "+447400123456", "x"}} {
			if r := send("", args...); r.code != exitUsage {
				t.Errorf("send %v: %+v, want exit 2", args, r)
			}
		}
		if r := send("", "+447400123456"); r.code != exitUsage || !strings.Contains(r.stderr, "the text is empty") {
			t.Errorf("empty stdin: %+v, want exit 2", r)
		}
	})
}

// freeListen is a 127.0.0.1 address nothing listens on, for a daemon
// whose address a client finds in its configuration.
func freeListen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestE2EInboxCommand(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	// The client finds the daemon through the configuration's listen.
	cfgText := strings.Replace(w.config(""), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", freeListen(t)), 1)
	cfgPath := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgText)
	if err := w.sims[0].Deliver("+15557770000", "first line\nFAKE 2026-01-01T00:00:00Z +1 m0 \"forged\""); err != nil {
		t.Fatal(err)
	}
	waitInbox(t, d, "first line\nFAKE 2026-01-01T00:00:00Z +1 m0 \"forged\"")
	if err := w.sims[0].Deliver("+8613800138000", "你好"); err != nil {
		t.Fatal(err)
	}
	waitInbox(t, d, "你好")
	inbox := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runMain(t, "", append([]string{"inbox", "-config", cfgPath}, args...)...)
		if code != 0 {
			t.Fatalf("inbox %v: exit %d, stderr %q", args, code, stderr)
		}
		return stdout
	}

	lines := strings.Split(strings.TrimSuffix(inbox(), "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \+15557770000 m0 "first line\\nFAKE 2026-01-01T00:00:00Z \+1 m0 \\"forged\\""$`),
		regexp.MustCompile(`^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \+8613800138000 m0 "你好"$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("inbox printed %q, want %d lines", lines, len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d is %q, want %v", i, lines[i], re)
		}
	}

	var texts []string
	for line := range strings.Lines(inbox("-json")) {
		var m struct {
			ID   int64  `json:"id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.ID == 0 {
			t.Fatalf("-json line %q: %v", line, err)
		}
		texts = append(texts, m.Text)
	}
	if len(texts) != 2 || texts[1] != "你好" {
		t.Errorf("-json texts %q", texts)
	}

	if got := inbox("-limit", "1"); strings.Count(got, "\n") != 1 || !strings.Contains(got, "+15557770000") {
		t.Errorf("-limit 1 printed %q", got)
	}
	if got := inbox("-since", "1h"); strings.Count(got, "\n") != 2 {
		t.Errorf("-since 1h printed %q", got)
	}
	if got := inbox("-since", time.Now().Add(time.Minute).UTC().Format(time.RFC3339)); got != "" {
		t.Errorf("-since a minute ahead printed %q", got)
	}
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// httpRecorder sends requests to a daemon and keeps every answer, status
// line, headers and body, for a test to search.
type httpRecorder struct {
	t   *testing.T
	all strings.Builder
}

func (r *httpRecorder) do(d *daemon, method, path, body, token string) int {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+d.addr+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(&r.all, "%s %s -> %s\n", method, path, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&r.all, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	r.all.Write(b)
	r.all.WriteString("\n")
	return resp.StatusCode
}

// runBridged runs the binary with args and extra environment, and returns
// its exit code and combined output.
func runBridged(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(mustBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestE2ENoSecretPrinted runs daemons with API tokens (in the file, and
// from BRIDGED_TOKENS) and PINs (right, wrong, one whose AT+CPIN= hangs,
// one from BRIDGED_PIN_M3) through sends, refusals, restarts and
// check-config of good and bad files, and looks for every token and PIN in
// everything bridged printed or answered.
func TestE2ENoSecretPrinted(t *testing.T) {
	const (
		tokFile = "f11e70c3a9d24e6b8f0a1c2d3e4f5a6b"
		tokEnv  = "e7b1c4d2a8f94e3bb6a0d5c7e2f1a3b4"
		pinOK   = "71938264" // m0: the SIM's PIN
		pinBad  = "80462957" // m1: refused
		pinHang = "59283716" // m2: refused, without an answer
		pinEnv  = "64820193" // m3: from BRIDGED_PIN_M3
	)
	// Values written wrongly in the bad files below.
	const (
		pinTyped   = "80462958"
		pinSyntax  = "8046a957"
		tokTyped   = "f11e70c3a9d24e6b8f0a1c2d3e4f5a6c"
		tokSyntax  = "f11e70c3a9d24e6b8f0a1c2d3e4f5a6d"
		tokSyntax2 = "12345678901234567890123"
	)
	secrets := []string{tokFile, tokEnv, pinOK, pinBad, pinHang, pinEnv, pinTyped, pinSyntax, tokTyped, tokSyntax, tokSyntax2}

	w := mustPINWorld(t,
		modemsim.Config{PIN: pinOK},
		modemsim.Config{PIN: "11112222"},
		modemsim.Config{PIN: "33334444"},
		modemsim.Config{PIN: pinEnv},
	)
	w.sims[2].SetPINHang(true)
	pins := []string{pinOK, pinBad, pinHang, ""}
	cfg := daemonConfig(w.db(), w.devices(), func(i int) string {
		if pins[i] == "" {
			return ""
		}
		return fmt.Sprintf("pin = %q\n", pins[i])
	}, "")
	cfg = strings.Replace(cfg, "[http]\n", fmt.Sprintf("[http]\ntokens = [\"%s\"]\n", tokFile), 1)
	t.Setenv("BRIDGED_PIN_M3", pinEnv)

	var printed strings.Builder // everything but the HTTP answers
	rec := &httpRecorder{t: t}
	drive := func(d *daemon, token string) {
		t.Helper()
		d.token = token
		d.waitModem("m0", "ready", nil)
		d.waitModem("m3", "ready", nil)
		m1 := d.waitModem("m1", "sim-error", nil)
		d.waitModem("m2", "sim-error", nil)
		ms := d.send(map[string]any{"to": "+447400123456", "text": "secret test"})
		d.waitStatus(ms[0].ID, "sent", "delivered")
		for _, r := range []struct {
			method, path, body, token string
			status                    int
		}{
			{"POST", "/v1/messages", `{"to": "+447400123456", "text": "via the API"}`, token, 202},
			{"POST", "/v1/messages", `{"to": `, token, 400},
			{"POST", "/v1/messages", `{"to": "+447400123456", "text": "x"}`, "", 401},
			{"POST", "/v1/messages", `{"to": "+447400123456", "text": "x"}`, token[:len(token)-1] + "0", 401},
			{"GET", "/v1/modems", "", "", 401},
			{"GET", "/v1/modems", "", token, 200},
			{"GET", fmt.Sprintf("/v1/messages/%d", ms[0].ID), "", token, 200},
			{"DELETE", "/v1/modems/m9/pin-refusal", "", token, 404},
			{"GET", "/healthz", "", "", 200},
			{"GET", "/readyz", "", "", 200},
		} {
			if code := rec.do(d, r.method, r.path, r.body, r.token); code != r.status {
				t.Errorf("%s %s: %d, want %d", r.method, r.path, code, r.status)
			}
		}
		if !strings.Contains(m1.LastError, "refused by SIM") {
			t.Errorf("m1 last_error %q", m1.LastError)
		}
	}

	// The file's token.
	d := startDaemon(t, cfg)
	drive(d, tokFile)
	m1 := d.waitModem("m1", "sim-error", nil)
	if !strings.Contains(m1.LastError, `AT+CPIN="***"`) {
		t.Errorf("m1 last_error %q: want the masked command", m1.LastError)
	}
	// A clear makes m1 enter its (wrong) PIN once more, and say so.
	if code := rec.do(d, "DELETE", "/v1/modems/m1/pin-refusal", "", tokFile); code != 200 {
		t.Errorf("clear m1: %d", code)
	}
	testutil.Eventually(t, "m1 tried again", func() bool { return len(w.sims[1].PINEntries()) == 2 })
	d.waitModem("m1", "sim-error", nil)
	d.stop()
	out := d.out.String()
	printed.WriteString(out)

	// check-config: a valid file, and files with a secret of the wrong type
	// or that is not TOML.
	cfgPath := filepath.Join(t.TempDir(), "good.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, o := runBridged(t, nil, "check-config", "-config", cfgPath)
	if code != 0 || !strings.Contains(o, `tokens = ["***"]`) || !strings.Contains(o, `pin = "***"`) {
		t.Errorf("check-config of the good file: exit %d\n%s", code, o)
	}
	printed.WriteString(o)
	bad := []struct{ name, old, new string }{
		{"pin integer", fmt.Sprintf("pin = %q", pinBad), "pin = " + pinTyped},
		{"pin syntax", fmt.Sprintf("pin = %q", pinBad), "pin = " + pinSyntax},
		{"tokens string", fmt.Sprintf("tokens = [\"%s\"]", tokFile), fmt.Sprintf("tokens = %q", tokTyped)},
		{"tokens syntax", fmt.Sprintf("tokens = [\"%s\"]", tokFile), fmt.Sprintf("tokens = [%s]", tokSyntax)},
		{"tokens out of range", fmt.Sprintf("tokens = [\"%s\"]", tokFile), fmt.Sprintf("tokens = [%s]", tokSyntax2)},
	}
	for _, c := range bad {
		p := filepath.Join(t.TempDir(), "bad.toml")
		if err := os.WriteFile(p, []byte(strings.Replace(cfg, c.old, c.new, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		code, o := runBridged(t, nil, "check-config", "-config", p)
		if code != 1 || !strings.Contains(o, "the value is not shown") {
			t.Errorf("check-config, %s: exit %d\n%s", c.name, code, o)
		}
		printed.WriteString(o)
	}
	code, o = runBridged(t, []string{"BRIDGED_TOKENS=" + tokEnv}, "check-config", "-config", cfgPath)
	if code != 0 {
		t.Errorf("check-config with BRIDGED_TOKENS: exit %d\n%s", code, o)
	}
	printed.WriteString(o)

	// BRIDGED_TOKENS replaces the file's token; the refusals are remembered.
	t.Setenv("BRIDGED_TOKENS", tokEnv)
	d = startDaemon(t, cfg)
	drive(d, tokEnv)
	code, o = runBridged(t, nil, "modems", "clear-pin", "-config", cfgPath, "-api", "http://"+d.addr, "m2")
	if code != 0 {
		t.Errorf("clear-pin: exit %d\n%s", code, o)
	}
	printed.WriteString(o)
	testutil.Eventually(t, "m2 tried again", func() bool { return len(w.sims[2].PINEntries()) == 2 })
	d.waitModem("m2", "sim-error", nil)
	rec.do(d, "GET", "/v1/modems", "", tokEnv)
	d.stop()
	out = d.out.String()
	printed.WriteString(out)

	for _, s := range secrets {
		if i := strings.Index(printed.String(), s); i >= 0 {
			t.Errorf("%s printed: ...%s...", s, printed.String()[max(0, i-200):min(len(printed.String()), i+100)])
		}
		if i := strings.Index(rec.all.String(), s); i >= 0 {
			t.Errorf("%s in an API answer: ...%s...", s, rec.all.String()[max(0, i-200):min(len(rec.all.String()), i+100)])
		}
	}
	if t.Failed() {
		t.Logf("API answers:\n%s", rec.all.String())
	}
}

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// The SIM PIN end to end: the simulated SIMs live in the test process and
// keep their state (tries left, PINs entered) while the real bridged binary
// is stopped and started again on the same database.

// mustPINWorld is mustWorld with a configuration per simulated modem.
func mustPINWorld(t *testing.T, cfgs ...modemsim.Config) *world {
	t.Helper()
	return mustWorldOf(t, modemsim.Options{}, cfgs...)
}

// pinConfig is the world's configuration with pin set for modem m0 (the
// last [[modem]] table when there is one modem).
func (w *world) pinConfig(pin string) string {
	return w.config(fmt.Sprintf("pin = %q\n", pin))
}

// waitModem polls GET /v1/modems until modem id is in state, after the
// condition more (nil: none) holds too.
func (d *daemon) waitModem(id, state string, more func(apiModem) bool) apiModem {
	d.t.Helper()
	var modems []apiModem
	var found apiModem
	if !testutil.UntilEvery(30*time.Second, 10*time.Millisecond, func() bool {
		modems = d.modems()
		for _, m := range modems {
			if m.ID == id && m.State == state && (more == nil || more(m)) {
				found = m
				return true
			}
		}
		return false
	}) {
		d.t.Fatalf("modem %s is not %s: %+v", id, state, modems)
	}
	return found
}

// wantEntries checks the PINs the simulated SIM got with AT+CPIN=.
func wantEntries(t *testing.T, s *modemsim.Modem, want ...string) {
	t.Helper()
	if got := s.PINEntries(); !slices.Equal(got, want) {
		t.Errorf("the SIM got AT+CPIN= with %q, want %q", got, want)
	}
}

func TestE2EWrongPINNeverEnteredAgain(t *testing.T) {
	w := mustPINWorld(t, modemsim.Config{PIN: "1234", ICCID: "89441000301234567890"})
	cfg := w.pinConfig("9999")
	for i := range 4 {
		d := startDaemon(t, cfg)
		m := d.waitModem("m0", "sim-error", nil)
		if !strings.Contains(m.LastError, "the configured PIN was refused by SIM 89441000301234567890 on ") ||
			!strings.Contains(m.LastError, "bridged modems clear-pin m0") || strings.Contains(m.LastError, "9999") {
			t.Errorf("start %d: last_error %q", i+1, m.LastError)
		}
		if m.PINAttemptsLeft == nil || *m.PINAttemptsLeft != 2 {
			t.Errorf("start %d: pin_attempts_left %v, want 2", i+1, m.PINAttemptsLeft)
		}
		if code := d.stop(); code != 0 {
			t.Errorf("start %d: exit %d", i+1, code)
		}
	}
	wantEntries(t, w.sims[0], "9999")
	if n := w.sims[0].PINTriesLeft(); n != 2 {
		t.Errorf("the SIM has %d tries left, want 2 (not blocked)", n)
	}
}

// TestE2EHangingPINNotSentAgain: the modem never answers AT+CPIN=. The SIM
// may have counted it, so neither a reconnect nor a restart sends it again.
func TestE2EHangingPINNotSentAgain(t *testing.T) {
	for _, tt := range []struct {
		name    string
		counter bool
		msg     string
	}{
		{"the SIM tells its attempts", true, "was refused by SIM"},
		{"the SIM tells nothing", false, "without an answer and may have been refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := mustPINWorld(t, modemsim.Config{PIN: "1234", NoPINCounter: !tt.counter})
			w.sims[0].SetPINHang(true)
			cfg := w.pinConfig("9999")
			d := startDaemon(t, cfg)
			m := d.waitModem("m0", "sim-error", nil)
			if !strings.Contains(m.LastError, tt.msg) || strings.Contains(m.LastError, "9999") {
				t.Errorf("last_error %q, want %q", m.LastError, tt.msg)
			}
			d.stop()
			for range 2 {
				d := startDaemon(t, cfg)
				d.waitModem("m0", "sim-error", nil)
				d.stop()
			}
			wantEntries(t, w.sims[0], "9999")
			if n := w.sims[0].PINTriesLeft(); n != 2 {
				t.Errorf("the SIM has %d tries left, want 2", n)
			}
		})
	}
}

// TestE2EChangedPINAndLastAttempt: a new configured PIN is tried once; with
// one attempt left not even the right PIN is entered.
func TestE2EChangedPINAndLastAttempt(t *testing.T) {
	w := mustPINWorld(t, modemsim.Config{PIN: "1234"})
	for _, pin := range []string{"9999", "5678", "5678"} {
		d := startDaemon(t, w.pinConfig(pin))
		d.waitModem("m0", "sim-error", nil)
		d.stop()
	}
	wantEntries(t, w.sims[0], "9999", "5678")
	d := startDaemon(t, w.pinConfig("1234"))
	m := d.waitModem("m0", "sim-error", nil)
	if !strings.Contains(m.LastError, "has 1 PIN attempt left; not entering the PIN") || m.PINAttemptsLeft == nil || *m.PINAttemptsLeft != 1 {
		t.Errorf("modem %+v", m)
	}
	wantEntries(t, w.sims[0], "9999", "5678")
	if n := w.sims[0].PINTriesLeft(); n != 1 {
		t.Errorf("the SIM has %d tries left, want 1", n)
	}
}

// TestE2EClearPIN clears a refusal through the API and the CLI of a
// running daemon (the modem tries again at once), and through the CLI with
// the daemon stopped (it tries at the next start).
func TestE2EClearPIN(t *testing.T) {
	const token = "c1ea7c1ea7c1ea7c1ea7c1ea7c1ea7c1"
	w := mustPINWorld(t, modemsim.Config{PIN: "1234"})
	cfg := strings.Replace(w.pinConfig("9999"), "[http]\n", "[http]\ntokens = [\""+token+"\"]\n", 1)
	cfgPath := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	d.token = token
	d.waitModem("m0", "sim-error", nil)
	wantEntries(t, w.sims[0], "9999")

	// The API: the modem enters the PIN again without a restart.
	var out struct {
		Cleared int `json:"cleared"`
	}
	if code := d.do("DELETE", "/v1/modems/m0/pin-refusal", nil, &out); code != http.StatusOK || out.Cleared != 1 {
		t.Fatalf("DELETE pin-refusal: %d %+v", code, out)
	}
	testutil.Eventually(t, "the PIN entered again", func() bool { return len(w.sims[0].PINEntries()) == 2 })
	d.waitModem("m0", "sim-error", nil)
	if code := d.do("DELETE", "/v1/modems/m9/pin-refusal", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown modem: %d", code)
	}
	d.token = ""
	if code := d.do("DELETE", "/v1/modems/m0/pin-refusal", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	d.token = token

	// The CLI, with the daemon running: through its API. The operator
	// unlocked the SIM in a phone first, which gave it its 3 tries back.
	w.sims[0].SetPINTries(3)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(mustBinary(t), append([]string{"modems", "clear-pin", "-config", cfgPath}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("clear-pin %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	if got := run("-api", "http://"+d.addr, "m0"); !strings.Contains(got, "the running daemon enters the configured PIN again now") {
		t.Errorf("clear-pin through the API: %q", got)
	}
	testutil.Eventually(t, "the PIN entered a third time", func() bool { return len(w.sims[0].PINEntries()) == 3 })
	d.waitModem("m0", "sim-error", nil)
	d.stop()

	// The CLI with no daemon: in the database; tried at the next start.
	if got := run("m0"); !strings.Contains(got, "PIN refusal cleared in "+filepath.Join(w.dir, "bridged.db")) {
		t.Errorf("clear-pin in the database: %q", got)
	}
	d = startDaemon(t, cfg)
	d.token = token
	d.waitModem("m0", "sim-error", func(apiModem) bool { return len(w.sims[0].PINEntries()) == 4 })
	wantEntries(t, w.sims[0], "9999", "9999", "9999", "9999")
	if n := w.sims[0].PINTriesLeft(); n != 1 {
		t.Errorf("the SIM has %d tries left, want 1", n)
	}
}

package modemsim_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bridged/modem/modemsim"
	"bridged/pdu"
)

// gammu runs the real gammu command line against a simulated modem: AT
// software nobody here wrote, with its own expectations of a modem.
type gammu struct {
	t    *testing.T
	bin  string
	conf string
}

func mustGammu(t *testing.T, path string) *gammu {
	t.Helper()
	bin, err := exec.LookPath("gammu")
	if err != nil {
		t.Skip("gammu is not installed (Debian package gammu; .ci/run installs it): skipping the check against outside AT software")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "gammurc")
	// logformat textall puts gammu's AT dialogue in its log file, which the
	// test prints when it fails.
	rc := fmt.Sprintf("[gammu]\nport = %s\nconnection = at115200\nlogfile = %s\nlogformat = textall\n", path, filepath.Join(dir, "gammu.log"))
	if err := os.WriteFile(conf, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gammu{t: t, bin: bin, conf: conf}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "gammu.log"))
			t.Logf("gammu log:\n%s", log)
		}
	})
	return g
}

// start runs gammu in the background with a deadline (exec.CommandContext
// kills it by PID if it outlives it) and returns a function that waits for
// its output, or an error with the output. Several runs go at once: gammu spends most of its time in its
// own pauses, and "go test" runs only GOMAXPROCS parallel tests.
func (g *gammu) start(args ...string) func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"-c", g.conf}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := cmd.CombinedOutput()
		done <- result{out, err}
	}()
	g.t.Cleanup(func() { cancel(); <-done })
	return func() (string, error) {
		r := <-done
		done <- r // for the cleanup
		if r.err != nil {
			return "", fmt.Errorf("gammu %s: %w\n%s", strings.Join(args, " "), r.err, r.out)
		}
		return string(r.out), nil
	}
}

// TestGammu checks the simulator against gammu, which probes a modem with
// dozens of commands bridged never sends. Each gammu run spends about 4 s
// in gammu's own pauses during its init, so all runs start at once, each
// on a modem of its own.
func TestGammu(t *testing.T) {
	t.Parallel()
	n := mustNetwork(t, modemsim.Options{})
	newGammu := func() (*modemsim.Modem, *gammu) {
		m := mustModem(t, n, modemsim.Config{})
		return m, mustGammu(t, m.Path())
	}

	_, gIdent := newGammu()
	identify := gIdent.start("identify")

	sendTests := []struct {
		name, to, text string
		args           []string
		parts          int
		m              *modemsim.Modem
		wait           func() (string, error)
	}{
		{name: "sendsms", to: "+447700900123", text: "hello from gammu [ok] €5", parts: 1},
		{name: "sendsms unicode multipart", to: "+8613800138000", text: strings.Repeat("你好，世界! ", 20), args: []string{"-unicode", "-len", "400"}, parts: 3},
	}
	for i := range sendTests {
		tt := &sendTests[i]
		var g *gammu
		tt.m, g = newGammu()
		tt.wait = g.start(append([]string{"sendsms", "TEXT", tt.to, "-text", tt.text}, tt.args...)...)
	}

	mGet, gGet := newGammu()
	for _, d := range [][2]string{{"+447700900555", "an injected message"}, {"+15550000042", "ünïcødé 😀"}} {
		if err := mGet.Deliver(d[0], d[1]); err != nil {
			t.Fatal(err)
		}
	}
	getall := gGet.start("getallsms")

	t.Run("identify", func(t *testing.T) {
		out, err := identify()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Bridged", "SimModem", "SIM1.0", "35000000", "00101"} {
			if !strings.Contains(out, want) {
				t.Errorf("identify output lacks %q:\n%s", want, out)
			}
		}
	})
	for _, tt := range sendTests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.wait()
			if err != nil {
				t.Fatal(err)
			}
			var parts []*pdu.Message
			for _, s := range n.Sent() {
				if s.From == tt.m.Number() {
					if s.To != tt.to {
						t.Errorf("sent to %q, want %q", s.To, tt.to)
					}
					parts = append(parts, s.Message)
				}
			}
			if len(parts) != tt.parts {
				t.Fatalf("network recorded %d parts from %s, want %d; gammu said:\n%s", len(parts), tt.m.Number(), tt.parts, out)
			}
			r, err := pdu.Reassemble(parts)
			if err != nil || r.Text != tt.text {
				t.Errorf("recorded text %q (%v), want %q", r.Text, err, tt.text)
			}
		})
	}
	t.Run("getallsms", func(t *testing.T) {
		out, err := getall()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"+447700900555"`, "an injected message", `"+15550000042"`, "ünïcødé 😀", "2 SMS parts in 2 SMS sequences"} {
			if !strings.Contains(out, want) {
				t.Errorf("getallsms output lacks %q:\n%s", want, out)
			}
		}
	})
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.bug.st/serial"

	"bridged/internal/ready"
	"bridged/internal/testutil"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
)

// runSim starts "bridged sim" with args in-process and returns its
// output and the control address its ready file names. The command is
// stopped, and its exit code checked, when the test ends.
func runSim(t *testing.T, args ...string) (*testutil.Buffer, string) {
	t.Helper()
	var doc ready.Sim
	r := startInProcess(t, filepath.Join(t.TempDir(), "sim.ready"), &doc, append([]string{"sim"}, args...)...)
	t.Cleanup(func() {
		if c := r.stop(); c != exitOK {
			t.Errorf("bridged sim exited %d; stderr:\n%s", c, r.stderr)
		}
	})
	return r.stdout, doc.Control
}

// openSimPort opens a simulated modem's pty as bridged would and reads it
// from a goroutine: got returns what arrived since the last reset. The port
// is closed when the test ends.
func openSimPort(t *testing.T, path string) (port serial.Port, got func() string, reset func()) {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	var received testutil.Buffer
	go func() {
		b := make([]byte, 1024)
		for {
			n, err := port.Read(b)
			received.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	return port, received.String, received.Reset
}

func ctl(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	stdout, stderr := &testutil.Buffer{}, &testutil.Buffer{}
	m := &Main{Stdout: stdout, Stderr: stderr}
	code := m.Run(context.Background(), append([]string{"sim", "ctl", "-control", addr}, args...))
	return stdout.String() + stderr.String(), code
}

func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	out, addr := runSim(t, "-n", "2", "-dir", dir, "-control", "127.0.0.1:0", "-latency", "0", "-echo-delay", "0", "-send-errors", "42")
	for _, want := range []string{"sim0", "+12015550101", filepath.Join(dir, "bridged-sim0"), "sim1", "+12015550102", "deliver sim0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if got, code := ctl(t, addr, "list"); code != 0 || !strings.Contains(got, "sim1 +12015550102 "+filepath.Join(dir, "bridged-sim1")+" plugged") {
		t.Errorf("ctl list: %d %q", code, got)
	}

	port, got, reset := openSimPort(t, filepath.Join(dir, "bridged-sim0"))
	port.Write([]byte("ATE0+CMEE=1\r"))
	testutil.Eventually(t, "ATE0 answered", func() bool { return strings.Contains(got(), "OK") })

	// An injection through the control port arrives as a stored SMS.
	if out, code := ctl(t, addr, "deliver", "sim0", "+447700900123", "Hello", "from", "the", "network"); code != 0 {
		t.Fatalf("ctl deliver: %d %q", code, out)
	}
	testutil.Eventually(t, "+CMTI for the injected SMS", func() bool { return strings.Contains(got(), `+CMTI: "SM",1`) })
	port.Write([]byte("AT+CMGR=1\r"))
	testutil.Eventually(t, "+CMGR answered", func() bool { return strings.Contains(got(), "+CMGR: 0,,") })
	testutil.Eventually(t, "+CMGR complete", func() bool { return strings.HasSuffix(got(), "OK\r\n") })
	hexPDU := regexp.MustCompile(`\+CMGR: 0,,\d+\r\n([0-9A-F]+)`).FindStringSubmatch(got())[1]
	if msg, err := pdu.Decode(hexPDU); err != nil || msg.Text != "Hello from the network" || msg.From != "+447700900123" {
		t.Errorf("injected message: %+v %v", msg, err)
	}

	// -send-errors 42 fails the first send; the second goes out and is
	// printed, as it left the network.
	enc, _ := pdu.Submit{To: "+447700900999", Text: "out we go"}.Encode()
	send := func() {
		reset()
		port.Write([]byte("AT+CMGS=" + strconv.Itoa(enc.Parts[0].Length) + "\r"))
		testutil.Eventually(t, "prompt", func() bool { return strings.Contains(got(), "> ") })
		port.Write([]byte(enc.Parts[0].PDU + "\x1a"))
		testutil.Eventually(t, "send answered", func() bool { return regexp.MustCompile(`OK\r\n|ERROR: \d+\r\n`).MatchString(got()) })
	}
	send()
	if !strings.Contains(got(), "+CMS ERROR: 42") {
		t.Errorf("first send with -send-errors 42: %q", got())
	}
	send()
	testutil.Eventually(t, "the send is printed", func() bool {
		return strings.Contains(out.String(), `sent: +12015550101 -> +447700900999 mr=0: "out we go"`)
	})
	if got, code := ctl(t, addr, "sent"); code != 0 || !strings.Contains(got, `"to":"+447700900999"`) || !strings.Contains(got, `"text":"out we go"`) {
		t.Errorf("ctl sent: %d %q", code, got)
	}

	// Faults through the control port: garbage in the next response.
	if out, code := ctl(t, addr, "garbage", "sim0", `"\x00JUNK"`); code != 0 {
		t.Fatalf("ctl garbage: %d %q", code, out)
	}
	reset()
	port.Write([]byte("AT\r"))
	testutil.Eventually(t, "AT answered", func() bool { return strings.HasSuffix(got(), "OK\r\n") })
	if got() != "\x00JUNK\r\nOK\r\n" {
		t.Errorf("AT after ctl garbage: %q", got())
	}

	if out, code := ctl(t, addr, "report", "never", "1s"); code != 0 {
		t.Errorf("ctl report: %d %q", code, out)
	}
	if out, code := ctl(t, addr, "unplug", "sim1", "1h"); code != 0 {
		t.Errorf("ctl unplug: %d %q", code, out)
	}
	if got, _ := ctl(t, addr, "list"); !strings.Contains(got, "sim1 +12015550102 "+filepath.Join(dir, "bridged-sim1")+" unplugged") {
		t.Errorf("ctl list after unplug: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "bridged-sim1")); !os.IsNotExist(err) {
		t.Errorf("sim1's path after ctl unplug: %v", err)
	}

	// Every other control command is accepted; their effects are tested on
	// the Go API they call, in package modemsim.
	raw, err := smsc.Deliver{From: "+447700900123", Text: "raw"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"urc", "sim1", "RING"}, {"flood", "sim1", "3", "+CSQN: 9,99"}, {"reg", "sim1", "searching"},
		{"errors", "sim1", "38", "42"}, {"capacity", "sim1", "SM", "5"}, {"hang", "sim1"},
		{"pdu", "sim1", raw.Parts[0].PDU}, {"help"},
	} {
		if out, code := ctl(t, addr, args...); code != 0 {
			t.Errorf("ctl %v: exit %d %q", args, code, out)
		}
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deliver", "sim9", "+1", "x"}, `no modem "sim9"`},
		{[]string{"frobnicate", "sim0"}, `unknown command "frobnicate"`},
		{[]string{"unplug", "sim0", "soon"}, "want NAME DURATION"},
		{[]string{"pdu", "sim0", "00ZZ"}, "not a hex string"},
		{[]string{"report", "maybe"}, "unknown report outcome"},
	} {
		if got, code := ctl(t, addr, tt.args...); code != exitError || !strings.Contains(got, tt.want) {
			t.Errorf("ctl %v: exit %d %q, want 1 and %q", tt.args, code, got, tt.want)
		}
	}
}

func TestSimCommandUnixSocketAndStop(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl.sock")
	r := startInProcess(t, filepath.Join(dir, "sim.ready"), &ready.Sim{}, "sim", "-dir", dir, "-control", sock, "-registration", "searching")
	if got, c := ctl(t, sock, "list"); c != 0 || !strings.Contains(got, "sim0") {
		t.Errorf("ctl over the socket: %d %q", c, got)
	}
	if c := r.stop(); c != exitOK {
		t.Fatalf("exit %d after the interrupt", c)
	}
	if _, err := os.Lstat(filepath.Join(dir, "bridged-sim0")); !os.IsNotExist(err) {
		t.Errorf("path left behind: %v", err)
	}
}

func TestSimCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-report-outcome", "maybe"},
		{"-n", "0"},
		{"-error-rate", "2"},
		{"-ack-timeout", "0s"},
		{"-send-errors", "38,x"},
		{"-registration", "lost"},
		{"-control", "10.0.0.1:7830"},
		{"extra"},
		{"ctl"},
	} {
		stderr := &testutil.Buffer{}
		m := &Main{Stdout: &testutil.Buffer{}, Stderr: stderr}
		if code := m.Run(context.Background(), append([]string{"sim"}, args...)); code != exitUsage {
			t.Errorf("sim %v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

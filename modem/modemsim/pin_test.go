package modemsim_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

func TestPINCountersAndHang(t *testing.T) {
	logs := &testutil.Buffer{}
	n := mustNetwork(t, modemsim.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	m := mustModem(t, n, modemsim.Config{PIN: "1234", ICCID: "89441000301234567890"})
	c := mustReady(t, m)
	steps := []struct{ cmd, want string }{
		{"AT+CCID", "\r\n+CCID: 89441000301234567890\r\n\r\nOK\r\n"},
		{"AT+QCCID", "\r\n+QCCID: 89441000301234567890\r\n\r\nOK\r\n"},
		{"AT^ICCID?", "\r\n^ICCID: 89441000301234567890\r\n\r\nOK\r\n"},
		{"AT+CICCID", "\r\n+ICCID: 89441000301234567890\r\n\r\nOK\r\n"},
		{`AT+CPINR="SIM PIN"`, "\r\n+CPINR: SIM PIN,3,3\r\n\r\nOK\r\n"},
		{`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n"},
		{`AT+CPINR="SIM PIN"`, "\r\n+CPINR: SIM PIN,2,3\r\n\r\nOK\r\n"},
		{"AT^CPIN?", "\r\n^CPIN: SIM PIN,2,10,2,10,3\r\n\r\nOK\r\n"},
		{`AT+QPINC="SC"`, "\r\n+QPINC: \"SC\",2,10\r\n\r\nOK\r\n"},
	}
	for _, s := range steps {
		c.write(s.cmd + "\r")
		if got := c.expect(s.want); got != s.want {
			t.Fatalf("%s: %q, want %q", s.cmd, got, s.want)
		}
	}
	// A hanging AT+CPIN= still costs the SIM an attempt.
	m.SetPINHang(true)
	c.write("AT+CPIN=\"0001\"\r")
	testutil.Wait(t, timeout, "the modem hangs", m.Hung)
	if n := m.PINTriesLeft(); n != 1 {
		t.Errorf("tries left %d, want 1", n)
	}
	if got := m.PINEntries(); !slices.Equal(got, []string{"0000", "0001"}) {
		t.Errorf("PIN entries %q", got)
	}
	c.quiet(100 * time.Millisecond) // no answer
	for _, pin := range []string{"0000", "0001"} {
		if strings.Contains(logs.String(), pin) {
			t.Errorf("the simulator logged the PIN %s:\n%s", pin, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `AT+CPIN=***`) {
		t.Errorf("no masked AT+CPIN in the log:\n%s", logs.String())
	}
}

func TestNoPINCounter(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{PIN: "1234", NoPINCounter: true})
	c := mustReady(t, m)
	for _, cmd := range []string{`AT+CPINR="SIM PIN"`, "AT^CPIN?", `AT+QPINC="SC"`} {
		if got := c.cmd(cmd); got != "\r\nERROR\r\n" {
			t.Errorf("%s: %q, want ERROR", cmd, got)
		}
	}
}

package modemsim_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/modem/modemsim"
	"bridged/pdu"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// transcript records what a client writes and reads, one quoted chunk a
// line, so a reader sees every \r\n the driver will get.
type transcript struct {
	b strings.Builder
}

func (tr *transcript) note(who, dir, s string) {
	fmt.Fprintf(&tr.b, "%s %s %s\n", who, dir, strconv.Quote(s))
}

// TestTranscript pins the exact bytes of a typical session, as a reference
// for the modem driver: init, a send with a status report, reading, an
// incoming UCS-2 message, USSD. Rewrite it with -update after an intended
// change, and read the diff.
func TestTranscript(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	n := mustNetwork(t, modemsim.Options{Clock: func() time.Time { return clock }})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	ca, cb := mustOpen(t, a.Path()), mustOpen(t, b.Path())
	var tr transcript
	cmd := func(who string, c *client, line string) {
		t.Helper()
		tr.note(who, ">", line+"\r")
		tr.note(who, "<", c.cmd(line))
	}
	expect := func(who string, c *client, s string) {
		t.Helper()
		tr.note(who, "<", c.expect(s))
	}
	for _, line := range []string{"AT", "ATE0", "AT+CMEE=1", "ATI", "AT+CPIN?", "AT+CSQ", "AT+CREG?", "AT+COPS?",
		`AT+CPMS="SM","SM","SM"`, "AT+CNMI=2,1,0,2,0", "AT+CSCA?", "AT+CMGF=0"} {
		cmd("A", ca, line)
	}
	cmd("B", cb, "ATE0")

	enc, err := pdu.Submit{To: b.Number(), Text: "hello B", StatusReport: true}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p := enc.Parts[0]
	line := fmt.Sprintf("AT+CMGS=%d\r", p.Length)
	tr.note("A", ">", line)
	ca.write(line)
	expect("A", ca, "> ")
	tr.note("A", ">", p.PDU+"\x1a")
	ca.write(p.PDU + "\x1a")
	tr.note("A", "<", ca.waitFor(finalRE))
	expect("B", cb, "\r\n+CMTI: \"SM\",1\r\n")
	expect("A", ca, "\r\n+CDSI: \"SM\",1\r\n")
	cmd("A", ca, "AT+CMGR=1")
	cmd("B", cb, "AT+CMGL=4")
	cmd("B", cb, "AT+CMGD=1")

	if err := a.Deliver("+447700900123", "Grüße 😀"); err != nil {
		t.Fatal(err)
	}
	expect("A", ca, "\r\n+CMTI: \"SM\",2\r\n")
	cmd("A", ca, "AT+CMGR=2")
	cmd("A", ca, `AT+CUSD=1,"*100#",15`)
	expect("A", ca, "\",15\r\n")

	golden := filepath.Join("testdata", "transcript.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(tr.b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := tr.b.String(); got != string(want) {
		t.Errorf("transcript differs from %s (run with -update and read the diff):\n%s", golden, got)
	}
}

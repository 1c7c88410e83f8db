package modemsim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
)

func TestEchoAndFraming(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{})
	c := mustOpen(t, m.Path())

	// Echo is on after power-up: the command comes back before the answer.
	if got := c.cmd("AT"); got != "AT\r\r\nOK\r\n" {
		t.Fatalf("AT with echo: %q", got)
	}
	// A command split across writes, and garbage before the AT prefix.
	c.write("xx\x00AT+CG")
	c.write("MI\r")
	if got := c.waitFor(finalRE); !strings.HasSuffix(got, "AT+CGMI\r\r\nBridged\r\n\r\nOK\r\n") {
		t.Fatalf("split command: %q", got)
	}
	// Several command lines in one write are answered in order.
	c.write("AT+CGMM\rAT+CGMR\r")
	if got := c.waitFor(finalRE); !strings.Contains(got, "SimModem") {
		t.Fatalf("first of two lines: %q", got)
	}
	if got := c.waitFor(finalRE); !strings.Contains(got, "SIM1.0") {
		t.Fatalf("second of two lines: %q", got)
	}
	if got := c.cmd("ATE0"); got != "ATE0\r\r\nOK\r\n" {
		t.Fatalf("ATE0 is echoed itself: %q", got)
	}
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("AT after ATE0: %q", got)
	}
	// Backspace edits the line, as on a terminal.
	if got := c.cmd("AT+CSQX\x08"); got != "\r\n+CSQ: 20,99\r\n\r\nOK\r\n" {
		t.Fatalf("backspace: %q", got)
	}
	// ATZ restores the power-up profile: echo on again.
	c.cmd("ATZ")
	if got := c.cmd("AT"); got != "AT\r\r\nOK\r\n" {
		t.Fatalf("AT after ATZ: %q", got)
	}
}

func TestCommands(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{Number: "+12015550101"})
	c := mustReady(t, m)
	tests := []struct {
		cmd  string
		want string // the whole response after echo off
	}{
		{"ATI", "\r\nBridged\r\nSimModem\r\nRevision: SIM1.0\r\n\r\nOK\r\n"},
		{"AT+CGMI", "\r\nBridged\r\n\r\nOK\r\n"},
		{"AT+CGMM", "\r\nSimModem\r\n\r\nOK\r\n"},
		{"AT+CGMR", "\r\nSIM1.0\r\n\r\nOK\r\n"},
		{"AT+CGSN", "\r\n350000000000001\r\n\r\nOK\r\n"},
		{"AT+CIMI", "\r\n001010000000001\r\n\r\nOK\r\n"},
		{"AT+CCID", "\r\n+CCID: 8900101000000000001\r\n\r\nOK\r\n"},
		{"AT+CMEE?", "\r\n+CMEE: 1\r\n\r\nOK\r\n"},
		{"AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
		{"AT+CSQ", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
		{"AT+CREG?", "\r\n+CREG: 0,1\r\n\r\nOK\r\n"},
		{"AT+CGREG?", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
		{"AT+CREG=2;+CREG?", "\r\n+CREG: 2,1,\"1A2B\",\"00C3D4E5\"\r\n\r\nOK\r\n"},
		{"AT+CREG=0", "\r\nOK\r\n"},
		{"AT+CREG=3", "\r\n+CME ERROR: 50\r\n"},
		{"AT+COPS?", "\r\n+COPS: 0,0,\"Bridged Sim\",0\r\n\r\nOK\r\n"},
		{"AT+COPS=3,0", "\r\nOK\r\n"},
		{"AT+CSCA?", "\r\n+CSCA: \"+12015550100\",145\r\n\r\nOK\r\n"},
		{"AT+CSCA=\"+15550001111\",145;+CSCA?", "\r\n+CSCA: \"+15550001111\",145\r\n\r\nOK\r\n"},
		{"AT+CMGF?", "\r\n+CMGF: 0\r\n\r\nOK\r\n"},
		{"AT+CMGF=0", "\r\nOK\r\n"},
		{"AT+CMGF=1", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CSMS?", "\r\n+CSMS: 0,1,1,1\r\n\r\nOK\r\n"},
		{"AT+CSMS=1", "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"},
		{"AT+CSMS=0", "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"},
		{"AT+CPMS?", "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"},
		{"AT+CPMS=?", "\r\n+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")\r\n\r\nOK\r\n"},
		{"AT+CPMS=\"ME\",\"ME\",\"ME\"", "\r\n+CPMS: 0,100,0,100,0,100\r\n\r\nOK\r\n"},
		{"AT+CPMS=\"XX\"", "\r\n+CMS ERROR: 302\r\n"},
		{"AT+CPMS=\"SM\",\"SM\",\"SM\"", "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"},
		{"AT+CNMI?", "\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n"},
		{"AT+CNMI=2,1,0,2,0;+CNMI?", "\r\n+CNMI: 2,1,0,2,0\r\n\r\nOK\r\n"},
		{"AT+CNMI=3,1", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CNMA", "\r\n+CMS ERROR: 340\r\n"},
		{"AT+CFUN?", "\r\n+CFUN: 1\r\n\r\nOK\r\n"},
		{"AT+CSCS?", "\r\n+CSCS: \"IRA\"\r\n\r\nOK\r\n"},
		{"AT+CMGL=?", "\r\n+CMGL: (0-4)\r\n\r\nOK\r\n"},
		{"AT+CMGL=\"ALL\"", "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CMGL=4", "\r\nOK\r\n"},
		{"AT+CMGR=1", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGR=31", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGD=1", "\r\nOK\r\n"},
		{"AT+CMGD=99", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGS=0", "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CMGS=165", "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CUSD?", "\r\n+CUSD: 0\r\n\r\nOK\r\n"},
		// Unknown commands and syntax errors are a bare ERROR whatever +CMEE says.
		{"AT+CLAC", "\r\nERROR\r\n"},
		{"AT+CMGF=0;+NOPE;+CSQ", "\r\nERROR\r\n"},
		{"AT+CSQ;+CGMI", "\r\n+CSQ: 20,99\r\n\r\nBridged\r\n\r\nOK\r\n"},
		{"AT+CMEE=2;+CREG=7", "\r\n+CME ERROR: incorrect parameters\r\n"},
		{"AT+CMEE=0;+CREG=7", "\r\nERROR\r\n"},
		{"AT+CMEE=1;+CREG=7", "\r\n+CME ERROR: 50\r\n"},
	}
	for _, tt := range tests {
		if got := c.cmd(tt.cmd); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.cmd, got, tt.want)
		}
	}
}

func TestPIN(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{PIN: "1234"})
	c := mustReady(t, m)
	c.mustOK("AT+CREG=1")
	steps := []struct{ cmd, want string }{
		{"AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"},
		{"AT+CREG?", "\r\n+CREG: 1,0\r\n\r\nOK\r\n"},
		{"AT+CIMI", "\r\n+CME ERROR: 11\r\n"},
		{"AT+CMGL=4", "\r\n+CMS ERROR: 311\r\n"},
		{"AT+CMGS=10", "\r\n+CMS ERROR: 311\r\n"},
		{"AT+CPIN=\"0000\"", "\r\n+CME ERROR: 16\r\n"},
		{"AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"},
		// The right PIN registers the modem, which +CREG=1 reports.
		{"AT+CPIN=\"1234\"", "\r\nOK\r\n\r\n+CREG: 1\r\n"},
		{"AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
		{"AT+CPIN=\"1234\"", "\r\n+CME ERROR: 3\r\n"},
		{"AT+CIMI", "\r\n001010000000001\r\n\r\nOK\r\n"},
	}
	for _, s := range steps {
		c.write(s.cmd + "\r")
		if got := c.expect(s.want); got != s.want {
			t.Fatalf("%s: %q, want %q", s.cmd, got, s.want)
		}
	}

	// Three wrong PINs lock the SIM until the PUK sets a new PIN.
	m2 := mustModem(t, n, modemsim.Config{PIN: "1234"})
	c2 := mustReady(t, m2)
	for i, want := range []string{"16", "16", "12"} {
		if got := c2.cmd(`AT+CPIN="9999"`); got != "\r\n+CME ERROR: "+want+"\r\n" {
			t.Fatalf("wrong PIN %d: %q", i+1, got)
		}
	}
	if got := c2.cmd("AT+CPIN?"); !strings.Contains(got, "+CPIN: SIM PUK") {
		t.Fatalf("after three wrong PINs: %q", got)
	}
	c2.mustOK(`AT+CPIN="12345678","4321"`)
	if got := c2.cmd("AT+CPIN?"); !strings.Contains(got, "READY") {
		t.Fatalf("after the PUK: %q", got)
	}
}

// sendPDU runs AT+CMGS for one part and returns the final response.
func sendPDU(c *client, p pdu.Part) string {
	c.t.Helper()
	c.write(fmt.Sprintf("AT+CMGS=%d\r", p.Length))
	c.expect("\r\n> ")
	c.write(p.PDU + "\x1a")
	return c.waitFor(finalRE)
}

var cmgsRE = regexp.MustCompile(`^\r\n\+CMGS: (\d+)\r\n\r\nOK\r\n$`)

// mustSend sends text as an SMS and returns the message references.
func mustSend(c *client, s pdu.Submit) []int {
	c.t.Helper()
	enc, err := s.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	var refs []int
	for i, p := range enc.Parts {
		got := sendPDU(c, p)
		sm := cmgsRE.FindStringSubmatch(got)
		if sm == nil {
			c.t.Fatalf("send part %d: %q", i+1, got)
		}
		mr, _ := strconv.Atoi(sm[1])
		refs = append(refs, mr)
	}
	return refs
}

var cmtiRE = regexp.MustCompile(`\r\n\+CMTI: "(SM|ME)",(\d+)\r\n`)

// readStored reads one stored message with +CMGR and decodes it.
func readStored(c *client, index string) (int, *pdu.Message) {
	c.t.Helper()
	got := c.cmd("AT+CMGR=" + index)
	sm := regexp.MustCompile(`\r\n\+CMGR: (\d),,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n$`).FindStringSubmatch(got)
	if sm == nil {
		c.t.Fatalf("AT+CMGR=%s: %q", index, got)
	}
	msg, err := pdu.Decode(sm[3])
	if err != nil {
		c.t.Fatalf("AT+CMGR=%s: %v", index, err)
	}
	stat, _ := strconv.Atoi(sm[1])
	if l, _ := strconv.Atoi(sm[2]); l != len(sm[3])/2-1-int(mustHexByte(sm[3][:2])) {
		c.t.Errorf("AT+CMGR=%s: length %d does not match the PDU", index, l)
	}
	return stat, msg
}

func mustHexByte(s string) byte {
	v, _ := strconv.ParseUint(s, 16, 8)
	return byte(v)
}

func TestModemToModem(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	ca, cb := mustReady(t, a), mustReady(t, b)
	tests := []struct {
		name  string
		to    string
		text  string
		parts int
		enc   pdu.Encoding
	}{
		{name: "gsm7", to: b.Number(), text: "Hello B, this is A. {braces} cost two septets", parts: 1, enc: pdu.GSM7},
		{name: "national format", to: strings.TrimPrefix(b.Number(), "+"), text: "no plus", parts: 1, enc: pdu.GSM7},
		{name: "gsm7 multipart", to: b.Number(), text: strings.Repeat("A long message. ", 25), parts: 3, enc: pdu.GSM7},
		{name: "ucs2", to: b.Number(), text: "Привет, мир 👋", parts: 1, enc: pdu.UCS2},
		{name: "ucs2 multipart", to: b.Number(), text: strings.Repeat("長いメッセージ😀", 20), parts: 3, enc: pdu.UCS2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca.t, cb.t = t, t
			mustSend(ca, pdu.Submit{To: tt.to, Text: tt.text, Ref: uint8(i)})
			// All indications first: a +CMTI that arrives while B reads
			// would be taken as part of that response.
			var indexes []string
			for range tt.parts {
				indexes = append(indexes, cmtiRE.FindStringSubmatch(cb.waitFor(cmtiRE))[2])
			}
			var msgs []*pdu.Message
			for _, idx := range indexes {
				stat, msg := readStored(cb, idx)
				if stat != modemsim.StatUnread || msg.Type != pdu.TypeDeliver || msg.From != a.Number() || msg.Encoding != tt.enc || msg.SMSC != modemsim.DefaultSMSC {
					t.Errorf("stored stat %d %+v", stat, msg)
				}
				if (tt.parts > 1) != (msg.Concat != nil) {
					t.Errorf("concat %+v for %d parts", msg.Concat, tt.parts)
				}
				msgs = append(msgs, msg)
			}
			r, err := pdu.Reassemble(msgs)
			if err != nil || !r.Complete || r.Text != tt.text {
				t.Fatalf("B got %q (%+v, %v), want %q", r.Text, r, err, tt.text)
			}
			// Reading marked them read; delete them all for the next case.
			if got := cb.cmd("AT+CMGL=0"); got != "\r\nOK\r\n" {
				t.Errorf("unread after +CMGR: %q", got)
			}
			cb.mustOK("AT+CMGD=1,4")
		})
	}
	if len(n.Sent()) != 0 {
		t.Errorf("messages between simulated modems were recorded as leaving the network: %+v", n.Sent())
	}
}

func TestDirectDelivery(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	ca, cb := mustReady(t, a), mustReady(t, b)
	// <mt> 2: the SMS-DELIVER goes straight to the client, nothing stored.
	cb.mustOK("AT+CSMS=1")
	cb.mustOK("AT+CNMI=2,2,0,0,0")
	mustSend(ca, pdu.Submit{To: b.Number(), Text: "direct"})
	got := cb.waitFor(regexp.MustCompile(`\r\n\+CMT: ,(\d+)\r\n([0-9A-F]+)\r\n`))
	sm := regexp.MustCompile(`\+CMT: ,(\d+)\r\n([0-9A-F]+)`).FindStringSubmatch(got)
	msg, err := pdu.Decode(sm[2])
	if err != nil || msg.Text != "direct" || msg.From != a.Number() {
		t.Fatalf("+CMT: %q: %+v %v", got, msg, err)
	}
	if len(b.Stored("SM")) != 0 {
		t.Errorf("+CMT message was also stored: %+v", b.Stored("SM"))
	}
	// +CSMS=1 expects an acknowledgement, once.
	cb.mustOK("AT+CNMA")
	if got := cb.cmd("AT+CNMA"); got != "\r\n+CMS ERROR: 340\r\n" {
		t.Errorf("second +CNMA: %q", got)
	}

	// <mode> 0 buffers indications in the modem until +CNMI turns them on.
	cb.mustOK("AT+CNMI=0,1")
	if err := b.Deliver("+447700900999", "buffered"); err != nil {
		t.Fatal(err)
	}
	// Deliver has stored the message before it returns; a +CMTI would be
	// queued ahead of this answer.
	if got := cb.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("indication with +CNMI mode 0: %q", got)
	}
	cb.mustOK("AT+CNMI=2,1,0,0,0")
	if got := cb.expect("\r\n+CMTI: \"SM\",1\r\n"); got != "\r\n+CMTI: \"SM\",1\r\n" {
		t.Fatalf("buffered indication after +CNMI=2: %q", got)
	}
	// <mt> 0: stored without indication.
	cb.mustOK("AT+CNMI=2,0")
	if err := b.Deliver("+447700900999", "silent"); err != nil {
		t.Fatal(err)
	}
	if got := cb.cmd("AT+CMGL=0"); !strings.Contains(got, "+CMGL: 2,0,,") {
		t.Fatalf("silently stored message: %q", got)
	}
}

func TestStatusReports(t *testing.T) {
	tests := []struct {
		name    string
		opts    modemsim.Options
		ds      int
		status  int // -1: no report
		outcome pdu.Outcome
	}{
		{name: "delivered +CDS", opts: modemsim.Options{ReportDelay: 30 * time.Millisecond}, ds: 1, status: 0, outcome: pdu.OutcomeDelivered},
		{name: "delivered +CDSI", ds: 2, status: 0, outcome: pdu.OutcomeDelivered},
		{name: "failed", opts: modemsim.Options{ReportOutcome: modemsim.ReportFailed}, ds: 1, status: 0x41, outcome: pdu.OutcomeFailed},
		{name: "never", opts: modemsim.Options{ReportOutcome: modemsim.ReportNever}, ds: 1, status: -1},
	}
	for _, tt := range tests {
		for _, external := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s external=%v", tt.name, external), func(t *testing.T) {
				n := mustNetwork(t, tt.opts)
				a := mustModem(t, n, modemsim.Config{MessageRef: 200})
				b := mustModem(t, n, modemsim.Config{})
				ca := mustReady(t, a)
				ca.mustOK(fmt.Sprintf("AT+CNMI=2,1,0,%d,0", tt.ds))
				to := b.Number()
				if external {
					to = "+447700900123"
				}
				start := time.Now()
				refs := mustSend(ca, pdu.Submit{To: to, Text: "report please", StatusReport: true})
				if tt.status < 0 {
					ca.quiet(100 * time.Millisecond)
					return
				}
				var hexPDU string
				if tt.ds == 1 {
					got := ca.waitFor(regexp.MustCompile(`\r\n\+CDS: \d+\r\n[0-9A-F]+\r\n`))
					hexPDU = regexp.MustCompile(`[0-9A-F]{20,}`).FindString(got)
				} else {
					got := ca.waitFor(regexp.MustCompile(`\r\n\+CDSI: "SM",\d+\r\n`))
					idx := regexp.MustCompile(`\d+\r\n$`).FindString(got)
					_, msg := readStored(ca, strings.TrimSpace(idx))
					hexPDU = a.Stored("SM")[0].PDU
					if msg.Type != pdu.TypeStatusReport {
						t.Fatalf("+CDSI message is a %s", msg.Type)
					}
				}
				if elapsed := time.Since(start); elapsed < tt.opts.ReportDelay {
					t.Errorf("report after %s, before the %s delay", elapsed, tt.opts.ReportDelay)
				}
				msg, err := pdu.Decode(hexPDU)
				if err != nil {
					t.Fatal(err)
				}
				if msg.Type != pdu.TypeStatusReport || *msg.MessageRef != refs[0] || refs[0] != 200 || *msg.Status != tt.status ||
					msg.Outcome != tt.outcome || !sameDigits(msg.Recipient, to) {
					t.Errorf("report %+v for ref %d to %s", msg, refs[0], to)
				}
				if got := len(b.Stored("SM")); !external && tt.outcome == pdu.OutcomeFailed && got != 0 {
					t.Errorf("failed message reached B: %d stored", got)
				}
				if got := len(b.Stored("SM")); !external && tt.outcome == pdu.OutcomeDelivered && got != 1 {
					t.Errorf("delivered message: B has %d stored", got)
				}
			})
		}
	}
}

func TestSetReports(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	ca := mustReady(t, a)
	ca.mustOK("AT+CNMI=2,1,0,1,0")
	cdsRE := regexp.MustCompile(`\r\n\+CDS: \d+\r\n([0-9A-F]+)\r\n`)
	for _, tt := range []struct {
		outcome modemsim.ReportOutcome
		status  int
	}{{modemsim.ReportFailed, 0x41}, {modemsim.ReportDelivered, 0}} {
		n.SetReports(tt.outcome, 0)
		mustSend(ca, pdu.Submit{To: "+447700900123", Text: "x", StatusReport: true})
		msg, err := pdu.Decode(cdsRE.FindStringSubmatch(ca.waitFor(cdsRE))[1])
		if err != nil || *msg.Status != tt.status {
			t.Errorf("outcome %d: report %+v %v, want status %#x", tt.outcome, msg, err, tt.status)
		}
	}
}

func sameDigits(a, b string) bool { return strings.TrimPrefix(a, "+") == strings.TrimPrefix(b, "+") }

func TestSentOutside(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{MessageRef: 254})
	ca := mustReady(t, a)
	// Three parts: the references 254, 255, 0 show the wrap.
	text := strings.Repeat("x", 153*2+10)
	refs := mustSend(ca, pdu.Submit{To: "+447700900123", Text: text, Ref: 77})
	if fmt.Sprint(refs) != "[254 255 0]" {
		t.Errorf("message references %v, want [254 255 0]", refs)
	}
	sent, err := n.WaitSent(ctx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*pdu.Message
	for i, s := range sent {
		if s.From != a.Number() || s.To != "+447700900123" || s.MessageRef != refs[i] || *s.Message.MessageRef != refs[i] {
			t.Errorf("record %d: %+v", i, s)
		}
		if m, err := pdu.Decode(s.PDU); err != nil || m.Text != s.Message.Text {
			t.Errorf("record %d: raw PDU decodes to %+v, %v", i, m, err)
		}
		msgs = append(msgs, s.Message)
	}
	if r, err := pdu.Reassemble(msgs); err != nil || r.Text != text {
		t.Errorf("recorded text %q, %v", r.Text, err)
	}
}

// TestKeepSent: a network that keeps the last 3 parts forgets older ones,
// while WaitSent still counts every part and Seq numbers them all.
func TestKeepSent(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{KeepSent: 3})
	ca := mustReady(t, mustModem(t, n, modemsim.Config{}))
	for i := range 8 {
		mustSend(ca, pdu.Submit{To: "+447700900123", Text: fmt.Sprint("message ", i)})
	}
	sent, err := n.WaitSent(ctx(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sent {
		got = append(got, fmt.Sprintf("%d:%s", s.Seq, s.Message.Text))
	}
	if want := "[6:message 5 7:message 6 8:message 7]"; fmt.Sprint(got) != want {
		t.Errorf("kept %v, want %s", got, want)
	}
	if fmt.Sprint(n.Sent()) != fmt.Sprint(sent) {
		t.Errorf("Sent %v, WaitSent %v", n.Sent(), sent)
	}
	// A cursor reads what follows it; one older than the kept parts gets
	// them all, so its reader sees the gap by the first Seq.
	for _, tt := range []struct{ after, first, count int }{{0, 6, 3}, {5, 6, 3}, {6, 7, 2}, {7, 8, 1}, {8, 0, 0}, {99, 0, 0}} {
		got := n.SentAfter(tt.after)
		if len(got) != tt.count || len(got) > 0 && got[0].Seq != tt.first {
			t.Errorf("SentAfter(%d) = %v, want %d parts from %d", tt.after, got, tt.count, tt.first)
		}
	}
	if got := n.SentTotal(); got != 8 {
		t.Errorf("SentTotal %d, want 8", got)
	}
}

func TestCMGSPrompt(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	ca := mustReady(t, a)
	enc, err := pdu.Submit{To: "+447700900123", Text: "prompt"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p := enc.Parts[0]
	tests := []struct {
		name  string
		len   int
		input string
		want  string
	}{
		{name: "declared length too long", len: p.Length + 1, input: p.PDU + "\x1a", want: "\r\n+CMS ERROR: 304\r\n"},
		{name: "declared length too short", len: p.Length - 1, input: p.PDU + "\x1a", want: "\r\n+CMS ERROR: 304\r\n"},
		{name: "not hex", len: p.Length, input: "XYZ\x1a", want: "\r\n+CMS ERROR: 304\r\n"},
		{name: "a deliver, not a submit", len: 15, input: "0004038121F300006210101000000000\x1a", want: "\r\n+CMS ERROR: 304\r\n"},
		{name: "ESC cancels", len: p.Length, input: p.PDU[:10] + "\x1b", want: "\r\nOK\r\n"},
		{name: "line ends ignored", len: p.Length, input: p.PDU[:10] + "\r\n" + p.PDU[10:] + "\x1a", want: "\r\n+CMGS: 0\r\n\r\nOK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca.t = t
			ca.write(fmt.Sprintf("AT+CMGS=%d\r", tt.len))
			ca.expect("\r\n> ")
			ca.write(tt.input)
			if got := ca.waitFor(finalRE); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := len(n.Sent()); got != 1 {
		t.Errorf("%d messages sent, want only the last", got)
	}
	// With echo on, the PDU is echoed as it is typed.
	ca.t = t
	ca.mustOK("ATE1")
	ca.write(fmt.Sprintf("AT+CMGS=%d\r", p.Length))
	ca.expect(fmt.Sprintf("AT+CMGS=%d\r\r\n> ", p.Length))
	ca.write(p.PDU + "\x1a")
	if got := ca.waitFor(finalRE); got != p.PDU+"\r\n+CMGS: 1\r\n\r\nOK\r\n" {
		t.Errorf("echoed send: %q", got)
	}
}

func TestEchoPhone(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	ca := mustReady(t, a)
	for _, text := range []string{"ping", strings.Repeat("multipart ping ", 15)} {
		mustSend(ca, pdu.Submit{To: modemsim.EchoNumber, Text: text, Ref: 5})
		want := "Echo: " + text
		var indexes []string
		for range pdu.Estimate(want, pdu.Options{}).Parts {
			indexes = append(indexes, cmtiRE.FindStringSubmatch(ca.waitFor(cmtiRE))[2])
		}
		var msgs []*pdu.Message
		for _, idx := range indexes {
			_, msg := readStored(ca, idx)
			if msg.From != modemsim.EchoNumber {
				t.Fatalf("reply from %q", msg.From)
			}
			msgs = append(msgs, msg)
		}
		if r, err := pdu.Reassemble(msgs); err != nil || r.Text != want {
			t.Errorf("echo reply %q, %v; want %q", r.Text, err, want)
		}
	}
}

func TestStorage(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{SMCapacity: 2})
	c := mustReady(t, m)
	for i := range 3 {
		if err := m.Deliver("+447700900001", fmt.Sprintf("message %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	// Two fit; the network holds the third while the SIM is full.
	c.expect("\r\n+CMTI: \"SM\",1\r\n")
	c.expect("\r\n+CMTI: \"SM\",2\r\n")
	if got := c.cmd("AT+CPMS?"); !strings.Contains(got, `+CPMS: "SM",2,2,"SM",2,2,"SM",2,2`) {
		t.Fatalf("full SIM: %q", got)
	}
	if m.Pending() != 1 {
		t.Fatalf("network holds %d, want 1", m.Pending())
	}
	if _, msg := readStored(c, "1"); msg.Text != "message 1" {
		t.Fatalf("slot 1: %q", msg.Text)
	}
	// +CMGL=4 lists both with their status; listing marks unread as read.
	got := c.cmd("AT+CMGL=4")
	if !regexp.MustCompile(`^\r\n\+CMGL: 1,1,,\d+\r\n[0-9A-F]+\r\n\+CMGL: 2,0,,\d+\r\n[0-9A-F]+\r\n\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("+CMGL=4: %q", got)
	}
	if got := c.cmd("AT+CMGL=0"); got != "\r\nOK\r\n" {
		t.Fatalf("+CMGL=0 after listing: %q", got)
	}
	if got := c.cmd("AT+CMGL=1"); strings.Count(got, "+CMGL: ") != 2 {
		t.Fatalf("+CMGL=1 lists the two read messages: %q", got)
	}
	// Nothing was written with +CMGW, so there is nothing stored unsent or sent.
	for _, cmd := range []string{"AT+CMGL=2", "AT+CMGL=3"} {
		if got := c.cmd(cmd); got != "\r\nOK\r\n" {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	if got := c.cmd("AT+CMGL=5"); got != "\r\n+CMS ERROR: 304\r\n" {
		t.Fatalf("+CMGL=5: %q", got)
	}
	if got := c.cmd("AT+CMGD=1,5"); got != "\r\n+CMS ERROR: 304\r\n" {
		t.Fatalf("+CMGD=1,5: %q", got)
	}
	if got := c.cmd("AT+CMGD=?"); !strings.Contains(got, "+CMGD: (1,2),(0-4)") {
		t.Fatalf("+CMGD=?: %q", got)
	}
	// Deleting frees a slot and the held message arrives in it.
	c.mustOK("AT+CMGD=1")
	if got := c.expect("\r\n+CMTI: \"SM\",1\r\n"); got != "\r\n+CMTI: \"SM\",1\r\n" {
		t.Fatalf("after a delete on a full SIM: %q", got)
	}
	if _, msg := readStored(c, "1"); msg.Text != "message 3" || m.Pending() != 0 {
		t.Fatalf("slot 1 after the delete: %q, %d held", msg.Text, m.Pending())
	}

	// The ME memory, chosen as receive memory with +CPMS.
	c.mustOK(`AT+CPMS="ME","ME","ME"`)
	if err := m.Deliver("MyBank", "code 1234"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"ME\",1\r\n")
	if _, msg := readStored(c, "1"); msg.From != "MyBank" {
		t.Fatalf("ME slot 1 from %q", msg.From)
	}
	// delflag 1 deletes read messages only.
	if err := m.Deliver("+447700900001", "unread"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"ME\",2\r\n")
	c.mustOK("AT+CMGD=0,1")
	if st := m.Stored("ME"); len(st) != 1 || st[0].Index != 2 || st[0].Stat != modemsim.StatUnread {
		t.Fatalf("after +CMGD=0,1: %+v", st)
	}
	// delflags 2 and 3 also spare unread messages.
	c.mustOK("AT+CMGD=0,2")
	c.mustOK("AT+CMGD=0,3")
	if st := m.Stored("ME"); len(st) != 1 {
		t.Fatalf("after +CMGD=0,2 and 0,3: %+v", st)
	}
	c.mustOK("AT+CMGD=0,4")
	if st := m.Stored("ME"); len(st) != 0 {
		t.Fatalf("after +CMGD=0,4: %+v", st)
	}
	// SetCapacity fills the SIM from Go: the storage full fault.
	c.mustOK(`AT+CPMS="SM","SM","SM"`)
	if err := m.SetCapacity("SM", 2); err != nil {
		t.Fatal(err)
	}
	if err := m.Deliver("+447700900001", "held"); err != nil {
		t.Fatal(err)
	}
	if m.Pending() != 1 {
		t.Fatalf("held %d with the SIM full", m.Pending())
	}
	if err := m.SetCapacity("SM", 3); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",3\r\n")
}

func TestCUSDAndCFUN(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{Balance: "Balance: 5.00 EUR"})
	c := mustReady(t, m)
	if got := c.cmd(`AT+CUSD=1,"*100#",15`); got != "\r\nOK\r\n" {
		t.Fatalf("+CUSD: %q", got)
	}
	c.expect("\r\n+CUSD: 0,\"Balance: 5.00 EUR\",15\r\n")
	c.mustOK(`AT+CSCS="UCS2"`)
	c.mustOK(`AT+CUSD=1,"002A0031003000300023",15`)
	// With +CSCS="UCS2" the answer is hex UTF-16 with DCS 72.
	c.expect("\r\n+CUSD: 0,\"00420061006C0061006E00630065003A00200035002E003000300020004500550052\",72\r\n")
	c.mustOK(`AT+CSCS="GSM"`)

	// Flight mode deregisters: no sends, +CREG reports it.
	c.mustOK("AT+CREG=1")
	if got := c.cmd("AT+CFUN=4"); got != "\r\nOK\r\n" {
		// The URC may follow the OK; it must not come before it.
		t.Fatalf("+CFUN=4: %q", got)
	}
	c.expect("\r\n+CREG: 0\r\n")
	if got := c.cmd("AT+CSQ"); !strings.Contains(got, "+CSQ: 99,99") {
		t.Errorf("signal in flight mode: %q", got)
	}
	if got := c.cmd(`AT+CUSD=1,"*100#",15`); got != "\r\n+CME ERROR: 30\r\n" {
		t.Errorf("+CUSD in flight mode: %q", got)
	}
	c.mustOK("AT+CFUN=1")
	c.expect("\r\n+CREG: 1\r\n")
	// +CFUN=1,1 resets: echo is back on.
	c.mustOK("AT+CFUN=1,1")
	if got := c.cmd("AT"); got != "AT\r\r\nOK\r\n" {
		t.Errorf("after reset: %q", got)
	}
}

func TestRegistration(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	ca, cb := mustReady(t, a), mustReady(t, b)
	ca.mustOK("AT+CREG=2;+CGREG=1")
	a.SetRegistration(modemsim.RegSearching)
	ca.expect("\r\n+CREG: 2\r\n")
	ca.expect("\r\n+CGREG: 2\r\n")
	if got := ca.cmd("AT+COPS?"); got != "\r\n+COPS: 0\r\n\r\nOK\r\n" {
		t.Errorf("+COPS? while searching: %q", got)
	}
	enc, _ := pdu.Submit{To: b.Number(), Text: "no network"}.Encode()
	if got := sendPDU(ca, enc.Parts[0]); got != "\r\n+CMS ERROR: 331\r\n" {
		t.Errorf("send while searching: %q", got)
	}
	// B sends to A while A is off the network: the network holds it.
	mustSend(cb, pdu.Submit{To: a.Number(), Text: "held"})
	if a.Pending() != 1 {
		t.Fatalf("held for A: %d", a.Pending())
	}
	a.SetRegistration(modemsim.RegRoaming)
	ca.expect("\r\n+CREG: 5,\"1A2B\",\"00C3D4E5\"\r\n")
	ca.expect("\r\n+CGREG: 5\r\n")
	ca.expect("\r\n+CMTI: \"SM\",1\r\n")
	mustSend(ca, pdu.Submit{To: b.Number(), Text: "roaming works"})
}

func TestSendFaults(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{Seed: 1})
	a := mustModem(t, n, modemsim.Config{})
	ca := mustReady(t, a)
	enc, _ := pdu.Submit{To: "+447700900123", Text: "fault"}.Encode()
	a.SetSendErrors(38, 42, 0, 500)
	for i, want := range []string{"+CMS ERROR: 38", "+CMS ERROR: 42", "+CMGS: 0", "+CMS ERROR: 500", "+CMGS: 1"} {
		if got := sendPDU(ca, enc.Parts[0]); !strings.Contains(got, want) {
			t.Errorf("send %d: %q, want %s", i+1, got, want)
		}
	}
	a.SetSendErrorRate(1, 42)
	if got := sendPDU(ca, enc.Parts[0]); got != "\r\n+CMS ERROR: 42\r\n" {
		t.Errorf("with rate 1: %q", got)
	}
	// A probability of one half fails some and not all of 40 sends.
	a.SetSendErrorRate(0.5, 38, 500)
	failed := 0
	for range 40 {
		if got := sendPDU(ca, enc.Parts[0]); strings.Contains(got, "ERROR") {
			failed++
		}
	}
	if failed == 0 || failed == 40 {
		t.Errorf("%d of 40 sends failed at rate 0.5", failed)
	}
	a.SetSendErrorRate(0)
	// Latency delays the answer, not the prompt.
	a.SetSendLatency(150 * time.Millisecond)
	start := time.Now()
	if got := sendPDU(ca, enc.Parts[0]); !strings.Contains(got, "+CMGS:") {
		t.Fatalf("slow send: %q", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("send answered after %s, latency 150ms", d)
	}
}

func TestHang(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{})
	c := mustReady(t, m)
	m.Hang()
	c.write("AT\r")
	c.quiet(200 * time.Millisecond)
	if err := m.Deliver("+447700900001", "while hung"); err != nil {
		t.Fatal(err)
	}
	c.quiet(50 * time.Millisecond)
	// Reopening the port ends the hang; the message arrived meanwhile.
	c.close()
	testutil.Wait(t, timeout, "the modem sees the port closed", func() bool { return !m.Hung() })
	c = mustOpen(t, m.Path())
	if got := c.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("AT after reopening: %q", got)
	}
	if len(m.Stored("SM")) != 1 {
		t.Errorf("stored while hung: %+v", m.Stored("SM"))
	}
}

func TestUnplug(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{PIN: "1234"})
	c := mustReady(t, m)
	c.mustOK(`AT+CPIN="1234"`)
	if err := m.Deliver("+447700900001", "kept on the SIM"); err != nil {
		t.Fatal(err)
	}
	m.Unplug(300 * time.Millisecond)
	if _, err := os.Lstat(m.Path()); !os.IsNotExist(err) {
		t.Errorf("path still there after the unplug: %v", err)
	}
	if err := c.readEnded(); err == nil {
		t.Error("read ended without an error")
	}
	testutil.Wait(t, timeout, "replug", func() bool {
		_, err := os.Stat(m.Path())
		return err == nil && m.Plugged()
	})
	c = mustOpen(t, m.Path())
	// A power-up: echo on, PIN required again, the SIM's messages kept.
	if got := c.cmd("AT"); got != "AT\r\r\nOK\r\n" {
		t.Errorf("AT after replug: %q", got)
	}
	c.mustOK("ATE0")
	if got := c.cmd("AT+CPIN?"); !strings.Contains(got, "SIM PIN") {
		t.Errorf("PIN after replug: %q", got)
	}
	c.mustOK(`AT+CPIN="1234"`)
	if got := c.cmd("AT+CMGL=4"); !strings.Contains(got, "+CMGL: 1,0,,") {
		t.Errorf("SIM after replug: %q", got)
	}
}

func TestGarbageAndURCs(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{})
	c := mustReady(t, m)
	m.InjectGarbage([]byte("\x00\xffNO\x13ISE"))
	m.InjectURC("RING")
	want := "\r\n+CSQ: 20,99\r\n\x00\xffNO\x13ISE\r\nRING\r\n\r\nOK\r\n"
	if got := c.cmd("AT+CSQ"); got != want {
		t.Errorf("response with garbage: %q, want %q", got, want)
	}
	if got := c.cmd("AT+CSQ"); got != "\r\n+CSQ: 20,99\r\n\r\nOK\r\n" {
		t.Errorf("the next response is clean: %q", got)
	}
	m.FloodURCs(500, "")
	got := c.cmd("AT+CGMI")
	if k := strings.Count(got, "\r\n+CSQN: 20,99\r\n"); k != 500 {
		t.Errorf("%d URCs of 500 before the answer", k)
	}
	if !strings.HasSuffix(got, "\r\nBridged\r\n\r\nOK\r\n") {
		t.Errorf("answer after the flood: %q", got[max(0, len(got)-60):])
	}
}

func TestNetworkAPI(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	if a.Name() != "sim0" || a.Number() != "+12015550101" || !strings.HasSuffix(a.Path(), "/bridged-sim0") {
		t.Errorf("defaults: %s %s %s", a.Name(), a.Number(), a.Path())
	}
	if _, err := n.AddModem(modemsim.Config{Number: a.Number()}); err == nil {
		t.Error("a second modem with the same number was added")
	}
	if _, err := n.AddModem(modemsim.Config{Number: modemsim.EchoNumber}); err == nil {
		t.Error("a modem took the echo phone's number")
	}
	if err := a.DeliverPDU("0011000B915155000000F20000AA0161"); err == nil {
		t.Error("DeliverPDU accepted an SMS-SUBMIT")
	}
	if err := a.Deliver("+1555", ""); err == nil {
		t.Error("Deliver accepted an empty text")
	}
	if err := a.SetCapacity("XX", 1); err == nil {
		t.Error("SetCapacity accepted memory XX")
	}
	if n.Modem("sim0") != a || len(n.Modems()) != 1 {
		t.Errorf("lookup: %v %v", n.Modem("sim0"), n.Modems())
	}
	// A raw PDU is stored as given.
	d, err := smsc.Deliver{From: "+447700900001", Text: "raw"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeliverPDU(d.Parts[0].PDU); err != nil {
		t.Fatal(err)
	}
	if st := a.Stored("SM"); len(st) != 1 || st[0].PDU != d.Parts[0].PDU || st[0].Length != d.Parts[0].Length {
		t.Errorf("stored %+v, want %+v", st, d.Parts[0])
	}
	// A path taken by a regular file is not overwritten.
	taken := filepath.Join(t.TempDir(), "ttyUSB0")
	if err := os.WriteFile(taken, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddModem(modemsim.Config{Path: taken}); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("AddModem over a regular file: %v", err)
	}
	// A path in a directory that does not exist yet.
	deep, err := n.AddModem(modemsim.Config{Path: filepath.Join(t.TempDir(), "by-id", "usb-Bridged_Sim")})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, deep.Path()).mustOK("AT")
	deep.Close()
	a.Close()
	if _, err := os.Lstat(a.Path()); !os.IsNotExist(err) {
		t.Errorf("path after Close: %v", err)
	}
	if len(n.Modems()) != 0 {
		t.Errorf("closed modem still listed")
	}
}

// TestURCsWaitForTheFinalResult sends an SMS to the sender's own number:
// the network delivers it while +CMGS is still open, and the +CMTI must
// follow the final result code, not split the response (TS 27.007 4.1).
func TestURCsWaitForTheFinalResult(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{SendLatency: 20 * time.Millisecond})
	a := mustModem(t, n, modemsim.Config{})
	ca := mustReady(t, a)
	ca.mustOK("AT+CNMI=2,1,0,1,0")
	enc, _ := pdu.Submit{To: a.Number(), Text: "note to self", StatusReport: true}.Encode()
	if got := sendPDU(ca, enc.Parts[0]); got != "\r\n+CMGS: 0\r\n\r\nOK\r\n" {
		t.Fatalf("send to self: %q", got)
	}
	ca.expect("\r\n+CMTI: \"SM\",1\r\n")
	got := ca.waitFor(regexp.MustCompile(`\r\n\+CDS: \d+\r\n[0-9A-F]+\r\n`))
	if !strings.HasPrefix(got, "\r\n+CDS: ") {
		t.Errorf("unexpected output before the status report: %q", got)
	}
}

func TestWriteAndSendFromStorage(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{SMCapacity: 2})
	c := mustReady(t, m)
	enc, _ := pdu.Submit{To: "+447700900123", Text: "drafted"}.Encode()
	p := enc.Parts[0]
	c.write(fmt.Sprintf("AT+CMGW=%d\r", p.Length))
	c.expect("\r\n> ")
	c.write(p.PDU + "\x1a")
	if got := c.waitFor(finalRE); got != "\r\n+CMGW: 1\r\n\r\nOK\r\n" {
		t.Fatalf("+CMGW: %q", got)
	}
	if got := c.cmd("AT+CMGL=2"); !strings.Contains(got, "+CMGL: 1,2,,"+strconv.Itoa(p.Length)+"\r\n"+p.PDU+"\r\n") {
		t.Fatalf("+CMGL=2 after +CMGW: %q", got)
	}
	if got := c.cmd("AT+CMSS=1"); got != "\r\n+CMSS: 0\r\n\r\nOK\r\n" {
		t.Fatalf("+CMSS=1: %q", got)
	}
	sent := n.Sent()
	if len(sent) != 1 || sent[0].Message.Text != "drafted" || sent[0].MessageRef != 0 {
		t.Fatalf("sent %+v", sent)
	}
	if got := c.cmd("AT+CMGL=3"); !strings.Contains(got, "+CMGL: 1,3,,") {
		t.Fatalf("+CMGL=3 after +CMSS: %q", got)
	}
	if err := m.Deliver("+447700900001", "received"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",2\r\n")
	for _, tt := range []struct{ cmd, want string }{
		{"AT+CMSS=2", "\r\n+CMS ERROR: 302\r\n"}, // a received message
		{"AT+CMSS=9", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMSS=1,\"+12015550102\"", "\r\n+CMS ERROR: 304\r\n"},
	} {
		if got := c.cmd(tt.cmd); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, got, tt.want)
		}
	}
	// The SIM is full now; a declared length that is wrong is checked first.
	for _, tt := range []struct {
		length int
		want   string
	}{{p.Length + 1, "\r\n+CMS ERROR: 304\r\n"}, {p.Length, "\r\n+CMS ERROR: 322\r\n"}} {
		c.write(fmt.Sprintf("AT+CMGW=%d\r", tt.length))
		c.expect("\r\n> ")
		c.write(p.PDU + "\x1a")
		if got := c.waitFor(finalRE); got != tt.want {
			t.Errorf("+CMGW=%d on a full SIM: %q, want %q", tt.length, got, tt.want)
		}
	}
}

func TestWaitStored(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	m := mustModem(t, n, modemsim.Config{})
	c := mustReady(t, m)
	read := make(chan error, 1)
	go func() {
		_, err := m.WaitStored(ctx(t), "SM", func(s []modemsim.Stored) bool { return len(s) == 1 && s[0].Stat == modemsim.StatRead })
		read <- err
	}()
	if err := m.Deliver("+447700900001", "wait for me"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",1\r\n")
	readStored(c, "1")
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(timeout):
		t.Fatal("WaitStored did not see the message read")
	}
	c.mustOK("AT+CMGD=1")
	if st, err := m.WaitStored(ctx(t), "sm", func(s []modemsim.Stored) bool { return len(s) == 0 }); err != nil || len(st) != 0 {
		t.Fatalf("after the delete: %+v %v", st, err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := m.WaitStored(short, "SM", func([]modemsim.Stored) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitStored past its deadline: %v", err)
	}
	if _, err := m.WaitStored(ctx(t), "XX", nil); err == nil {
		t.Error("WaitStored accepted memory XX")
	}
}

// TestAckTimeout: under AT+CSMS=1 a +CMT counts as delivered only after
// +CNMA. Without it in time, the modem stops routing (TS 27.005 3.4.1) and
// the network delivers the message again, now into storage: what a driver
// that acknowledges late would see.
func TestAckTimeout(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{AckTimeout: 100 * time.Millisecond})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	ca, cb := mustReady(t, a), mustReady(t, b)
	ca.mustOK("AT+CNMI=2,1,0,1,0")
	cb.mustOK("AT+CSMS=1")
	cb.mustOK("AT+CNMI=2,2,0,0,0")
	cmtRE := regexp.MustCompile(`\r\n\+CMT: ,\d+\r\n[0-9A-F]+\r\n`)
	cdsRE := regexp.MustCompile(`\r\n\+CDS: \d+\r\n[0-9A-F]+\r\n`)

	// Acknowledged: the sender's report follows the +CNMA.
	mustSend(ca, pdu.Submit{To: b.Number(), Text: "ack me", StatusReport: true})
	cb.waitFor(cmtRE)
	if got := ca.cmd("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("A before B's +CNMA: %q", got)
	}
	cb.mustOK("AT+CNMA")
	ca.waitFor(cdsRE)
	if got := cb.cmd("AT+CNMA=2"); got != "\r\n+CMS ERROR: 303\r\n" {
		t.Errorf("+CNMA=2: %q", got)
	}

	// Not acknowledged: routing goes off and the message is stored.
	mustSend(ca, pdu.Submit{To: b.Number(), Text: "too slow", StatusReport: true})
	cb.waitFor(cmtRE)
	st, err := b.WaitStored(ctx(t), "SM", func(s []modemsim.Stored) bool { return len(s) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := pdu.Decode(st[0].PDU); err != nil || msg.Text != "too slow" {
		t.Fatalf("stored after the timeout: %+v %v", msg, err)
	}
	if got := cb.cmd("AT+CNMI?"); !strings.Contains(got, "+CNMI: 2,0,0,0,0") {
		t.Errorf("+CNMI after the timeout: %q", got)
	}
	if got := cb.cmd("AT+CNMA"); got != "\r\n+CMS ERROR: 340\r\n" {
		t.Errorf("late +CNMA: %q", got)
	}
	ca.waitFor(cdsRE) // delivered, into B's memory
}

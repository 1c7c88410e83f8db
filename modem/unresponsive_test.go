package modem_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/pdu"
)

// TestHungDuringSendReportedAtOnce: a send to a modem that hung while idle
// makes it unresponsive within about command_timeout, not send_timeout;
// the send fails as not sent (no prompt, so no PDU on the air) and the
// modem is ready again after the reopen, its last error timestamped.
func TestHungDuringSendReportedAtOnce(t *testing.T) {
	const sendTimeout = 60 * time.Second
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 500 * time.Millisecond, SendTimeout: sendTimeout})
	r.waitIdle()
	r.sim.Hang()
	enc, _ := pdu.Submit{To: "+447700900123", Text: "to a hung modem"}.Encode()
	done := make(chan error, 1)
	go func() { _, err := r.drv.Send(context.Background(), enc.Parts[0]); done <- err }()
	st := r.waitStateWithin(modem.StateUnresponsive, sendTimeout/10)
	if !strings.Contains(st.LastError, "AT+CMGS") || st.LastErrorAt.IsZero() {
		t.Errorf("unresponsive with last error %q at %v, want the overdue AT+CMGS", st.LastError, st.LastErrorAt)
	}
	select {
	case err := <-done:
		var se *modem.SendError
		if !errors.As(err, &se) || !se.Transient || !errors.Is(err, modem.ErrNotReady) || !strings.Contains(se.Reason, "not sent") {
			t.Errorf("send to a hung modem: %v, want a transient not-ready SendError saying it was not sent", err)
		}
	case <-time.After(sendTimeout / 5):
		t.Fatal("the send without a prompt waited for send_timeout")
	}
	st = r.waitState(modem.StateReady)
	if st.LastErrorAt.IsZero() || st.LastErrorAt.After(st.Since) {
		t.Errorf("ready since %v with last error %q at %v, want an error timestamped before the recovery", st.Since, st.LastError, st.LastErrorAt)
	}
	sendOK(t, r, "after the hang")
	if sent := r.net.Sent(); len(sent) != 1 || sent[0].Message.Text != "after the hang" {
		t.Errorf("network has %d messages, want only the one sent after the hang", len(sent))
	}
}

// TestHungWhileIdleReported: a modem that hangs while nothing is sent is
// found by the next command of its own (here the signal check) and is
// unresponsive until it answers again.
func TestHungWhileIdleReported(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 500 * time.Millisecond, SendTimeout: time.Minute,
		HealthInterval: 300 * time.Millisecond})
	r.waitIdle()
	r.sim.Hang()
	st := r.waitStateWithin(modem.StateUnresponsive, 5*time.Second)
	if !strings.Contains(st.LastError, "AT+CSQ") {
		t.Errorf("last error %q, want the overdue AT+CSQ", st.LastError)
	}
	r.waitState(modem.StateReady)
	sendOK(t, r, "after the hang")
}

// TestSlowNetworkIsNotUnresponsive: a send the network takes several
// command timeouts to accept leaves a modem that gave its prompt ready.
func TestSlowNetworkIsNotUnresponsive(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 200 * time.Millisecond, SendTimeout: 10 * time.Second})
	before := r.waitIdle()
	r.sim.SetSendLatency(time.Second)
	r.sendText("+447700900123", "through a slow network", false)
	if st := r.drv.Status(); st.State != modem.StateReady || !st.Since.Equal(before.Since) || st.LastError != "" {
		t.Errorf("after a slow send: state %q since %v (ready since %v), last error %q", st.State, st.Since, before.Since, st.LastError)
	}
}

// TestLateAnswerNotTakenForTheNext: a modem that freezes through a command
// timeout during start-up answers late; that answer (here the IMEI) must
// not be read as the answer to the next command (the SIM state, which
// would stop the modem as a SIM error). The driver re-syncs and starts.
func TestLateAnswerNotTakenForTheNext(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 500 * time.Millisecond})
	r.waitIdle()
	// The late answer comes half way through the next command's timeout.
	r.sim.StallAt("+CGSN", 750*time.Millisecond)
	r.sim.Unplug(50 * time.Millisecond) // the driver starts the modem again
	r.waitState(modem.StateDisconnected)
	st := r.waitState(modem.StateReady)
	if st.IMEI != "" && st.IMEI != "350000000000001" {
		t.Errorf("IMEI %q", st.IMEI)
	}
	sendOK(t, r, "after the stall")
}

// TestFrozenModemRecoversWithoutReopen: a modem that freezes for longer
// than command_timeout while a send waits for its prompt is unresponsive
// meanwhile, and ready again as soon as it answers, in the same session:
// the send goes through once the prompt comes.
func TestFrozenModemRecoversWithoutReopen(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 300 * time.Millisecond, SendTimeout: 10 * time.Second})
	r.waitIdle()
	r.sim.StallAt("+CMGS", time.Second)
	enc, _ := pdu.Submit{To: "+447700900123", Text: "through a frozen modem"}.Encode()
	done := make(chan error, 1)
	go func() { _, err := r.drv.Send(context.Background(), enc.Parts[0]); done <- err }()
	r.waitStateWithin(modem.StateUnresponsive, 5*time.Second)
	st := r.waitState(modem.StateReady)
	if err := <-done; err != nil {
		t.Fatalf("send through a modem that froze for 1s: %v", err)
	}
	if st.LastErrorAt.IsZero() || !strings.Contains(st.LastError, "AT+CMGS") {
		t.Errorf("last error %q at %v, want the overdue AT+CMGS with its time", st.LastError, st.LastErrorAt)
	}
	if sent := r.net.Sent(); len(sent) != 1 {
		t.Errorf("network has %d messages, want 1", len(sent))
	}
}

// TestUnreadIndicationSweptSoon: a message whose AT+CMGR timed out is not
// left on the SIM until the next sweep (here an hour away): the driver
// sweeps as soon as the modem answers again. A status report stuck there
// would keep its message "sent" for the sweep interval.
func TestUnreadIndicationSweptSoon(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 300 * time.Millisecond, SweepInterval: time.Hour})
	r.waitIdle()
	r.sim.StallAt("+CMGR", time.Second)
	if err := r.sim.Deliver("+15557654321", "read late"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Message == nil || in.Message.Text != "read late" {
		t.Fatalf("inbound %+v", in)
	}
	ack(t, in)
}

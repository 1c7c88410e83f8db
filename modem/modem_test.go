package modem_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
)

// rig is one simulated modem on its pty and the driver on the other end.
type rig struct {
	t    *testing.T
	net  *modemsim.Network
	sim  *modemsim.Modem
	drv  *modem.Modem
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error // what Run returned
}

func quietLogger() *slog.Logger {
	if os.Getenv("MODEM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// MustRig starts a network with one simulated modem and a driver for it.
// The driver is stopped, and the network closed, when the test ends.
func MustRig(t *testing.T, simCfg modemsim.Config, cfg modem.Config) *rig {
	t.Helper()
	return mustRigSetup(t, simCfg, nil, cfg)
}

// mustRigSetup is MustRig with setup, if not nil, run on the simulated
// modem before the driver starts.
func mustRigSetup(t *testing.T, simCfg modemsim.Config, setup func(*modemsim.Modem), cfg modem.Config) *rig {
	t.Helper()
	net := modemsim.NewNetwork(modemsim.Options{Dir: t.TempDir(), Logger: quietLogger()})
	t.Cleanup(func() { net.Close() })
	sim, err := net.AddModem(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(sim)
	}
	r := &rig{t: t, net: net, sim: sim}
	r.start(cfg)
	return r
}

func (r *rig) start(cfg modem.Config) {
	r.t.Helper()
	cfg.Device = r.sim.Path()
	if cfg.ID == "" {
		cfg.ID = "m1"
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = time.Second
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = 200 * time.Millisecond
	}
	cfg.Logger = quietLogger()
	r.drv = modem.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.drv.Run(ctx) }()
	r.t.Cleanup(r.shutdown)
}

func (r *rig) shutdown() {
	r.once.Do(func() {
		r.stop()
		select {
		case r.err = <-r.done:
		case <-time.After(10 * time.Second):
			r.t.Error("driver did not stop within 10s")
		}
	})
}

// waitState waits until the driver reports state, or fails the test.
func (r *rig) waitState(want modem.State) modem.Status {
	r.t.Helper()
	return r.waitStateWithin(want, 10*time.Second)
}

// waitIdle waits until the driver is ready and has read the operator:
// start-up is over then and the driver idles, so that a fault a test makes
// next meets an idle driver, not its start-up. It returns the ready status.
func (r *rig) waitIdle() modem.Status {
	r.t.Helper()
	st := r.waitState(modem.StateReady)
	testutil.Eventually(r.t, "operator read", func() bool { return r.drv.Status().Operator != "" })
	return st
}

// waitStateWithin is waitState with a deadline of its own, for a state that
// must come sooner than waitState's 10 s.
func (r *rig) waitStateWithin(want modem.State, d time.Duration) modem.Status {
	r.t.Helper()
	deadline := time.After(d)
	for {
		changed := r.drv.Changed()
		st := r.drv.Status()
		if st.State == want {
			return st
		}
		select {
		case <-changed:
		case <-deadline:
			r.t.Fatalf("modem state %q (last error %q) after %s, want %q", st.State, st.LastError, d, want)
		}
	}
}

// next returns the next inbound message, or fails the test.
func (r *rig) next() *modem.Inbound {
	r.t.Helper()
	select {
	case in := <-r.drv.Inbound():
		return in
	case <-time.After(10 * time.Second):
		r.t.Fatal("no inbound message within 10s")
		return nil
	}
}

func (r *rig) sendText(to, text string, report bool) []int {
	r.t.Helper()
	enc, err := pdu.Submit{To: to, Text: text, StatusReport: report, Ref: 7}.Encode()
	if err != nil {
		r.t.Fatal(err)
	}
	var mrs []int
	for _, p := range enc.Parts {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mr, err := r.drv.Send(ctx, p)
		cancel()
		if err != nil {
			r.t.Fatalf("send part: %v", err)
		}
		mrs = append(mrs, mr)
	}
	return mrs
}

func ack(t *testing.T, in *modem.Inbound) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Ack(ctx); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

func TestStartIdentifyAndStatus(t *testing.T) {
	r := MustRig(t, modemsim.Config{Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM7600E", IMEI: "861234567890123", Operator: "TestNet", Signal: 21}, modem.Config{})
	st := r.waitState(modem.StateReady)
	if st.Manufacturer != "SIMCOM_Ltd" || st.Model != "SIMCOM_SIM7600E" || st.IMEI != "861234567890123" {
		t.Errorf("identity %+v", st)
	}
	if st.Registration != modem.RegHome {
		t.Errorf("registration %q", st.Registration)
	}
	testutil.Eventually(t, "signal and operator read", func() bool {
		st = r.drv.Status()
		return st.SignalDBm != nil && st.Operator != ""
	})
	if *st.SignalDBm != -71 || st.Operator != "TestNet" {
		t.Errorf("signal %d dBm operator %q, want -71 and TestNet", *st.SignalDBm, st.Operator)
	}
}

func TestSendSingleMultipartUCS2(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	texts := []string{"hello", strings.Repeat("long message ", 30), "你好，世界 😀 " + strings.Repeat("中", 80)}
	total := 0
	for _, text := range texts {
		mrs := r.sendText("+447700900123", text, false)
		total += len(mrs)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sent, err := r.net.WaitSent(ctx, total)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		parts := sent[len(sent)-len(mrs):]
		var msgs []*pdu.Message
		for i, s := range parts {
			if s.MessageRef != mrs[i] || s.To != "+447700900123" {
				t.Errorf("part %d: network saw mr %d to %s, driver got mr %d", i, s.MessageRef, s.To, mrs[i])
			}
			msgs = append(msgs, s.Message)
		}
		got, err := pdu.Reassemble(msgs)
		if err != nil || got.Text != text {
			t.Errorf("network received %q (%v), want %q", got.Text, err, text)
		}
	}
	if st := r.drv.Status(); st.Sent != int64(1+2+3) || st.Failed != 0 {
		t.Errorf("counters sent %d failed %d", st.Sent, st.Failed)
	}
}

func TestReceiveStoredAndAck(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	if err := r.sim.Deliver("+15557654321", "incoming text"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.StatusReport() || in.Message == nil || in.Message.Text != "incoming text" || in.Message.From != "+15557654321" {
		t.Fatalf("inbound %+v (message %+v)", in, in.Message)
	}
	if in.Storage != "SM" {
		t.Errorf("storage %q, want SM", in.Storage)
	}
	if n := len(r.sim.Stored("SM")); n != 1 {
		t.Fatalf("%d messages on the SIM before the ack, want 1", n)
	}
	ack(t, in)
	if n := len(r.sim.Stored("SM")); n != 0 {
		t.Errorf("%d messages on the SIM after the ack, want 0", n)
	}
}

func TestReceiveMultipartApartAndUCS2(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	text := "第一部分" + strings.Repeat("文", 100) + " 😀"
	enc, err := smsc.Deliver{From: "+8613800138000", Text: text, Ref: 99}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Parts) < 2 {
		t.Fatalf("%d parts", len(enc.Parts))
	}
	var got []*pdu.Message
	// Deliver the parts one by one, last first, each acknowledged before
	// the next arrives.
	for i := len(enc.Parts) - 1; i >= 0; i-- {
		if err := r.sim.DeliverPDU(enc.Parts[i].PDU); err != nil {
			t.Fatal(err)
		}
		in := r.next()
		if in.Message == nil {
			t.Fatalf("part did not decode: %v", in.DecodeErr)
		}
		got = append(got, in.Message)
		ack(t, in)
	}
	re, err := pdu.Reassemble(got)
	if err != nil || !re.Complete || re.Text != text {
		t.Errorf("reassembled %q complete=%v err=%v", re.Text, re.Complete, err)
	}
}

// TestDirectStatusReports: with ds=1 (a modem that cannot store reports)
// they arrive as +CDS and are acknowledged with +CNMA.
func TestDirectStatusReports(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CNMI: "2,1,0,1,0"})
	r.waitState(modem.StateReady)
	mrs := r.sendText("+447700900123", "report me", true)
	in := r.next()
	if !in.StatusReport() || in.Message == nil || in.Storage != "" {
		t.Fatalf("inbound %+v", in)
	}
	m := in.Message
	if *m.MessageRef != mrs[0] || m.Recipient != "+447700900123" || m.Outcome != pdu.OutcomeDelivered {
		t.Errorf("report mr %d recipient %s outcome %s; sent mr %d", *m.MessageRef, m.Recipient, m.Outcome, mrs[0])
	}
	ack(t, in)
}

func TestSweepDrainsFullSIM(t *testing.T) {
	net := modemsim.NewNetwork(modemsim.Options{Dir: t.TempDir(), Logger: quietLogger()})
	t.Cleanup(func() { net.Close() })
	sim, err := net.AddModem(modemsim.Config{SMCapacity: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Seven messages arrive while bridged is not running: five fill the
	// SIM, two wait in the network until there is room.
	for i := range 7 {
		if err := sim.Deliver("+15550001111", fmt.Sprintf("queued %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	r := &rig{t: t, net: net, sim: sim}
	r.start(modem.Config{})
	seen := map[string]bool{}
	for len(seen) < 7 {
		in := r.next()
		if in.Message == nil {
			t.Fatalf("undecodable: %v", in.DecodeErr)
		}
		seen[in.Message.Text] = true
		ack(t, in)
	}
	for i := range 7 {
		if !seen[fmt.Sprintf("queued %d", i)] {
			t.Errorf("message %d never arrived", i)
		}
	}
}

func TestCMSErrorsClassified(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	enc, _ := pdu.Submit{To: "+447700900123", Text: "x"}.Encode()
	for _, tt := range []struct {
		code      int
		transient bool
	}{{38, true}, {42, true}, {500, true}, {21, false}, {1, false}} {
		r.sim.SetSendErrors(tt.code)
		_, err := r.drv.Send(context.Background(), enc.Parts[0])
		var se *modem.SendError
		if !errors.As(err, &se) || se.Code != tt.code || se.Transient != tt.transient {
			t.Errorf("code %d: err %v, want SendError transient=%v", tt.code, err, tt.transient)
		}
	}
	// The modem is still fine afterwards.
	if _, err := r.drv.Send(context.Background(), enc.Parts[0]); err != nil {
		t.Errorf("send after errors: %v", err)
	}
	if st := r.drv.Status(); st.State != modem.StateReady || st.Failed != 5 {
		t.Errorf("state %s failed %d", st.State, st.Failed)
	}
}

func TestHangRecoversByReopening(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{CommandTimeout: 300 * time.Millisecond, SendTimeout: 500 * time.Millisecond})
	r.waitIdle()
	r.sim.Hang()
	enc, _ := pdu.Submit{To: "+447700900123", Text: "during hang"}.Encode()
	_, err := r.drv.Send(context.Background(), enc.Parts[0])
	var se *modem.SendError
	if !errors.As(err, &se) || !se.Transient || !strings.Contains(se.Reason, "not sent") || !errors.Is(err, modem.ErrNotReady) {
		t.Fatalf("send to a hung modem: %v, want a transient SendError saying it was not sent", err)
	}
	r.waitState(modem.StateUnresponsive)
	st := r.waitState(modem.StateReady)
	if !strings.Contains(st.LastError, "reopening the port") || st.LastErrorAt.IsZero() || st.LastErrorAt.After(st.Since) {
		t.Errorf("after recovery: last error %q at %v, ready since %v", st.LastError, st.LastErrorAt, st.Since)
	}
	sendOK(t, r, "after hang")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := r.net.WaitSent(ctx, 1)
	if err != nil || len(sent) != 1 || sent[0].Message.Text != "after hang" {
		t.Errorf("network saw %d messages (%v), want only the one sent after the hang", len(sent), err)
	}
}

func sendOK(t *testing.T, r *rig, text string) {
	t.Helper()
	enc, _ := pdu.Submit{To: "+447700900123", Text: text}.Encode()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := r.drv.Send(context.Background(), enc.Parts[0])
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("send %q: %v", text, err)
		}
		r.waitState(modem.StateReady)
	}
}

func TestUnplugReplug(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	r.sim.Unplug(300 * time.Millisecond)
	r.waitState(modem.StateDisconnected)
	// A message that arrives while unplugged waits in the network and is
	// read after the replug.
	if err := r.sim.Deliver("+15550002222", "while unplugged"); err != nil {
		t.Fatal(err)
	}
	r.waitState(modem.StateReady)
	in := r.next()
	if in.Message == nil || in.Message.Text != "while unplugged" {
		t.Fatalf("inbound %+v", in)
	}
	ack(t, in)
	sendOK(t, r, "after replug")
}

func TestGarbageAndURCFlood(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	r.sim.InjectGarbage([]byte("\x00\xff#@!garbage\r\n"))
	r.sim.InjectURC("^RSSI: 14")
	sendOK(t, r, "through the noise")
	r.sim.FloodURCs(1000, "^MODE: 5,4")
	sendOK(t, r, "after the flood")
	if err := r.sim.Deliver("+15550003333", "after flood"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Message == nil || in.Message.Text != "after flood" {
		t.Fatalf("inbound %+v", in)
	}
}

func TestNotRegistered(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	r.sim.SetRegistration(modemsim.RegSearching)
	st := r.waitState(modem.StateNotRegistered)
	if st.Registration != modem.RegSearching {
		t.Errorf("registration %q", st.Registration)
	}
	enc, _ := pdu.Submit{To: "+447700900123", Text: "x"}.Encode()
	_, err := r.drv.Send(context.Background(), enc.Parts[0])
	var se *modem.SendError
	if !errors.As(err, &se) || !se.Transient {
		t.Errorf("send while searching: %v", err)
	}
	r.sim.SetRegistration(modemsim.RegRoaming)
	if st := r.waitState(modem.StateReady); st.Registration != modem.RegRoaming {
		t.Errorf("registration %q", st.Registration)
	}
}

func TestPIN(t *testing.T) {
	t.Run("right PIN", func(t *testing.T) {
		r := MustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{PIN: "1234"})
		r.waitState(modem.StateReady)
	})
	t.Run("no PIN configured", func(t *testing.T) {
		r := MustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{})
		st := r.waitState(modem.StateSIMError)
		if !strings.Contains(st.LastError, "needs a PIN") {
			t.Errorf("last error %q", st.LastError)
		}
	})
	t.Run("wrong PIN is tried once", func(t *testing.T) {
		r := MustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{PIN: "9999"})
		st := r.waitState(modem.StateSIMError)
		if !strings.Contains(st.LastError, "PIN") {
			t.Errorf("last error %q", st.LastError)
		}
		// Run waits in sim-error for ClearPINRefusal; stopped, it says why.
		r.shutdown()
		if !errors.Is(r.err, modem.ErrWrongPIN) {
			t.Errorf("Run returned %v, want ErrWrongPIN", r.err)
		}
		// The SIM is not blocked: the right PIN still works.
		r2 := &rig{t: t, net: r.net, sim: r.sim}
		r2.start(modem.Config{PIN: "1234", ID: "again"})
		r2.waitState(modem.StateReady)
	})
}

// TestKilledBeforeAckReadsAgain stops the driver after it handed a message
// over but before the caller acknowledged it: the message must still be on
// the SIM and come again from the next driver.
func TestKilledBeforeAckReadsAgain(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	if err := r.sim.Deliver("+15550004444", "do not lose me"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Message == nil || in.Message.Text != "do not lose me" {
		t.Fatalf("inbound %+v", in)
	}
	r.shutdown()
	if n := len(r.sim.Stored("SM")); n != 1 {
		t.Fatalf("%d messages on the SIM after the driver stopped, want 1", n)
	}
	r2 := &rig{t: t, net: r.net, sim: r.sim}
	r2.start(modem.Config{ID: "restarted"})
	again := r2.next()
	if again.Message == nil || again.Message.Text != "do not lose me" {
		t.Fatalf("after restart: %+v", again)
	}
	ack(t, again)
	if n := len(r.sim.Stored("SM")); n != 0 {
		t.Errorf("%d messages on the SIM after the ack", n)
	}
}

// TestAckWhileSweepHandsOver checks the driver does not deadlock when the
// caller acknowledges each message before taking the next during a long
// sweep (the inbound channel fills up meanwhile).
func TestAckWhileSweepHandsOver(t *testing.T) {
	net := modemsim.NewNetwork(modemsim.Options{Dir: t.TempDir(), Logger: quietLogger()})
	t.Cleanup(func() { net.Close() })
	sim, err := net.AddModem(modemsim.Config{SMCapacity: 150})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if err := sim.Deliver("+15550005555", fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	r := &rig{t: t, net: net, sim: sim}
	r.start(modem.Config{})
	for range 120 {
		in := r.next()
		ack(t, in)
	}
	if n := len(sim.Stored("SM")); n != 0 {
		t.Errorf("%d left on the SIM", n)
	}
}

func TestReceiveDirect(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{Direct: true})
	r.waitState(modem.StateReady)
	if err := r.sim.Deliver("+15550006666", "straight through"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Storage != "" || in.Message == nil || in.Message.Text != "straight through" {
		t.Fatalf("inbound %+v", in)
	}
	if n := len(r.sim.Stored("SM")); n != 0 {
		t.Errorf("a direct message was stored on the SIM (%d)", n)
	}
	ack(t, in) // AT+CNMA
	if n := r.sim.Pending(); n != 0 {
		t.Errorf("%d messages still pending in the network after +CNMA", n)
	}
}

// TestStoredStatusReports: by default reports are stored (+CDSI), so one
// that arrives while bridged is down is read by the next sweep.
func TestStoredStatusReports(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	mrs := r.sendText("+447700900123", "report me later", true)
	in := r.next()
	if !in.StatusReport() || in.Storage == "" || in.Message == nil || *in.Message.MessageRef != mrs[0] {
		t.Fatalf("inbound %+v", in)
	}
	if n := len(r.sim.Stored(in.Storage)); n != 1 {
		t.Fatalf("%d reports stored in %s before the ack", n, in.Storage)
	}
	ack(t, in)
	if n := len(r.sim.Stored(in.Storage)); n != 0 {
		t.Errorf("%d reports left in %s", n, in.Storage)
	}
}

// TestUndecodablePDUHandedOverRaw: a stored PDU that does not decode is
// handed over raw with the reason, not dropped, and deleted only on Ack.
func TestUndecodablePDUHandedOverRaw(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	const bad = "0003DEADBEEF" // TP-MTI 3 is reserved
	if err := r.sim.DeliverCorrupt(bad); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Message != nil || in.DecodeErr == nil || in.PDU != bad || in.Storage != "SM" {
		t.Fatalf("inbound %+v, want the raw PDU with a decode error", in)
	}
	if n := len(r.sim.Stored("SM")); n != 1 {
		t.Fatalf("%d on the SIM before the ack", n)
	}
	ack(t, in)
	if n := len(r.sim.Stored("SM")); n != 0 {
		t.Errorf("%d on the SIM after the ack", n)
	}
}

// TestPhase2ModemStoresInsteadOfDirect: a modem that refuses AT+CSMS=1
// cannot wait for our +CNMA, so Direct falls back to storing on the SIM,
// where nothing is lost if bridged stops before storing a message.
func TestPhase2ModemStoresInsteadOfDirect(t *testing.T) {
	r := MustRig(t, modemsim.Config{NoPhase2Plus: true}, modem.Config{Direct: true})
	r.waitState(modem.StateReady)
	if err := r.sim.Deliver("+15550007777", "kept safe"); err != nil {
		t.Fatal(err)
	}
	in := r.next()
	if in.Storage != "SM" || in.Message == nil || in.Message.Text != "kept safe" {
		t.Fatalf("inbound %+v, want a stored message", in)
	}
	ack(t, in)
}

// TestSendDuringShutdownDoesNotWait: a send asked for as the driver stops
// answers ErrNotReady at once instead of waiting out its own timeout.
func TestSendDuringShutdownDoesNotWait(t *testing.T) {
	r := MustRig(t, modemsim.Config{}, modem.Config{})
	r.waitState(modem.StateReady)
	r.sim.SetSendLatency(300 * time.Millisecond)
	enc, _ := pdu.Submit{To: "+447700900123", Text: "x"}.Encode()
	first := make(chan error, 1)
	go func() { _, err := r.drv.Send(context.Background(), enc.Parts[0]); first <- err }()
	// The second send queues behind the first while the driver stops.
	second := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_, err := r.drv.Send(ctx, enc.Parts[0])
		second <- err
	}()
	r.shutdown()
	select {
	case err := <-second:
		var se *modem.SendError
		if err != nil && (!errors.As(err, &se) || !se.Transient) {
			t.Errorf("second send: %v, want success or a transient error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a send queued at shutdown waited on")
	}
	<-first
}

// TestMissingDeviceLoggedOnce: a modem that is not there is retried with
// backoff, and the same failure is not logged at Warn on every attempt.
func TestMissingDeviceLoggedOnce(t *testing.T) {
	var buf testutil.Buffer
	cfg := modem.Config{ID: "gone", Device: filepath.Join(t.TempDir(), "nothing"), ReconnectMax: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	d := modem.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	testutil.Eventually(t, "ten repeated attempts", func() bool {
		return strings.Count(buf.String(), "level=DEBUG msg=\"modem still disconnected\"") >= 10
	})
	cancel()
	<-done
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for the same failure, want 1:\n%s", n, buf.String())
	}
	if d.Status().State != modem.StateDisconnected {
		t.Errorf("state %s", d.Status().State)
	}
}

// TestReportMemorySwept: a modem that keeps status reports in "SR" has the
// ones that arrived while bridged was down read by the start-up sweep.
func TestReportMemorySwept(t *testing.T) {
	net := modemsim.NewNetwork(modemsim.Options{Dir: t.TempDir(), Logger: quietLogger(), ReportDelay: 200 * time.Millisecond})
	t.Cleanup(func() { net.Close() })
	sim, err := net.AddModem(modemsim.Config{ReportMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, net: net, sim: sim}
	r.start(modem.Config{})
	r.waitState(modem.StateReady)
	mr := r.sendText("+447700900123", "report while down", true)[0]
	r.shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sim.WaitStored(ctx, "SR", func(ms []modemsim.Stored) bool { return len(ms) == 1 }); err != nil {
		t.Fatalf("the report never reached SR: %v", err)
	}
	r2 := &rig{t: t, net: net, sim: sim}
	r2.start(modem.Config{ID: "again"})
	in := r2.next()
	if !in.StatusReport() || in.Storage != "SR" || in.Message == nil || *in.Message.MessageRef != mr {
		t.Fatalf("inbound %+v", in)
	}
	ack(t, in)
	if n := len(sim.Stored("SR")); n != 0 {
		t.Errorf("%d reports left in SR", n)
	}
}

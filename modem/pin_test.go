package modem_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/modem"
	"bridged/modem/modemsim"
)

// restart stops the rig's driver and starts a new one on the same simulated
// modem, as a restarted daemon would: the SIM keeps its state, and the
// journal (shared by the caller through cfg) is all the new driver knows.
func (r *rig) restart(cfg modem.Config) *rig {
	r.t.Helper()
	r.shutdown()
	r2 := &rig{t: r.t, net: r.net, sim: r.sim}
	r2.start(cfg)
	return r2
}

func noPINIn(t *testing.T, pin string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, pin) {
			t.Errorf("the PIN %s is printed: %q", pin, s)
		}
	}
}

func TestPINWrongIsNeverEnteredAgain(t *testing.T) {
	journal := modem.NewMemoryPINJournal()
	cfg := modem.Config{PIN: "9999", PINJournal: journal}
	r := MustRig(t, modemsim.Config{PIN: "1234", ICCID: "89441000301234567890"}, cfg)
	st := r.waitState(modem.StateSIMError)
	if !strings.Contains(st.LastError, "the configured PIN was refused by SIM 89441000301234567890 on ") {
		t.Errorf("last error %q", st.LastError)
	}
	if !strings.Contains(st.LastError, `AT+CPIN="***"`) || !strings.Contains(st.LastError, "clear-pin m1") {
		t.Errorf("last error %q: want the masked command and what to do", st.LastError)
	}
	noPINIn(t, "9999", st.LastError)
	for i := range 3 {
		r = r.restart(cfg)
		st = r.waitState(modem.StateSIMError)
		if !strings.Contains(st.LastError, "the configured PIN was refused by SIM 89441000301234567890 on ") {
			t.Errorf("restart %d: last error %q", i+1, st.LastError)
		}
		noPINIn(t, "9999", st.LastError)
	}
	if got := r.sim.PINEntries(); !slices.Equal(got, []string{"9999"}) {
		t.Errorf("the SIM got AT+CPIN with %q, want 9999 once", got)
	}
	if n := r.sim.PINTriesLeft(); n != 2 {
		t.Errorf("the SIM has %d tries left, want 2", n)
	}
	if st.PINAttemptsLeft == nil || *st.PINAttemptsLeft != 2 {
		t.Errorf("status attempts left %v, want 2", st.PINAttemptsLeft)
	}
}

func TestPINUnanswered(t *testing.T) {
	tests := []struct {
		name      string
		sim       modemsim.Config
		pin       string
		state     modem.State
		lastError string
		triesLeft int
	}{
		// The count fell from 3 to 2: the attempt was counted and refused.
		{"wrong PIN, counter", modemsim.Config{PIN: "1234"}, "9999", modem.StateSIMError, "was refused by SIM", 2},
		// Nothing tells the outcome: it may have been refused.
		{"wrong PIN, no counter", modemsim.Config{PIN: "1234", NoPINCounter: true}, "9999", modem.StateSIMError,
			"without an answer and may have been refused", 2},
		// The SIM is unlocked at the next session: the attempt was accepted.
		{"right PIN", modemsim.Config{PIN: "1234", NoPINCounter: true}, "1234", modem.StateReady, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			journal := modem.NewMemoryPINJournal()
			cfg := modem.Config{PIN: tt.pin, PINJournal: journal, CommandTimeout: 300 * time.Millisecond}
			r := mustRigSetup(t, tt.sim, func(s *modemsim.Modem) { s.SetPINHang(true) }, cfg)
			sim := r.sim
			st := r.waitState(tt.state)
			if !strings.Contains(st.LastError, tt.lastError) {
				t.Errorf("last error %q, want %q", st.LastError, tt.lastError)
			}
			// However often it reconnects or restarts, the PIN went once.
			for range 2 {
				r = r.restart(cfg)
				r.waitState(tt.state)
			}
			if got := sim.PINEntries(); !slices.Equal(got, []string{tt.pin}) {
				t.Errorf("the SIM got AT+CPIN with %q, want %s once", got, tt.pin)
			}
			if n := sim.PINTriesLeft(); n != tt.triesLeft {
				t.Errorf("the SIM has %d tries left, want %d", n, tt.triesLeft)
			}
			noPINIn(t, tt.pin, st.LastError)
		})
	}
}

func TestPINChangedAndLastAttempt(t *testing.T) {
	journal := modem.NewMemoryPINJournal()
	r := MustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{PIN: "9999", PINJournal: journal})
	r.waitState(modem.StateSIMError)
	// A new configured PIN is a new attempt, once.
	r = r.restart(modem.Config{PIN: "5678", PINJournal: journal})
	r.waitState(modem.StateSIMError)
	r = r.restart(modem.Config{PIN: "5678", PINJournal: journal})
	r.waitState(modem.StateSIMError)
	if got := r.sim.PINEntries(); !slices.Equal(got, []string{"9999", "5678"}) {
		t.Errorf("the SIM got AT+CPIN with %q, want 9999 then 5678", got)
	}
	// One attempt is left: even the right PIN is not entered.
	r = r.restart(modem.Config{PIN: "1234", PINJournal: journal})
	st := r.waitState(modem.StateSIMError)
	if !strings.Contains(st.LastError, "1 PIN attempt left") || !strings.Contains(st.LastError, "clear-pin m1") {
		t.Errorf("last error %q", st.LastError)
	}
	if got := r.sim.PINEntries(); len(got) != 2 {
		t.Errorf("the SIM got AT+CPIN with %q, want no third PIN", got)
	}
	if n := r.sim.PINTriesLeft(); n != 1 {
		t.Errorf("the SIM has %d tries left, want 1", n)
	}
	r.shutdown()
	if !errors.Is(r.err, modem.ErrLastPINAttempt) {
		t.Errorf("Run returned %v, want ErrLastPINAttempt", r.err)
	}
}

func TestPINClearRetriesWithoutRestart(t *testing.T) {
	journal := modem.NewMemoryPINJournal()
	r := MustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{PIN: "9999", PINJournal: journal})
	r.waitState(modem.StateSIMError)
	// An operator unlocked the SIM elsewhere and clears the refusal: the
	// driver enters the configured PIN again, once, without a restart.
	r.sim.SetPINTries(3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changed := r.drv.Changed()
	n, err := r.drv.ClearPINRefusal(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ClearPINRefusal: %d, %v; want 1 record", n, err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the modem did not start again after the clear")
	}
	r.waitState(modem.StateSIMError)
	if got := r.sim.PINEntries(); !slices.Equal(got, []string{"9999", "9999"}) {
		t.Errorf("the SIM got AT+CPIN with %q, want 9999 again after the clear", got)
	}
}

// TestPINCounterQuirks reads the attempts left the way each family does.
func TestPINCounterQuirks(t *testing.T) {
	for _, q := range modem.QuirksNames() {
		t.Run(q, func(t *testing.T) {
			r := mustRigSetup(t, modemsim.Config{PIN: "1234"}, func(s *modemsim.Modem) { s.SetPINTries(2) }, modem.Config{Quirks: q})
			st := r.waitState(modem.StateSIMError)
			if st.PINAttemptsLeft == nil || *st.PINAttemptsLeft != 2 {
				t.Errorf("attempts left %v, want 2", st.PINAttemptsLeft)
			}
			if st.ICCID == "" {
				t.Errorf("no ICCID read")
			}
		})
	}
}

package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"bridged/dispatch"
	"bridged/internal/testutil"
	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/queue"
)

// modemStates returns the modem.state events of the log: the states, and
// the data of the last.
func (b *bridge) modemStates() ([]string, modem.Status) {
	b.t.Helper()
	evs, err := b.store.EventsAfter(context.Background(), 0, []string{queue.EventModemState}, 0)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	var last modem.Status
	for _, e := range evs {
		var body struct{ Data modem.Status }
		if err := json.Unmarshal(e.Body, &body); err != nil {
			b.t.Fatalf("event %d: %v", e.ID, err)
		}
		if e.Subject != body.Data.ID {
			b.t.Fatalf("event %d of %s shows modem %s", e.ID, e.Subject, body.Data.ID)
		}
		out, last = append(out, string(body.Data.State)), body.Data
	}
	return out, last
}

// A modem that leaves the network or loses its port, and comes back, is
// told as each state it reaches, each once.
func TestModemStateEvents(t *testing.T) {
	b := MustBridge(t, 1, dispatch.Options{}, modemsim.Options{})
	wait := func(want ...string) {
		t.Helper()
		testutil.Eventually(t, fmt.Sprintf("modem.state events %v", want), func() bool {
			got, _ := b.modemStates()
			return slices.Equal(got, want)
		})
		got, last := b.modemStates()
		if !slices.Equal(got, want) || string(last.State) != want[len(want)-1] {
			t.Fatalf("states %v (last %+v), want %v", got, last, want)
		}
	}
	wait("ready")
	b.offNetwork(0)
	wait("ready", "not-registered")
	b.sims[0].SetRegistration(modemsim.RegHome)
	waitReady(t, b.mods[0])
	wait("ready", "not-registered", "ready")
	b.sims[0].Unplug(300 * time.Millisecond)
	testutil.Eventually(t, "the modem disconnected", func() bool {
		got, _ := b.modemStates()
		return len(got) >= 4
	})
	waitReady(t, b.mods[0])
	wait("ready", "not-registered", "ready", "disconnected", "ready")
}

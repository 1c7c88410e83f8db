package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// modemStateEvent is what a modem.state event says of the modem: the
// fields of GET /v1/modems/{id} the test looks at, and the keys of all of
// them.
type modemStateEvent struct {
	id, state, lastError string
	attemptsLeft         *int
	keys                 []string
}

func readModemState(t *testing.T, body []byte) modemStateEvent {
	t.Helper()
	var p struct {
		Type string                     `json:"type"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type != "modem.state" {
		t.Fatalf("modem.state body %s: %v", body, err)
	}
	var e modemStateEvent
	for k, v := range p.Data {
		e.keys = append(e.keys, k)
		var err error
		switch k {
		case "id":
			err = json.Unmarshal(v, &e.id)
		case "state":
			err = json.Unmarshal(v, &e.state)
		case "last_error":
			err = json.Unmarshal(v, &e.lastError)
		case "pin_attempts_left":
			err = json.Unmarshal(v, &e.attemptsLeft)
		}
		if err != nil {
			t.Fatalf("modem.state body %s: data.%s: %v", body, k, err)
		}
	}
	slices.Sort(e.keys)
	return e
}

// hookStates returns the states of the modem.state webhooks received, in
// order, a repeated delivery counted once.
func hookStates(t *testing.T, hooks []testutil.Hook) []modemStateEvent {
	t.Helper()
	seen := map[string]bool{}
	var out []modemStateEvent
	for _, h := range hooks {
		if !h.Verified || h.Event != "modem.state" {
			t.Fatalf("webhook %s %s: verified %v", h.Event, h.Body, h.Verified)
		}
		if !seen[h.Delivery] {
			seen[h.Delivery] = true
			out = append(out, readModemState(t, h.Body))
		}
	}
	return out
}

func statesOf(es []modemStateEvent) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.state)
	}
	return s
}

// A simulated SIM refuses the configured PIN, is given the right one after
// a restart, then is pulled out and plugged back in: the webhook receiver
// and a follower of /v1/events hear sim-error, ready, disconnected, ready
// for modem m0, in that order, each with the modem as GET /v1/modems shows
// it, and neither hears the PIN.
func TestE2EModemStateEvents(t *testing.T) {
	const wrong, right = "9791", "2468"
	rcv := testutil.NewReceiver(t, hookSecret)
	w := mustPINWorld(t, modemsim.Config{PIN: right, ICCID: "89441000301234567891"})
	hook := webhookConfig(rcv, "events = [\"modem.state\"]\n")
	d := startDaemon(t, w.pinConfig(wrong)+hook)
	first := d
	api := d.waitModem("m0", "sim-error", nil)
	hooks := rcv.WaitHooks(t, 30*time.Second, "modem m0 sim-error", func(h []testutil.Hook) bool { return len(h) >= 1 })
	es := hookStates(t, hooks)
	if es[0].id != "m0" || es[0].state != "sim-error" || es[0].lastError != api.LastError ||
		es[0].attemptsLeft == nil || *es[0].attemptsLeft != 2 {
		t.Fatalf("first modem.state webhook %+v, GET /v1/modems %+v", es[0], api)
	}
	// The event's data is the API's modem, every key of it.
	var raw struct {
		Modems []map[string]json.RawMessage `json:"modems"`
	}
	if code := d.do("GET", "/v1/modems", nil, &raw); code != 200 || len(raw.Modems) != 1 {
		t.Fatalf("GET /v1/modems: %d %v", code, raw)
	}
	var apiKeys []string
	for k := range raw.Modems[0] {
		apiKeys = append(apiKeys, k)
	}
	slices.Sort(apiKeys)
	if !slices.Equal(es[0].keys, apiKeys) {
		t.Errorf("modem.state data keys %v, GET /v1/modems keys %v", es[0].keys, apiKeys)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	d = startDaemon(t, w.pinConfig(right)+hook)
	d.waitModem("m0", "ready", nil)
	rcv.WaitHooks(t, 30*time.Second, "modem m0 ready", func(h []testutil.Hook) bool { return len(hookStates(t, h)) >= 2 })
	// Pulled out for long enough that the daemon sees the port gone.
	w.sims[0].Unplug(time.Second)
	d.waitModem("m0", "ready", func(m apiModem) bool {
		return slices.Contains(statesOf(hookStates(t, rcv.Hooks())), "disconnected")
	})
	want := []string{"sim-error", "ready", "disconnected", "ready"}
	hooks = rcv.WaitHooks(t, 30*time.Second, "modem m0 ready again", func(h []testutil.Hook) bool { return len(hookStates(t, h)) >= len(want) })
	es = hookStates(t, hooks)
	if got := statesOf(es); !slices.Equal(got, want) {
		t.Fatalf("modem.state webhooks %v, want %v", got, want)
	}

	// The durable log has the same changes, the first one from before the
	// restart, and a follower from the start gets them in order.
	stream := d.follow(0)
	var streamedStates []string
	for len(streamedStates) < len(want) {
		s, ok := nextStreamed(t, stream)
		if !ok {
			t.Fatalf("stream ended after %v", streamedStates)
		}
		if s.typ != "modem.state" {
			continue
		}
		e := readModemState(t, []byte(s.body))
		if e.id != "m0" {
			t.Fatalf("modem.state for %q: %s", e.id, s.body)
		}
		streamedStates = append(streamedStates, e.state)
	}
	if !slices.Equal(streamedStates, want) {
		t.Errorf("/v1/events modem.state %v, want %v", streamedStates, want)
	}
	for _, h := range rcv.Hooks() {
		if strings.Contains(string(h.Body), wrong) || strings.Contains(string(h.Body), right) {
			t.Errorf("a webhook carries the PIN: %s", h.Body)
		}
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// At debug level, the AT commands included.
	for i, out := range []string{first.out.String(), d.out.String()} {
		if strings.Contains(out, wrong) || strings.Contains(out, right) {
			t.Errorf("daemon %d's log shows the PIN", i+1)
		}
	}
}

package httpapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"bridged/queue"
)

// pinModems adds the PIN clear to testModems: a test's view of the seam.
type pinModems struct {
	testModems
	mu      sync.Mutex
	known   map[string]int // cleared records per modem id
	err     error
	cleared []string
}

func (m *pinModems) ClearPINRefusal(_ context.Context, id string) (bool, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.known[id]
	if !ok {
		return false, 0, nil
	}
	if m.err != nil {
		return true, 0, m.err
	}
	m.cleared = append(m.cleared, id)
	return true, n, nil
}

func TestClearPINRefusal(t *testing.T) {
	e := MustServe(t, Options{Tokens: []string{"0123456789abcdef0123456789abcdef"}}, queue.Options{})
	pm := &pinModems{known: map[string]int{"m0": 1, "/dev/ttyUSB0": 0}}
	h, err := New(Options{Tokens: []string{"0123456789abcdef0123456789abcdef"}, Logger: slog.New(slog.NewTextHandler(e.log, nil))},
		Deps{Store: e.store, Health: e.store, Modems: pm})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)

	tests := []struct {
		name, path string
		token      string // "none": without the header
		status     int
		cleared    float64
	}{
		{"no token", "/v1/modems/m0/pin-refusal", "none", 401, 0},
		{"cleared", "/v1/modems/m0/pin-refusal", "", 200, 1},
		{"nothing to clear", "/v1/modems/%2Fdev%2FttyUSB0/pin-refusal", "", 200, 0},
		{"unknown modem", "/v1/modems/m9/pin-refusal", "", 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token == "none" {
				hdr = []string{"Authorization", "<none>"}
			}
			r := e.must(tt.status, "DELETE", tt.path, "", hdr...)
			if tt.status == 200 && r.body["cleared"] != tt.cleared {
				t.Errorf("%s", r.raw)
			}
		})
	}
	if len(pm.cleared) != 2 || pm.cleared[0] != "m0" || pm.cleared[1] != "/dev/ttyUSB0" {
		t.Errorf("cleared %q", pm.cleared)
	}
	// A store failure is the store's error, as for any write.
	pm.err = queue.ErrStorageFull
	if r := e.must(503, "DELETE", "/v1/modems/m0/pin-refusal", ""); r.errorField("code") != CodeStoreFull {
		t.Errorf("%s", r.raw)
	}
}

package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bridged/modem/modemsim"
)

func TestModemsProbesSimulatedModem(t *testing.T) {
	net := modemsim.NewNetwork(modemsim.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { net.Close() })
	sim, err := net.AddModem(modemsim.Config{Manufacturer: "Quectel", Model: "EC25", IMEI: "867000000000001", Operator: "TestNet", Signal: 25})
	if err != nil {
		t.Fatal(err)
	}
	locked, err := net.AddModem(modemsim.Config{PIN: "4321"})
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nothing-here")
	code, stdout, stderr := runMain(t, "", "modems", "-json", "-timeout", "1s", sim.Path(), locked.Path(), missing)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3", len(got))
	}
	for _, key := range []string{"device", "by_id", "vid", "pid", "serial", "responds", "manufacturer", "model", "revision", "imei", "sim", "registration", "operator", "signal_dbm", "error"} {
		if _, ok := got[0][key]; !ok {
			t.Errorf("no %q in %v", key, got[0])
		}
	}
	want := map[string]any{"device": sim.Path(), "responds": true, "manufacturer": "Quectel", "model": "EC25", "imei": "867000000000001",
		"sim": "ready", "registration": "home", "operator": "TestNet", "signal_dbm": -63.0}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	if got[1]["responds"] != true || got[1]["sim"] != "pin" {
		t.Errorf("PIN-locked modem: %v", got[1])
	}
	if got[2]["responds"] != false || !strings.Contains(got[2]["error"].(string), "no such file") {
		t.Errorf("missing device: %v", got[2])
	}
	// The probe sent nothing.
	if n := len(net.Sent()); n != 0 {
		t.Errorf("probe sent %d messages", n)
	}

	code, stdout, _ = runMain(t, "", "modems", sim.Path())
	if code != 0 || !strings.Contains(stdout, "Quectel EC25") || !strings.Contains(stdout, "-63 dBm") {
		t.Errorf("table output (exit %d):\n%s", code, stdout)
	}
}

func TestClearPINArguments(t *testing.T) {
	code, _, stderr := runMain(t, "", "modems", "clear-pin")
	if code != 2 || !strings.Contains(stderr, "want one modem id") {
		t.Errorf("no id: exit %d, %q", code, stderr)
	}
	// No daemon and no database: nothing is created.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridged.toml")
	db := filepath.Join(dir, "bridged.db")
	if err := os.WriteFile(cfg, []byte("[http]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \""+db+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, "", "modems", "clear-pin", "-config", cfg, "m0")
	if code != 1 || !strings.Contains(stderr, "no daemon answers and the database cannot be read") {
		t.Errorf("no database: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("clear-pin created a database")
	}
}

func TestAPIURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"[::1]:9000":     "http://[::1]:9000",
		"127.0.0.1:0":    "",
		"nonsense":       "",
	} {
		if got := apiURL(listen); got != want {
			t.Errorf("apiURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

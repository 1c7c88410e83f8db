package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPINEnv(t *testing.T) {
	tests := []struct{ name, id, want string }{
		{name: "simple", id: "sim0", want: "BRIDGED_PIN_SIM0"},
		{name: "punctuation", id: "sim-0.a", want: "BRIDGED_PIN_SIM_0_A"},
		{name: "device path", id: "/dev/ttyUSB0", want: "BRIDGED_PIN__DEV_TTYUSB0"},
		{name: "non-ASCII", id: "modém", want: "BRIDGED_PIN_MOD__M"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PINEnv(tt.id); got != tt.want {
				t.Errorf("PINEnv(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	const (
		tokA = "aaaaaaaaaaaaaaaaaaaa"
		tokB = "bbbbbbbbbbbbbbbbbbbb"
		tokC = "cccccccccccccccccccc"
	)
	doc := "[http]\nlisten = \"0.0.0.0:8080\"\ntokens = [\"" + tokA + "\"]\n\n" +
		"[[modem]]\nid = \"usb-1\"\ndevice = \"/dev/ttyUSB0\"\npin = \"1111\"\n\n[[modem]]\ndevice = \"sim\"\n"
	tests := []struct {
		name  string
		doc   string
		env   map[string]string
		creds map[string]string // files in $CREDENTIALS_DIRECTORY
		// want: the tokens and PINs, or the problems (FILE for the path).
		tokens    []string
		pins      []string
		overrides []string
		problems  []string
	}{
		{name: "none", doc: doc, tokens: []string{tokA}, pins: []string{"1111", ""}},
		{name: "tokens replace the file's", doc: doc, env: map[string]string{"BRIDGED_TOKENS": " " + tokB + " ," + tokC + ",,"},
			tokens: []string{tokB, tokC}, pins: []string{"1111", ""}, overrides: []string{"BRIDGED_TOKENS"}},
		{name: "empty tokens variable overrides nothing", doc: doc, env: map[string]string{"BRIDGED_TOKENS": " "},
			tokens: []string{tokA}, pins: []string{"1111", ""}},
		{name: "only separators in the tokens variable", doc: doc, env: map[string]string{"BRIDGED_TOKENS": ","}, problems: []string{
			"FILE: BRIDGED_TOKENS holds no token, only separators: it would replace [http] tokens with none and leave the API open; give at least one token, or unset it to keep the file's"}},
		{name: "only separators in the tokens credential", doc: doc, creds: map[string]string{"BRIDGED_TOKENS": ",\n"}, problems: []string{
			"FILE: credential BRIDGED_TOKENS holds no token, only separators: it would replace [http] tokens with none and leave the API open; give at least one token, or unset it to keep the file's"}},
		{name: "tokens allow a non-loopback listener", doc: "[http]\nlisten = \"0.0.0.0:8080\"\n", env: map[string]string{"BRIDGED_TOKENS": tokB},
			tokens: []string{tokB}, pins: []string{""}, overrides: []string{"BRIDGED_TOKENS"}},
		{name: "pins by id", doc: doc, env: map[string]string{"BRIDGED_PIN_USB_1": "2222", "BRIDGED_PIN_SIM0": "3333\n"},
			tokens: []string{tokA}, pins: []string{"2222", "3333"}, overrides: []string{"BRIDGED_PIN_USB_1", "BRIDGED_PIN_SIM0"}},
		{name: "credentials", doc: doc, creds: map[string]string{"BRIDGED_TOKENS": tokB + "\n" + tokC + "\n", "BRIDGED_PIN_SIM0": "4444\n"},
			tokens: []string{tokB, tokC}, pins: []string{"1111", "4444"}, overrides: []string{"credential BRIDGED_TOKENS", "credential BRIDGED_PIN_SIM0"}},
		{name: "environment wins over a credential", doc: doc, env: map[string]string{"BRIDGED_PIN_SIM0": "5555"}, creds: map[string]string{"BRIDGED_PIN_SIM0": "4444"},
			tokens: []string{tokA}, pins: []string{"1111", "5555"}, overrides: []string{"BRIDGED_PIN_SIM0"}},
		{name: "pin for no modem", doc: doc, env: map[string]string{"BRIDGED_PIN_SIMO": "1234"}, problems: []string{
			"FILE: BRIDGED_PIN_SIMO is set but no modem reads it (the PIN variables are BRIDGED_PIN_USB_1, BRIDGED_PIN_SIM0)"}},
		{name: "credential for no modem", doc: doc, creds: map[string]string{"BRIDGED_PIN_SIM1": "1234"}, problems: []string{
			"FILE: BRIDGED_PIN_SIM1 is set but no modem reads it (the PIN variables are BRIDGED_PIN_USB_1, BRIDGED_PIN_SIM0)"}},
		{name: "ambiguous pin", doc: "[[modem]]\nid = \"a-1\"\ndevice = \"sim\"\n[[modem]]\nid = \"a.1\"\ndevice = \"sim\"\n", env: map[string]string{"BRIDGED_PIN_A_1": "1234"}, problems: []string{
			`FILE:1: modem[0].pin: BRIDGED_PIN_A_1 is ambiguous: modems "a-1" and "a.1" both read it; give them ids that differ in letters or digits`,
			`FILE:4: modem[1].pin: BRIDGED_PIN_A_1 is ambiguous: modems "a-1" and "a.1" both read it; give them ids that differ in letters or digits`}},
		// A bad value from outside the file is blamed on where it came from.
		{name: "bad pin from the environment", doc: doc, env: map[string]string{"BRIDGED_PIN_USB_1": "12"}, problems: []string{
			"FILE: modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown) (set by BRIDGED_PIN_USB_1)"}},
		{name: "short token from a credential", doc: doc, creds: map[string]string{"BRIDGED_TOKENS": "short"}, problems: []string{
			"FILE: http.tokens[0]: a token of 5 characters is too short to be safe; use at least 16 (openssl rand -hex 32 makes one) (set by credential BRIDGED_TOKENS)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			t.Setenv(EnvCredentials, dir)
			for name, v := range tt.creds {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o400); err != nil {
					t.Fatal(err)
				}
			}
			path := writeFile(t, tt.doc)
			cfg, err := Load(path, testDriver)
			if tt.problems != nil {
				if err == nil {
					t.Fatalf("Load succeeded, want problems")
				}
				got := strings.Split(strings.ReplaceAll(err.Error(), path, "FILE"), "\n")
				if !reflect.DeepEqual(got, tt.problems) {
					t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(cfg.HTTP.Tokens, tt.tokens) {
				t.Errorf("tokens %q, want %q", cfg.HTTP.Tokens, tt.tokens)
			}
			var pins []string
			for _, m := range cfg.Modems {
				pins = append(pins, m.PIN)
			}
			if !reflect.DeepEqual(pins, tt.pins) {
				t.Errorf("pins %q, want %q", pins, tt.pins)
			}
			if !reflect.DeepEqual(cfg.overrides, tt.overrides) {
				t.Errorf("overrides %q, want %q", cfg.overrides, tt.overrides)
			}
		})
	}
}

func TestLoadDefaultEnv(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	t.Setenv("BRIDGED_PIN_SIM0", "1234")
	cfg, err := LoadDefault(testDriver)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Modems[0].PIN != "1234" || cfg.Source() != "" {
		t.Errorf("got %+v", cfg.Modems[0])
	}
	t.Setenv("BRIDGED_PIN_SIM0", "12")
	if _, err := LoadDefault(testDriver); err == nil || err.Error() != "modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown) (set by BRIDGED_PIN_SIM0)" {
		t.Errorf("LoadDefault with a bad PIN: %v", err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	const token = "tok-0123456789abcdef"
	tests := []struct {
		name   string
		doc    string // written to FILE; "" runs without -config
		args   []string
		env    map[string]string
		code   int
		stdout []string // substrings
		hidden []string // must not be in stdout
		stderr string   // exact, with FILE for the file's path
	}{
		{name: "built-in default", code: 0,
			stdout: []string{"# bridged configuration: the built-in default\n", "listen = \"127.0.0.1:8080\"\n", "id = \"sim0\"\ndevice = \"sim\"\n", "path = \"./bridged.db\"\n"}},
		{name: "valid file, secrets masked", doc: "[http]\nlisten = \"0.0.0.0:8080\"\ntokens = [\"" + token + "\"]\n\n[[modem]]\ndevice = \"/dev/ttyUSB0\"\npin = \"2468\"\n", code: 0,
			stdout: []string{"# bridged configuration: FILE\n", "tokens = [\"***\"]\n", "pin = \"***\"\n", "id = \"/dev/ttyUSB0\"\n", "send_timeout = \"1m\"\n"},
			hidden: []string{token, "2468", "sim_number"}},
		{name: "environment overrides", doc: "[http]\nlisten = \"0.0.0.0:8080\"\n", env: map[string]string{"BRIDGED_TOKENS": token, "BRIDGED_PIN_SIM0": "1357"}, code: 0,
			stdout: []string{"# overridden by BRIDGED_TOKENS, BRIDGED_PIN_SIM0\n", "tokens = [\"***\"]\n", "pin = \"***\"\n"},
			hidden: []string{token, "1357"}},
		{name: "webhook URL credential masked", doc: "[[webhook]]\nurl = \"https://hooks.example.com/sms?token=" + token + "&v=2\"\nsecret = \"0123456789abcdef-secret\"\n", code: 0,
			stdout: []string{"url = \"https://hooks.example.com/sms?token=***&v=***\"\n", "secret = \"***\"\n"},
			hidden: []string{token, "0123456789abcdef-secret"}},
		{name: "webhook URL credential masked in a problem", doc: "[[webhook]]\nurl = \"http://192.0.2.1/sms?token=" + token + "\"\nsecret = \"0123456789abcdef-secret\"\n", code: 1,
			stderr: "bridged: FILE:2: webhook[0].url: \"http://192.0.2.1/sms?token=***\" is http:// to another machine: events would cross the network unencrypted; use https://, or set allow_insecure = true\n"},
		{name: "one problem", doc: "[log]\nlevle = \"debug\"\n", code: 1,
			stderr: "bridged: FILE:2: log.levle: unknown key: did you mean `level`?\n"},
		{name: "a typo and what it causes", doc: "[[modem]]\ndevcie = \"/dev/ttyUSB0\"\n", code: 1,
			stderr: "bridged: FILE:1: modem[0].device: is required: the serial port (\"/dev/serial/by-id/...\") or \"sim\" for a simulated modem\n" +
				"bridged: FILE:2: modem[0].devcie: unknown key: did you mean `device`?\n"},
		{name: "every problem on its own line", doc: "[http]\nlisten = \"0.0.0.0:8080\"\nread_timeout = 30\n\n[sms]\nmax_parts = 0\n", code: 1,
			stderr: "bridged: FILE:2: http.listen: refusing to listen on 0.0.0.0:8080 without tokens: set [http] tokens or listen on 127.0.0.1\n" +
				"bridged: FILE:3: http.read_timeout: 30 has no unit: write \"30s\"\n" +
				"bridged: FILE:6: sms.max_parts: 0 is not from 1 to 255\n"},
		{name: "validation problems", doc: "[http]\nlisten = \"0.0.0.0:8080\"\n\n[sms]\nmax_parts = 0\n", code: 1,
			stderr: "bridged: FILE:2: http.listen: refusing to listen on 0.0.0.0:8080 without tokens: set [http] tokens or listen on 127.0.0.1\n" +
				"bridged: FILE:5: sms.max_parts: 0 is not from 1 to 255\n"},
		{name: "packaged placeholder", doc: "[http]\nlisten = \"0.0.0.0:8080\"\ntokens = [\"" + token + "\"]\n\n[[modem]]\nid = \"usb0\"\ndevice = \"/dev/serial/by-id/CHANGE-ME\"\npin = \"2468\"\n", code: 1,
			stderr: "bridged: FILE:7: modem[0].device: \"/dev/serial/by-id/CHANGE-ME\" is the placeholder of the packaged configuration: replace it with your modem's /dev/serial/by-id/... name (`bridged modems` lists the ports) or \"sim\"\n"},
		{name: "quiet when valid", doc: "[[modem]]\ndevice = \"sim\"\n", args: []string{"-quiet"}, code: 0},
		{name: "quiet still lists problems", doc: "[[modem]]\ndevice = \"/dev/serial/by-id/CHANGE-ME\"\n", args: []string{"-quiet"}, code: 1,
			stderr: "bridged: FILE:2: modem[0].device: \"/dev/serial/by-id/CHANGE-ME\" is the placeholder of the packaged configuration: replace it with your modem's /dev/serial/by-id/... name (`bridged modems` lists the ports) or \"sim\"\n"},
		{name: "TOML syntax", doc: "[http\n", code: 1,
			stderr: "bridged: FILE:1: invalid TOML: expected '.' or ']' to end table name, but got '\\n' instead\n"},
		{name: "bad environment", env: map[string]string{"BRIDGED_PIN_SIM0": "1"}, code: 1,
			stderr: "bridged: modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown) (set by BRIDGED_PIN_SIM0)\n"},
		{name: "missing file", args: []string{"-config", "/nonexistent/bridged.toml"}, code: 1,
			stderr: "bridged: read config: open /nonexistent/bridged.toml: no such file or directory\n"},
		{name: "argument", args: []string{"bridged.toml"}, code: 2,
			stderr: "bridged: check-config: unexpected argument \"bridged.toml\" (the file goes after -config)\n"},
		{name: "unknown flag", args: []string{"-c", "x"}, code: 2,
			stderr: "bridged: check-config: flag provided but not defined: -c\n"},
		{name: "help", args: []string{"-h"}, code: 0, stdout: []string{"bridged check-config [-config FILE]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CREDENTIALS_DIRECTORY", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"check-config"}, tt.args...)
			path := ""
			if tt.doc != "" {
				path = filepath.Join(t.TempDir(), "bridged.toml")
				if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-config", path)
			}
			code, stdout, stderr := runMain(t, "", args...)
			if path != "" {
				stdout = strings.ReplaceAll(stdout, path, "FILE")
				stderr = strings.ReplaceAll(stderr, path, "FILE")
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tt.stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, stdout)
				}
			}
			for _, secret := range tt.hidden {
				if strings.Contains(stdout, secret) {
					t.Errorf("stdout shows %q:\n%s", secret, stdout)
				}
			}
			if (tt.code != 0 || slices.Contains(tt.args, "-quiet")) && stdout != "" {
				t.Errorf("stdout %q on failure, want none", stdout)
			}
		})
	}
}

// TestCheckConfigExample checks the shipped example through the command.
func TestCheckConfigExample(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	code, stdout, stderr := runMain(t, "", "check-config", "-config", "../../config.example.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "device = \"/dev/serial/by-id/") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

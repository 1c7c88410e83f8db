package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testDriver stands for what cmd/bridged passes from packages modem and
// modemsim, which own these values; its test of check-config compares the
// real ones with testdata/default.golden.
var testDriver = Driver{
	Baud: 115200, Storage: "SM",
	CommandTimeout: 5 * time.Second, SendTimeout: time.Minute, HealthInterval: 2 * time.Minute,
	SweepInterval: 10 * time.Minute, RegistrationTimeout: 2 * time.Minute,
	Quirks:    []string{"generic", "huawei", "quectel", "simcom"},
	SimNumber: func(n int) string { return fmt.Sprintf("+120155501%02d", n+1) },
}

// writeFile writes doc to a file in a temporary directory and returns its path.
func writeFile(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridged.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoad loads doc and fails the test on any error.
func mustLoad(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Load(writeFile(t, doc), testDriver)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// problemLines loads doc and returns its problems one a line, with the
// file's path replaced by FILE.
func problemLines(t *testing.T, doc string) []string {
	t.Helper()
	path := writeFile(t, doc)
	_, err := Load(path, testDriver)
	if err == nil {
		t.Fatalf("Load succeeded; want problems")
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is a %T, want *ValidationError", err, err)
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(verr.Problems) {
		t.Errorf("Error() has %d lines for %d problems", got, len(verr.Problems))
	}
	return strings.Split(strings.ReplaceAll(err.Error(), path, "FILE"), "\n")
}

const (
	real0 = "[[modem]]\ndevice = \"/dev/ttyUSB0\"\n"
	token = "0123456789abcdef0123"
)

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		// TOML syntax: the library's position.
		{name: "syntax", doc: "[http]\nlisten = \n", want: []string{
			`FILE:2: invalid TOML: expected value but found '\n' instead`}},
		{name: "unexpected newline", doc: "[http\n", want: []string{
			`FILE:1: invalid TOML: expected '.' or ']' to end table name, but got '\n' instead`}},
		{name: "duplicate key", doc: "[log]\nlevel = \"info\"\nlevel = \"debug\"\n", want: []string{
			`FILE:3: invalid TOML: Key 'log.level' has already been defined.`}},

		// Unknown keys: the line and a hint.
		{name: "typo", doc: real0 + "devcie = \"x\"\n", want: []string{
			"FILE:3: modem[0].devcie: unknown key: did you mean `device`?"}},
		{name: "typo in a later modem", doc: real0 + "\n[[modem]]\ndevice = \"/dev/ttyUSB1\"\nbuad = 9600\n", want: []string{
			"FILE:6: modem[1].buad: unknown key: did you mean `baud`?"}},
		{name: "case", doc: "[log]\nLevel = \"debug\"\n", want: []string{
			"FILE:2: log.Level: unknown key: did you mean `level`? (keys are case-sensitive)"}},
		{name: "key of another table", doc: "[http]\npin = \"1234\"\n", want: []string{
			"FILE:2: http.pin: unknown key: pin belongs in [[modem]]"}},
		{name: "nothing close", doc: "[http]\nfrobnicate = 1\n", want: []string{
			"FILE:2: http.frobnicate: unknown key"}},
		{name: "unknown table", doc: "[htpp]\nlisten = \"x\"\n", want: []string{
			"FILE:1: htpp: unknown table: did you mean [http]?"}},
		{name: "array of tables misspelt", doc: "[[modems]]\ndevice = \"sim\"\n", want: []string{
			"FILE:1: modems: unknown table: did you mean [[modem]]?"}},
		{name: "top-level key", doc: "listen = \"127.0.0.1:1\"\n", want: []string{
			"FILE:1: listen: unknown key: listen belongs in [http]"}},
		{name: "dotted key", doc: "http.lisen = \"127.0.0.1:1\"\n", want: []string{
			"FILE:1: http.lisen: unknown key: did you mean `listen`?"}},

		// Wrong types: the line, what was wanted, and how to write it.
		{name: "string for integer", doc: real0 + "baud = \"9600\"\n", want: []string{
			`FILE:3: modem[0].baud: want an integer, got the string "9600": write baud = 9600 without quotes`}},
		{name: "integer for string", doc: real0 + "smsc = 447785016005\n", want: []string{
			`FILE:3: modem[0].smsc: want a string, got the integer 447785016005: quote it, smsc = "447785016005"`}},

		// A secret's value is never quoted, whatever is wrong with it.
		{name: "integer for PIN", doc: real0 + "pin = 4321\n", want: []string{
			`FILE:3: modem[0].pin: want a string, got an integer (a secret: the value is not shown): quote it`}},
		{name: "number for PIN", doc: real0 + "pin = 4321.5\n", want: []string{
			`FILE:3: modem[0].pin: want a string, got a number (a secret: the value is not shown): quote it`}},
		{name: "string for tokens", doc: "[http]\ntokens = \"" + token + "\"\n", want: []string{
			`FILE:2: http.tokens: want an array of strings, got a string (a secret: the value is not shown): put it in brackets, tokens = ["..."]`}},
		{name: "integer token", doc: "[http]\ntokens = [\n  \"" + token + "\",\n  98765432109876543,\n]\n", want: []string{
			`FILE:2: http.tokens[1]: want a string, got an integer (a secret: the value is not shown)`}},
		{name: "the strings of a mixed array are still checked", doc: "[http]\ntokens = [\"short\", 1]\n", want: []string{
			`FILE:2: http.tokens[1]: want a string, got an integer (a secret: the value is not shown)`,
			`FILE:2: http.tokens[0]: a token of 5 characters is too short to be safe; use at least 16 (openssl rand -hex 32 makes one)`}},
		{name: "PIN that is not TOML", doc: real0 + "pin = 43a1\n", want: []string{
			`FILE:3: invalid TOML in the value of pin (a secret: the value is not shown): write it as a quoted string`}},
		{name: "token that is not TOML", doc: "[http]\ntokens = [\n  \"" + token + "\",\n  abcdef0123456789,\n]\n", want: []string{
			`FILE:4: invalid TOML in the value of tokens (a secret: the value is not shown): write it as an array of quoted strings`}},
		{name: "token out of range", doc: "[http]\ntokens = [12345678901234567890]\n", want: []string{
			`FILE:2: invalid TOML in the value of tokens (a secret: the value is not shown): write it as an array of quoted strings`}},
		{name: "string for array", doc: real0 + "routes = \"+44\"\n", want: []string{
			`FILE:3: modem[0].routes: want an array of strings, got the string "+44": write routes = ["+44"]`}},
		{name: "number in array", doc: real0 + "routes = [\n  \"+44\",\n  49,\n]\n", want: []string{
			`FILE:3: modem[0].routes[1]: want a string, got the integer 49`}},
		{name: "string for bool", doc: real0 + "direct = \"true\"\n", want: []string{
			`FILE:3: modem[0].direct: want true or false, got the string "true": write direct = true without quotes`}},
		{name: "float for integer", doc: "[sms]\nmax_parts = 3.0\n", want: []string{
			`FILE:2: sms.max_parts: want an integer, got the number 3: write max_parts = 3`}},
		{name: "table for array of tables", doc: "[modem]\ndevice = \"sim\"\n", want: []string{
			`FILE:1: modem: want an array of tables, got a table: write [[modem]], with two brackets, for each modem`}},
		{name: "value for table", doc: "log = \"debug\"\n", want: []string{
			`FILE:1: log: want a table, got the string "debug"`}},
		{name: "integer too large", doc: "[http]\nmax_body_bytes = 9223372036854775807\n", want: []string{
			`FILE:2: http.max_body_bytes: 9223372036854775807 is not from 1024 to 67108864`}},

		// Durations.
		{name: "bare integer duration", doc: "[http]\nread_timeout = 30\n", want: []string{
			`FILE:2: http.read_timeout: 30 has no unit: write "30s"`}},
		{name: "bare integer duration in a modem", doc: real0 + "send_timeout = 90\n", want: []string{
			`FILE:3: modem[0].send_timeout: 90 has no unit: write "90s"`}},
		{name: "bad duration", doc: "[http]\nidle_timeout = \"2 minutes\"\n", want: []string{
			`FILE:2: http.idle_timeout: invalid duration "2 minutes" (use e.g. 30s, 5m, 24h, 7d)`}},
		{name: "bad days", doc: "[sms]\ndefault_validity = \"1.5d\"\n", want: []string{
			`FILE:2: sms.default_validity: invalid duration "1.5d" (whole days or weeks: 7d, 2w)`}},
		{name: "float duration", doc: "[http]\nread_timeout = 1.5\n", want: []string{
			`FILE:2: http.read_timeout: want a duration such as "30s", got the number 1.5`}},

		// Invalid values: the field, the value, the line.
		{name: "listen without port", doc: "[http]\nlisten = \"127.0.0.1\"\n", want: []string{
			`FILE:2: http.listen: "127.0.0.1" is not host:port (e.g. "127.0.0.1:8080")`}},
		{name: "listen bad port", doc: "[http]\nlisten = \"127.0.0.1:http\"\n", want: []string{
			`FILE:2: http.listen: "127.0.0.1:http": port "http" is not a number from 0 to 65535`}},
		{name: "all interfaces without tokens", doc: "[http]\nlisten = \"0.0.0.0:8080\"\n", want: []string{
			`FILE:2: http.listen: refusing to listen on 0.0.0.0:8080 without tokens: set [http] tokens or listen on 127.0.0.1`}},
		{name: "empty host without tokens", doc: "[http]\nlisten = \":8080\"\n", want: []string{
			`FILE:2: http.listen: refusing to listen on :8080 without tokens: set [http] tokens or listen on 127.0.0.1`}},
		{name: "LAN address without tokens", doc: "[http]\nlisten = \"192.168.1.5:8080\"\ntokens = []\n", want: []string{
			`FILE:2: http.listen: refusing to listen on 192.168.1.5:8080 without tokens: set [http] tokens or listen on 127.0.0.1`}},
		{name: "host name without tokens", doc: "[http]\nlisten = \"pi.local:8080\"\n", want: []string{
			`FILE:2: http.listen: refusing to listen on pi.local:8080 without tokens: set [http] tokens or listen on 127.0.0.1`}},
		{name: "short token", doc: "[http]\ntokens = [\"secret\"]\n", want: []string{
			`FILE:2: http.tokens[0]: a token of 6 characters is too short to be safe; use at least 16 (openssl rand -hex 32 makes one)`}},
		{name: "token with a space", doc: "[http]\ntokens = [\"" + token + " x\"]\n", want: []string{
			`FILE:2: http.tokens[0]: a token must not contain spaces or control characters`}},
		{name: "duplicate token", doc: "[http]\ntokens = [\"" + token + "\", \"" + token + "\"]\n", want: []string{
			`FILE:2: http.tokens[1]: the same token is listed twice`}},
		{name: "zero timeouts", doc: "[http]\nread_timeout = \"0s\"\nwrite_timeout = 0\nidle_timeout = \"-1s\"\nshutdown_timeout = \"0\"\n", want: []string{
			`FILE:2: http.read_timeout: 0s must be positive`,
			`FILE:3: http.write_timeout: 0s must be positive`,
			`FILE:4: http.idle_timeout: -1s must be positive`,
			`FILE:5: http.shutdown_timeout: 0s must be positive`}},
		{name: "small body limit", doc: "[http]\nmax_body_bytes = 10\n", want: []string{
			`FILE:2: http.max_body_bytes: 10 is not from 1024 to 67108864`}},
		{name: "http limits out of range", doc: "[http]\nread_header_timeout = \"0s\"\nmax_connections = 0\nmax_recipients = 1001\n", want: []string{
			`FILE:2: http.read_header_timeout: 0s must be positive`,
			`FILE:3: http.max_connections: 0 is not from 1 to 4096`,
			`FILE:4: http.max_recipients: 1001 is not from 1 to 1000`}},
		{name: "allowed hosts", doc: "[http]\nallowed_hosts = [\"bridged.lan:8080\", \"\", \"Bridged.LAN\", \"bridged.lan.\", \"[::1]\", \"exa mple\"]\n", want: []string{
			`FILE:2: http.allowed_hosts[0]: "bridged.lan:8080" is not a host name or IP address without a port, e.g. "bridged.lan" or "192.168.1.20"`,
			`FILE:2: http.allowed_hosts[1]: "" is not a host name or IP address without a port, e.g. "bridged.lan" or "192.168.1.20"`,
			`FILE:2: http.allowed_hosts[3]: "bridged.lan." is listed twice`,
			`FILE:2: http.allowed_hosts[5]: "exa mple" is not a host name or IP address without a port, e.g. "bridged.lan" or "192.168.1.20"`}},
		{name: "empty store path", doc: "[store]\npath = \"\"\n", want: []string{
			`FILE:2: store.path: must not be empty`}},
		{name: "no device", doc: "[[modem]]\nid = \"a\"\n", want: []string{
			`FILE:1: modem[0].device: is required: the serial port ("/dev/serial/by-id/...") or "sim" for a simulated modem`}},
		{name: "relative device", doc: "[[modem]]\ndevice = \"ttyUSB0\"\n", want: []string{
			`FILE:2: modem[0].device: "ttyUSB0" is not an absolute path: use the full path, e.g. "/dev/serial/by-id/..."`}},
		{name: "SIM device", doc: "[[modem]]\ndevice = \"SIM\"\n", want: []string{
			`FILE:2: modem[0].device: "SIM" is not an absolute path: did you mean "sim"?`}},
		{name: "duplicate id", doc: real0 + "id = \"a\"\n[[modem]]\ndevice = \"sim\"\nid = \"a\"\n", want: []string{
			`FILE:6: modem[1].id: "a" is also the id of modem[0]; ids must be unique`}},
		{name: "duplicate default id", doc: real0 + real0, want: []string{
			`FILE:3: modem[1].id: "/dev/ttyUSB0" is also the id of modem[0]; ids must be unique`,
			`FILE:4: modem[1].device: "/dev/ttyUSB0" is also the device of modem[0] (/dev/ttyUSB0): one port cannot serve two modems`}},
		{name: "id with a space", doc: real0 + "id = \"my modem\"\n", want: []string{
			`FILE:3: modem[0].id: "my modem" must not contain spaces or control characters`}},
		{name: "baud", doc: real0 + "baud = -1\n", want: []string{
			`FILE:3: modem[0].baud: -1 must be positive`}},
		{name: "pin letters", doc: real0 + "pin = \"12a4\"\n", want: []string{
			`FILE:3: modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown)`}},
		{name: "pin short", doc: real0 + "pin = \"123\"\n", want: []string{
			`FILE:3: modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown)`}},
		{name: "pin with a quote", doc: real0 + "pin = '12\"4'\n", want: []string{
			`FILE:3: modem[0].pin: a SIM PIN is 4 to 8 digits (the value is not shown)`}},
		{name: "smsc", doc: real0 + "smsc = \"+44 7785 016005\"\n", want: []string{
			`FILE:3: modem[0].smsc: "+44 7785 016005" is not a phone number: + and up to 20 digits, e.g. "+447785016005"`}},
		{name: "routes", doc: real0 + "routes = [\"44\", \"+\", \"+44-7\", \"+1234567890123456\", \"+49\", \"+49\"]\n", want: []string{
			`FILE:3: modem[0].routes[0]: "44" is not a number prefix: + and 1 to 15 digits, e.g. "+44"`,
			`FILE:3: modem[0].routes[1]: "+" is not a number prefix: + and 1 to 15 digits, e.g. "+44"`,
			`FILE:3: modem[0].routes[2]: "+44-7" is not a number prefix: + and 1 to 15 digits, e.g. "+44"`,
			`FILE:3: modem[0].routes[3]: "+1234567890123456" is not a number prefix: + and 1 to 15 digits, e.g. "+44"`,
			`FILE:3: modem[0].routes[5]: "+49" is listed twice`}},
		{name: "rate", doc: real0 + "rate_per_minute = -5\n", want: []string{
			`FILE:3: modem[0].rate_per_minute: -5 must be 0 (no limit) or more`}},
		{name: "quirks", doc: real0 + "quirks = \"Quectel\"\n", want: []string{
			`FILE:3: modem[0].quirks: "Quectel" is not one of generic, huawei, quectel, simcom`}},
		{name: "storage", doc: real0 + "storage = \"SIM\"\n", want: []string{
			`FILE:3: modem[0].storage: "SIM" is not SM (the SIM), ME (the modem) or MT (both)`}},
		{name: "cnmi", doc: real0 + "cnmi = \"2,1,0,1,0;+CMGD=1\"\n", want: []string{
			`FILE:3: modem[0].cnmi: "2,1,0,1,0;+CMGD=1" is not AT+CNMI parameters: up to 5 numbers separated by commas, e.g. "2,1,0,1,0"`}},
		{name: "modem durations", doc: real0 + "command_timeout = \"0s\"\nsend_timeout = \"0s\"\nhealth_interval = \"0s\"\nsweep_interval = \"0s\"\nregistration_timeout = \"0s\"\n", want: []string{
			`FILE:3: modem[0].command_timeout: 0s must be positive`,
			`FILE:4: modem[0].send_timeout: 0s must be positive`,
			`FILE:5: modem[0].health_interval: 0s must be positive`,
			`FILE:6: modem[0].sweep_interval: 0s must be positive`,
			`FILE:7: modem[0].registration_timeout: 0s must be positive`}},
		{name: "sim keys on a real modem", doc: real0 + "sim_number = \"+12015550101\"\nsim_latency = \"0s\"\n", want: []string{
			`FILE:3: modem[0].sim_number: applies only to a simulated modem (device = "sim")`,
			`FILE:4: modem[0].sim_latency: applies only to a simulated modem (device = "sim")`}},
		{name: "sim number", doc: "[[modem]]\ndevice = \"sim\"\nsim_number = \"555-0001\"\n", want: []string{
			`FILE:3: modem[0].sim_number: "555-0001" is not a phone number: + and digits, e.g. "+12015550101"`}},
		{name: "sim latency", doc: "[[modem]]\ndevice = \"sim\"\nsim_latency = \"-1s\"\n", want: []string{
			`FILE:3: modem[0].sim_latency: -1s must not be negative`}},
		{name: "duplicate sim number", doc: "[[modem]]\ndevice = \"sim\"\n[[modem]]\ndevice = \"sim\"\nsim_number = \"+12015550101\"\n", want: []string{
			`FILE:5: modem[1].sim_number: "+12015550101" is also the number of modem[0]`}},
		{name: "country lower case", doc: "[sms]\ndefault_country = \"gb\"\n", want: []string{
			`FILE:2: sms.default_country: "gb" is not a country code: did you mean "GB"?`}},
		{name: "country UK", doc: "[sms]\ndefault_country = \"UK\"\n", want: []string{
			`FILE:2: sms.default_country: "UK" is not a country code: did you mean "GB"?`}},
		{name: "country unknown", doc: "[sms]\ndefault_country = \"XX\"\n", want: []string{
			`FILE:2: sms.default_country: "XX" is not a country code (ISO 3166 two letters, e.g. "GB")`}},
		{name: "CRLF and a byte order mark", doc: "\ufeff[http]\r\nlisten = \"0.0.0.0:1\"\r\n\r\n[log]\r\nlevel = \"x\"\r\n", want: []string{
			`FILE:2: http.listen: refusing to listen on 0.0.0.0:1 without tokens: set [http] tokens or listen on 127.0.0.1`,
			`FILE:5: log.level: "x" is not debug, info, warn or error`}},
		{name: "max parts 0", doc: "[sms]\nmax_parts = 0\n", want: []string{
			`FILE:2: sms.max_parts: 0 is not from 1 to 255`}},
		{name: "max parts 256", doc: "[sms]\nmax_parts = 256\n", want: []string{
			`FILE:2: sms.max_parts: 256 is not from 1 to 255`}},
		{name: "validity too long", doc: "[sms]\ndefault_validity = \"64w\"\n", want: []string{
			`FILE:2: sms.default_validity: 64w is not from 0 (none) to 63w, the longest an SMS can carry`}},
		{name: "validity negative", doc: "[sms]\ndefault_validity = \"-1h\"\n", want: []string{
			`FILE:2: sms.default_validity: -1h is not from 0 (none) to 63w, the longest an SMS can carry`}},
		{name: "interrupted send", doc: "[sms]\ninterrupted_send = \"resend\"\n", want: []string{
			`FILE:2: sms.interrupted_send: "resend" is not "retry" or "fail"`}},
		{name: "language", doc: "[sms]\nlanguage = \"klingon\"\n", want: []string{
			`FILE:2: sms.language: unknown national language "klingon" (choose none, turkish, spanish, portuguese, bengali, gujarati, hindi, kannada, malayalam, oriya, punjabi, tamil, telugu or urdu)`}},
		{name: "log level", doc: "[log]\nlevel = \"warning\"\nformat = \"logfmt\"\n", want: []string{
			`FILE:2: log.level: "warning" is not debug, info, warn or error`,
			`FILE:3: log.format: "logfmt" is not auto, text or json`}},

		// Several problems at once, in file order.
		{name: "all problems, in order", doc: "[sms]\nmax_parts = 0\n\n[http]\nlisten = \"0.0.0.0:80\"\n\n" + real0 + "quirks = \"x\"\n", want: []string{
			`FILE:2: sms.max_parts: 0 is not from 1 to 255`,
			`FILE:5: http.listen: refusing to listen on 0.0.0.0:80 without tokens: set [http] tokens or listen on 127.0.0.1`,
			`FILE:9: modem[0].quirks: "x" is not one of generic, huawei, quectel, simcom`}},
		{name: "a wrong type does not hide other problems", doc: "[http]\nlisten = \"0.0.0.0:1\"\nread_timeout = 5\n[log]\nlevel = \"loud\"\n", want: []string{
			`FILE:2: http.listen: refusing to listen on 0.0.0.0:1 without tokens: set [http] tokens or listen on 127.0.0.1`,
			`FILE:3: http.read_timeout: 5 has no unit: write "5s"`,
			`FILE:5: log.level: "loud" is not debug, info, warn or error`}},
		{name: "a typo in device", doc: "[[modem]]\ndevcie = \"/dev/ttyUSB0\"\n", want: []string{
			`FILE:1: modem[0].device: is required: the serial port ("/dev/serial/by-id/...") or "sim" for a simulated modem`,
			"FILE:2: modem[0].devcie: unknown key: did you mean `device`?"}},
		{name: "decode problems in file order", doc: "[log]\nlevle = 1\n[http]\nlisten = 1\n", want: []string{
			"FILE:2: log.levle: unknown key: did you mean `level`?",
			`FILE:4: http.listen: want a string, got the integer 1: quote it, listen = "1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemLines(t, tt.doc)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"), testDriver)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want one wrapping os.ErrNotExist", err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "read config: ") {
		t.Errorf("error %q does not say what failed", err)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, c *Config)
	}{
		{name: "empty file is the default", doc: "", check: func(t *testing.T, c *Config) {
			want := Default(testDriver)
			want.source = c.source
			want.origin = c.origin
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
		}},
		{name: "keys set, others default", doc: "[http]\nlisten = \"0.0.0.0:9000\"\ntokens = [\"" + token + "\"]\nidle_timeout = \"1h30m\"\n\n[sms]\ndefault_country = \"GB\"\ndelivery_reports = false\ndefault_validity = \"2w\"\ninterrupted_send = \"fail\"\n\n[log]\nformat = \"json\"\n", check: func(t *testing.T, c *Config) {
			h := c.HTTP
			if h.Listen != "0.0.0.0:9000" || !reflect.DeepEqual(h.Tokens, []string{token}) || time.Duration(h.IdleTimeout) != 90*time.Minute {
				t.Errorf("http %+v", h)
			}
			if h.ReadTimeout != Duration(DefaultReadTimeout) || h.MaxBodyBytes != DefaultMaxBodyBytes {
				t.Errorf("http defaults lost: %+v", h)
			}
			s := c.SMS
			if s.DefaultCountry != "GB" || s.DeliveryReports || time.Duration(s.DefaultValidity) != 14*24*time.Hour || s.InterruptedSend != "fail" || s.MaxParts != 10 {
				t.Errorf("sms %+v", s)
			}
			if c.Log != (Log{Level: "info", Format: "json"}) {
				t.Errorf("log %+v", c.Log)
			}
			if len(c.Modems) != 1 || c.Modems[0].ID != "sim0" {
				t.Errorf("without [[modem]] the default simulated modem stays: %+v", c.Modems)
			}
		}},
		{name: "modems replace the default and start from DefaultModem", doc: `
[[modem]]
device = "/dev/serial/by-id/usb-Quectel_EG25-if02-port0"
routes = ["+44", "+8613"]
quirks = "quectel"
pin = "0000"

[[modem]]
id = "backup"
device = "/dev/ttyUSB3"
baud = 9600
storage = "MT"
direct = true
cnmi = "2,1,0,2,0"
rate_per_minute = 6
send_timeout = "90s"
sweep_interval = "1d"

[[modem]]
device = "sim"

[[modem]]
device = "sim"
id = "spare"
sim_number = "+15550001234"
sim_latency = "0s"

[[modem]]
device = "sim"
`, check: func(t *testing.T, c *Config) {
			var ids, numbers []string
			for _, m := range c.Modems {
				ids = append(ids, m.ID)
				numbers = append(numbers, m.SimNumber)
			}
			wantIDs := []string{"/dev/serial/by-id/usb-Quectel_EG25-if02-port0", "backup", "sim0", "spare", "sim2"}
			if !reflect.DeepEqual(ids, wantIDs) {
				t.Errorf("ids %q, want %q", ids, wantIDs)
			}
			wantNumbers := []string{"", "", "+12015550101", "+15550001234", "+12015550103"}
			if !reflect.DeepEqual(numbers, wantNumbers) {
				t.Errorf("sim numbers %q, want %q", numbers, wantNumbers)
			}
			m0 := c.Modems[0]
			want0 := DefaultModem(testDriver)
			want0.ID, want0.Device = m0.Device, m0.Device
			want0.Routes, want0.Quirks, want0.PIN = []string{"+44", "+8613"}, "quectel", "0000"
			if !reflect.DeepEqual(m0, want0) {
				t.Errorf("modem 0\n got %+v\nwant %+v", m0, want0)
			}
			m1 := c.Modems[1]
			if m1.Baud != 9600 || m1.Storage != "MT" || !m1.Direct || m1.CNMI != "2,1,0,2,0" || m1.RatePerMinute != 6 ||
				time.Duration(m1.SendTimeout) != 90*time.Second || time.Duration(m1.SweepInterval) != 24*time.Hour ||
				m1.CommandTimeout != Duration(5*time.Second) {
				t.Errorf("modem 1 %+v", m1)
			}
			if c.Modems[3].SimLatency != 0 || c.Modems[2].SimLatency != Duration(DefaultSimLatency) {
				t.Errorf("sim latencies %v, %v", c.Modems[2].SimLatency, c.Modems[3].SimLatency)
			}
		}},
		{name: "bare zero duration", doc: "[sms]\ndefault_validity = 0\n", check: func(t *testing.T, c *Config) {
			if c.SMS.DefaultValidity != 0 {
				t.Errorf("default_validity %v", c.SMS.DefaultValidity)
			}
		}},
		{name: "inline tables and quoted keys", doc: "http = { listen = \"127.0.0.1:1\" }\n\"log\".\"level\" = \"warn\"\nmodem = [{ device = \"sim\" }]\n", check: func(t *testing.T, c *Config) {
			if c.HTTP.Listen != "127.0.0.1:1" || c.Log.Level != "warn" || c.Modems[0].ID != "sim0" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "IPv6 loopback and localhost need no token", doc: "[http]\nlisten = \"[::1]:8080\"\n", check: func(t *testing.T, c *Config) {}},
		{name: "localhost needs no token", doc: "[http]\nlisten = \"localhost:0\"\n", check: func(t *testing.T, c *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, tt.doc))
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default(testDriver)
	if err := c.Validate(); err != nil {
		t.Fatalf("the default does not validate: %v", err)
	}
	if c.HTTP.Listen != "127.0.0.1:8080" || c.Store.Path != "./bridged.db" || c.Log.Level != "info" || c.Log.Format != "auto" {
		t.Errorf("default %+v", c)
	}
	if len(c.Modems) != 1 || c.Modems[0].ID != "sim0" || !c.Modems[0].IsSim() {
		t.Errorf("default modems %+v", c.Modems)
	}
	if c.SMS.MaxParts != 10 || !c.SMS.DeliveryReports || c.SMS.InterruptedSend != "retry" || c.SMS.DefaultValidity != 0 {
		t.Errorf("default sms %+v", c.SMS)
	}
	// Each call is a fresh value: the daemon or a test may change one.
	c.Modems[0].Routes = append(c.Modems[0].Routes, "+44")
	c.HTTP.Tokens = append(c.HTTP.Tokens, "x")
	if d := Default(testDriver); len(d.Modems[0].Routes) != 0 || len(d.HTTP.Tokens) != 0 {
		t.Errorf("Default shares slices between calls")
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default(testDriver)
	c.Modems = append(c.Modems, Modem{Device: "/dev/ttyUSB0"})
	c.HTTP.Listen = "0.0.0.0:1"
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate: %v, want a *ValidationError", err)
	}
	// No file: no file name and no line, but the key and the value.
	want := "http.listen: refusing to listen on 0.0.0.0:1 without tokens: set [http] tokens or listen on 127.0.0.1\n" +
		"modem[1].id: must not be empty (Load names a modem after its device)\n" +
		"modem[1].baud: 0 must be positive\n" +
		"modem[1].quirks: \"\" is not one of generic, huawei, quectel, simcom\n" +
		"modem[1].storage: \"\" is not SM (the SIM), ME (the modem) or MT (both)\n" +
		"modem[1].command_timeout: 0s must be positive\n" +
		"modem[1].send_timeout: 0s must be positive\n" +
		"modem[1].health_interval: 0s must be positive\n" +
		"modem[1].sweep_interval: 0s must be positive\n" +
		"modem[1].registration_timeout: 0s must be positive"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	c.Modems = nil
	c.HTTP.Listen = DefaultListen
	if err := c.Validate(); err == nil || err.Error() != `modem: no [[modem]]: add one with device = "/dev/serial/by-id/..." or device = "sim"` {
		t.Errorf("no modems: %v", err)
	}
}

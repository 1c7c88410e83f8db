package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestWriteRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{name: "default", doc: ""},
		{name: "everything set", doc: `
[http]
listen = "127.0.0.1:9999"
read_timeout = "1m30s"
max_body_bytes = 4096
[store]
path = "/var/lib/bridged/queue.db"
[[modem]]
id = "q"
device = "/dev/serial/by-id/usb-Quectel_EG25-if02-port0"
routes = ["+44", "+8613"]
smsc = "+447785016005"
cnmi = "2,1,0,2,0"
direct = true
sweep_interval = "1d"
[[modem]]
device = "sim"
sim_latency = "250ms"
[sms]
default_country = "CN"
default_validity = "63w"
delivery_reports = false
[log]
level = "debug"
`},
		{name: "strings that need escapes", doc: "[store]\npath = '/tmp/a \"b\" \\ c\t'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvCredentials, "")
			want := mustLoad(t, tt.doc)
			var out bytes.Buffer
			if err := want.Write(&out); err != nil {
				t.Fatal(err)
			}
			got := mustLoad(t, out.String())
			got.source, got.origin = want.source, want.origin
			if !reflect.DeepEqual(got, want) {
				t.Errorf("written:\n%s\nloads as %+v\nwant %+v", out.String(), got, want)
			}
		})
	}
}

func TestWriteMasksSecrets(t *testing.T) {
	const tok1, tok2 = "s3cr3t-token-000000001", "s3cr3t-token-000000002"
	t.Setenv(EnvCredentials, "")
	t.Setenv("BRIDGED_TOKENS", tok1+","+tok2)
	t.Setenv("BRIDGED_PIN_SIM0", "97531")
	cfg := mustLoad(t, "[[modem]]\ndevice = \"sim\"\n[[modem]]\ndevice = \"/dev/ttyUSB0\"\npin = \"86420\"\n[[modem]]\ndevice = \"/dev/ttyUSB1\"\n")
	var out bytes.Buffer
	if err := cfg.Write(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{tok1, tok2, "97531", "86420"} {
		if strings.Contains(s, secret) {
			t.Errorf("output shows the secret %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{
		"# overridden by BRIDGED_TOKENS, BRIDGED_PIN_SIM0\n",
		`tokens = ["***", "***"]`,
		"id = \"sim0\"\ndevice = \"sim\"\nbaud = 115200\npin = \"***\"\n",
		"id = \"/dev/ttyUSB0\"\ndevice = \"/dev/ttyUSB0\"\nbaud = 115200\npin = \"***\"\n",
		// No PIN is not a secret: show that there is none.
		"id = \"/dev/ttyUSB1\"\ndevice = \"/dev/ttyUSB1\"\nbaud = 115200\npin = \"\"\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output does not contain %q:\n%s", want, s)
		}
	}
	// Simulator keys only for the simulated modem.
	if n := strings.Count(s, "sim_number"); n != 1 {
		t.Errorf("sim_number appears %d times, want once:\n%s", n, s)
	}
	// Still TOML.
	var raw map[string]any
	if _, err := toml.Decode(s, &raw); err != nil {
		t.Errorf("output is not TOML: %v", err)
	}
}

// TestSecretFields keeps the masking complete: a new field whose name
// suggests a secret must be tagged bridged:"secret".
func TestSecretFields(t *testing.T) {
	var walk func(t *testing.T, typ reflect.Type)
	walk = func(t *testing.T, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(t, ft)
				continue
			}
			name := strings.ToLower(f.Tag.Get("toml"))
			looksSecret := false
			for _, w := range []string{"token", "pin", "password", "secret", "key"} {
				looksSecret = looksSecret || strings.Contains(name, w)
			}
			if looksSecret && f.Tag.Get("bridged") != "secret" {
				t.Errorf("%s.%s looks like a secret but is not tagged bridged:\"secret\"", typ.Name(), f.Name)
			}
		}
	}
	walk(t, reflect.TypeFor[Config]())
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestWriteGolden pins the exact output of check-config for the built-in
// default: scripts and people read it. Rewrite with go test -update.
func TestWriteGolden(t *testing.T) {
	var out bytes.Buffer
	if err := Default(testDriver).Write(&out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "default.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("Write(Default(testDriver)) differs from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}

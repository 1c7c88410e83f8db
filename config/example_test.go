package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const examplePath = "../config.example.toml"

// commentedKey matches a key line or table header that is commented out,
// "# pin = ..." or "# [[modem]]", as opposed to prose.
var commentedKey = regexp.MustCompile(`^# ([a-z_]+ = .*|\[\[?[a-z]+\]\]?)$`)

// TestExampleLoads checks that config.example.toml loads and validates, both
// as shipped and with its commented-out keys and modem enabled, and that
// the values it shows are the defaults apart from the example modem's.
func TestExampleLoads(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	cfg, err := Load(examplePath, testDriver)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	def := Default(testDriver)
	if !reflect.DeepEqual(cfg.HTTP, def.HTTP) || cfg.Store != def.Store || cfg.SMS != def.SMS || cfg.Log != def.Log {
		t.Errorf("the example shows values other than the defaults:\n got %+v\nwant %+v", cfg, def)
	}
	want := DefaultModem(testDriver)
	m := cfg.Modems[0]
	want.ID, want.Device, want.Routes, want.Quirks = m.ID, m.Device, m.Routes, m.Quirks
	if len(cfg.Modems) != 1 || !reflect.DeepEqual(m, want) {
		t.Errorf("the example modem shows values other than the defaults:\n got %+v\nwant %+v", cfg.Modems, want)
	}

	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if commentedKey.MatchString(l) {
			lines[i] = strings.TrimPrefix(l, "# ")
		}
	}
	all, err := parse(examplePath+" (uncommented)", strings.Join(lines, "\n"), testDriver)
	if err != nil {
		t.Fatalf("the example with its commented keys enabled does not load: %v", err)
	}
	if len(all.Modems) != 2 || !all.Modems[1].IsSim() || all.Modems[0].PIN == "" || all.Modems[0].SMSC == "" || all.Modems[0].CNMI == "" {
		t.Errorf("uncommented example: %+v", all.Modems)
	}
}

// TestExampleDocumentsEveryKey walks the Config struct's toml tags: each
// key must appear in the example (set or commented out) after a comment
// that says what its default is (or that it is required), and each table must have its header. A
// comment's "Default X" must match the value set under it.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	// The example modem's own values, not defaults.
	examples := map[string]bool{"modem.id": true, "modem.device": true, "modem.routes": true, "modem.quirks": true}
	defaultIs := regexp.MustCompile(`Default ("[^"]*"|[0-9]+|true|false)[ .]`)

	// documented maps "table.key" to the line of its first appearance
	// and the comment block above it; tables maps "[http]" to true.
	type doc struct {
		line    int
		comment string
		value   string // empty when commented out
	}
	documented := map[string]doc{}
	tables := map[string]bool{}
	table, comment := "", ""
	for i, l := range lines {
		key := strings.TrimPrefix(l, "# ")
		switch {
		case strings.HasPrefix(key, "["):
			tables[key] = true
			table = strings.Trim(key, "[]")
			comment = ""
		case commentedKey.MatchString(l) || regexp.MustCompile(`^[a-z_]+ = `).MatchString(l):
			name, value, _ := strings.Cut(key, " = ")
			path := table + "." + name
			if _, seen := documented[path]; !seen {
				d := doc{line: i + 1, comment: comment}
				if !strings.HasPrefix(l, "#") {
					d.value = value
				}
				documented[path] = d
			}
			comment = ""
		case strings.HasPrefix(l, "#"):
			comment += l[1:] + "\n"
		default:
			comment = ""
		}
	}

	for _, tab := range topTables() {
		if !tables[tab.name] {
			t.Errorf("the example has no %s", tab.name)
		}
		name := strings.Trim(tab.name, "[]")
		for i := range tab.t.NumField() {
			key := tab.t.Field(i).Tag.Get("toml")
			if key == "" {
				continue
			}
			path := name + "." + key
			d, ok := documented[path]
			switch {
			case !ok:
				t.Errorf("%s: not in the example", path)
			case !strings.Contains(d.comment, "Default") && !strings.Contains(d.comment, "Required"):
				t.Errorf("%s (line %d): the comment above it does not give the default:\n%s", path, d.line, d.comment)
			case d.value != "" && !examples[path]:
				if m := defaultIs.FindStringSubmatch(d.comment); m != nil && m[1] != d.value {
					t.Errorf("%s (line %d): the comment says Default %s, the value is %s", path, d.line, m[1], d.value)
				}
			}
		}
	}
}

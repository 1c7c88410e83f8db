package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over Default(d), applies the environment
// overrides (see applyEnv) and validates the result. A file that cannot be
// read is an error wrapping the os error. Anything wrong with its content
// (TOML syntax, an unknown key, a wrong type, an invalid value) is a
// *ValidationError listing every problem with its file and line.
//
// [[modem]] tables replace the default simulated modem; each starts from
// DefaultModem. A modem without an id is named after its device, or
// "simN" for the Nth simulated one.
func Load(path string, d Driver) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, string(data), d)
}

func parse(path, doc string, drv Driver) (*Config, error) {
	var cfg *Config
	var lines map[string]int
	fail := func(ps problems) error {
		for i := range ps {
			ps[i].File = path
			// A value from the environment is not on any line.
			if ps[i].Line == 0 && cfg.originOf(ps[i].Key) == "" {
				ps[i].Line = lineOf(lines, ps[i].Key)
			}
		}
		// File order; problems without a line (defaults, environment) last.
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i].Line, ps[j].Line
			return a != 0 && (b == 0 || a < b)
		})
		return ps.err()
	}

	var top map[string]toml.Primitive
	md, err := toml.Decode(doc, &top)
	if err != nil {
		p := Problem{Message: err.Error()}
		if pe, ok := errors.AsType[toml.ParseError](err); ok {
			p.Line, p.Message = pe.Position.Line, "invalid TOML: "+pe.Message
			// The library counts an unexpected newline as on the next
			// line ("[http\n" was line 2); its offset says where it is.
			if start := pe.Position.Start; start >= 0 && start < len(doc) {
				p.Line = strings.Count(doc[:start], "\n") + 1
			}
		}
		// The library quotes what it could not parse, which may be a PIN.
		p = maskParseError(doc, p)
		return nil, fail(problems{p})
	}
	lines = keyLines(doc, md)
	cfg = Default(drv)
	cfg.source = path
	d := &decoder{md: md, template: DefaultModem(drv)}
	d.table("", top, reflect.ValueOf(cfg).Elem())
	cfg.nameModems(drv)
	cfg.nameWebhooks()
	// Validate even after a decoding problem, to report everything at
	// once; a key that did not decode kept its default, so what
	// Validate says about it would only repeat the problem.
	ps := d.ps
	undecoded := map[string]bool{}
	for _, p := range ps {
		undecoded[p.Key] = true
	}
	for _, p := range cfg.finish() {
		if !undecoded[p.Key] {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, fail(ps)
	}
	return cfg, nil
}

// finish applies the environment overrides and validates, and returns
// every problem, those with a value from outside the file saying so.
func (c *Config) finish() problems {
	ps := c.applyEnv()
	if err := c.Validate(); err != nil {
		ps = append(ps, err.(*ValidationError).Problems...)
	}
	for i := range ps {
		if from := c.originOf(ps[i].Key); from != "" {
			ps[i].Message += " (set by " + from + ")"
		}
	}
	return ps
}

// originOf returns where an override of key (or of the array it is an
// element of) came from, or "" when the value is the file's or a default.
func (c *Config) originOf(key string) string {
	if c == nil {
		return ""
	}
	if from, ok := c.origin[key]; ok {
		return from
	}
	if i := strings.LastIndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
		return c.origin[key[:i]]
	}
	return ""
}

// LoadDefault returns Default with the environment overrides applied,
// validated: what bridged runs on without a configuration file. It fails
// like Load, without a file name.
func LoadDefault(d Driver) (*Config, error) {
	cfg := Default(d)
	if err := cfg.finish().err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// lineOf returns the line of key, or of the nearest table that holds it
// (for a default value of a key the file does not set), or 0.
func lineOf(lines map[string]int, key string) int {
	for key != "" {
		if n, ok := lines[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// nameModems gives each modem without an id one: its device path, as the
// driver would, or "simN" for the Nth simulated modem ("sim" names no
// one device); and each simulated modem its default number.
func (c *Config) nameModems(d Driver) {
	sims := 0
	for i := range c.Modems {
		m := &c.Modems[i]
		if m.IsSim() {
			if m.ID == "" {
				m.ID = "sim" + strconv.Itoa(sims)
			}
			if m.SimNumber == "" {
				m.SimNumber = d.SimNumber(sims)
			}
			sims++
		} else if m.ID == "" {
			m.ID = m.Device
		}
	}
}

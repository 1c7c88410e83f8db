package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over Default, applies the environment
// overrides (see applyEnv) and validates the result. A file that cannot be
// read is an error wrapping the os error. Anything wrong with its content
// (TOML syntax, an unknown key, a wrong type, an invalid value) is a
// *ValidationError listing every problem with its file and line.
//
// [[modem]] tables replace the default simulated modem; each starts from
// DefaultModem. A modem without an id is named after its device, or
// "simN" for the Nth simulated one.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, string(data))
}

func parse(path, doc string) (*Config, error) {
	var cfg *Config
	fail := func(ps problems) error {
		lines := keyLines(doc)
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

	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
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
	cfg = Default()
	cfg.source = path
	var ps problems
	decodeTable(&ps, "", raw, reflect.ValueOf(cfg).Elem())
	cfg.nameModems()
	// Validate even after a decoding problem, to report everything at
	// once; a key that did not decode kept its default, so what
	// Validate says about it would only repeat the problem.
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
func LoadDefault() (*Config, error) {
	cfg := Default()
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
func (c *Config) nameModems() {
	sims := 0
	for i := range c.Modems {
		m := &c.Modems[i]
		if m.IsSim() {
			if m.ID == "" {
				m.ID = "sim" + strconv.Itoa(sims)
			}
			if m.SimNumber == "" {
				m.SimNumber = simNumber(sims)
			}
			sims++
		} else if m.ID == "" {
			m.ID = m.Device
		}
	}
}

var (
	durationType = reflect.TypeFor[Duration]()
	modemType    = reflect.TypeFor[Modem]()
)

// decodeTable sets the fields of the struct v from the TOML table raw,
// strictly: a key that names no field, or a value of the wrong type, is a
// problem (with a hint when one is likely to help), never ignored. It
// replaces toml.Decode into the struct because that one stops at the first
// error and cannot say which [[modem]] it was in.
func decodeTable(ps *problems, path string, raw map[string]any, v reflect.Value) {
	fields := tomlFields(v.Type())
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		kp := joinKey(path, key)
		i, ok := fields[key]
		if !ok {
			what := "key"
			switch raw[key].(type) {
			case map[string]any, []map[string]any:
				what = "table"
			}
			ps.add(kp, "unknown %s%s", what, suggest(key, v.Type()))
			continue
		}
		decodeValue(ps, kp, key, raw[key], v.Field(i), isSecret(v.Type().Field(i)))
	}
	if v.Type() == modemType && v.FieldByName("Device").String() != SimDevice {
		for _, key := range slices.Sorted(maps.Keys(raw)) {
			if f, ok := fields[key]; ok && v.Type().Field(f).Tag.Get("bridged") == "sim" {
				ps.add(joinKey(path, key), "applies only to a simulated modem (device = %q)", SimDevice)
			}
		}
	}
}

// decodeValue sets f from val. A secret's value (a token, a PIN) is never
// quoted in a problem: its type is, and the hint says how without it.
func decodeValue(ps *problems, kp, key string, val any, f reflect.Value, secret bool) {
	t := f.Type()
	desc := describe
	if secret {
		desc = describeSecret
	}
	bad := func(hint string) { ps.add(kp, "want %s, got %s%s", want(t), desc(val), hint) }
	switch {
	case t == durationType:
		switch x := val.(type) {
		case string:
			d, err := ParseDuration(x)
			if err != nil {
				ps.add(kp, "%v", err)
				return
			}
			f.SetInt(int64(d))
		case int64:
			// Zero is zero in any unit; any other bare number is a guess.
			if x != 0 {
				ps.add(kp, "%d has no unit: write \"%ds\"", x, x)
				return
			}
			f.SetInt(0)
		default:
			bad("")
		}
	case t.Kind() == reflect.String:
		switch x := val.(type) {
		case string:
			f.SetString(x)
		case int64, float64, bool:
			if secret {
				bad(": quote it")
				return
			}
			bad(fmt.Sprintf(": quote it, %s = \"%v\"", key, x))
		default:
			bad("")
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		switch x := val.(type) {
		case int64:
			if f.OverflowInt(x) {
				ps.add(kp, "%d is too large", x)
				return
			}
			f.SetInt(x)
		case string:
			hint := ""
			if _, err := strconv.ParseInt(x, 10, 64); err == nil {
				hint = fmt.Sprintf(": write %s = %s without quotes", key, x)
			}
			bad(hint)
		case float64:
			if x == math.Trunc(x) && !f.OverflowInt(int64(x)) {
				bad(fmt.Sprintf(": write %s = %d", key, int64(x)))
				return
			}
			bad("")
		default:
			bad("")
		}
	case t.Kind() == reflect.Bool:
		switch x := val.(type) {
		case bool:
			f.SetBool(x)
		case string:
			hint := ""
			if x == "true" || x == "false" {
				hint = fmt.Sprintf(": write %s = %s without quotes", key, x)
			}
			bad(hint)
		default:
			bad("")
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		arr, ok := val.([]any)
		if !ok {
			hint := ""
			if s, isStr := val.(string); isStr {
				hint = fmt.Sprintf(": write %s = [%q]", key, s)
				if secret {
					hint = fmt.Sprintf(": put it in brackets, %s = [\"...\"]", key)
				}
			}
			bad(hint)
			return
		}
		out := reflect.MakeSlice(t, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				ps.add(kp+"["+strconv.Itoa(i)+"]", "want a string, got %s", desc(e))
				continue
			}
			out = reflect.Append(out, reflect.ValueOf(s))
		}
		f.Set(out)
	case t.Kind() == reflect.Struct:
		tab, ok := val.(map[string]any)
		if !ok {
			bad("")
			return
		}
		decodeTable(ps, kp, tab, f)
	case t.Kind() == reflect.Slice && t.Elem() == modemType:
		tabs, ok := tables(val)
		if !ok {
			hint := ""
			if _, isTable := val.(map[string]any); isTable {
				hint = fmt.Sprintf(": write [[%s]], with two brackets, for each modem", key)
			}
			bad(hint)
			return
		}
		out := make([]Modem, len(tabs))
		for i, tab := range tabs {
			out[i] = DefaultModem()
			decodeTable(ps, kp+"["+strconv.Itoa(i)+"]", tab, reflect.ValueOf(&out[i]).Elem())
		}
		f.Set(reflect.ValueOf(out))
	default:
		panic("config: no decoder for " + t.String()) // a field type added without one
	}
}

// tables returns an array of tables, written as [[x]] or inline.
func tables(val any) ([]map[string]any, bool) {
	switch x := val.(type) {
	case []map[string]any:
		return x, true
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// want describes the TOML a field of type t takes.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "30s"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	case t.Kind() == reflect.Slice:
		return "an array of tables"
	case t.Kind() == reflect.Struct:
		return "a table"
	}
	return t.String()
}

// describe names a decoded TOML value's type, with the value when short.
func describe(val any) string {
	switch x := val.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("a %T", val)
}

// tomlFields maps the toml tags of struct type t to field indexes.
func tomlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" {
			m[tag] = i
		}
	}
	return m
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

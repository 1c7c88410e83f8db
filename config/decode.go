package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"
)

var (
	durationType = reflect.TypeFor[Duration]()
	modemType    = reflect.TypeFor[Modem]()
	webhookType  = reflect.TypeFor[Webhook]()
)

// decoder sets a Config from a parsed document one key at a time, with
// the TOML library doing each conversion (Duration through UnmarshalTOML).
// Decoding the whole struct at once would stop at the first wrong value,
// match keys case-insensitively, and could not say which [[modem]] a key
// was in; key by key, every problem is reported, each with its path.
type decoder struct {
	md       toml.MetaData
	template Modem // what each [[modem]] starts from
	ps       problems
}

// table sets the fields of the struct v from the keys of one TOML table.
// A key that names no field is a problem, with a hint when one is likely
// to help.
func (d *decoder) table(path string, keys map[string]toml.Primitive, v reflect.Value) {
	fields := tomlFields(v.Type())
	sorted := slices.Sorted(maps.Keys(keys))
	for _, key := range sorted {
		kp := joinKey(path, key)
		i, ok := fields[key]
		if !ok {
			what := "key"
			switch d.raw(keys[key]).(type) {
			case map[string]any, []map[string]any:
				what = "table"
			}
			d.ps.add(kp, "unknown %s%s", what, suggest(key, v.Type()))
			continue
		}
		d.value(kp, key, keys[key], v.Field(i), isSecret(v.Type().Field(i)))
	}
	if v.Type() == modemType && v.FieldByName("Device").String() != SimDevice {
		for _, key := range sorted {
			if i, ok := fields[key]; ok && v.Type().Field(i).Tag.Get("bridged") == "sim" {
				d.ps.add(joinKey(path, key), "applies only to a simulated modem (device = %q)", SimDevice)
			}
		}
	}
}

// start returns what each table of an array of type t starts from.
func (d *decoder) start(t reflect.Type) reflect.Value {
	if t == webhookType {
		return reflect.ValueOf(DefaultWebhook())
	}
	m := d.template
	m.Routes = slices.Clone(d.template.Routes)
	return reflect.ValueOf(m)
}

// value sets f from the TOML value p. The field keeps its default when the
// value does not convert, except for the strings of an array of strings.
func (d *decoder) value(kp, key string, p toml.Primitive, f reflect.Value, secret bool) {
	switch t := f.Type(); {
	case t.Kind() == reflect.Struct && t != durationType:
		// Checked here: the library decodes a value that is not a table
		// into a map as an empty one, without an error.
		var keys map[string]toml.Primitive
		if _, ok := d.raw(p).(map[string]any); !ok || d.md.PrimitiveDecode(p, &keys) != nil {
			d.ps.add(kp, "want a table, got %s", d.describe(p, secret))
			return
		}
		d.table(kp, keys, f)
	case t.Kind() == reflect.Slice && (t.Elem() == modemType || t.Elem() == webhookType):
		var tables []map[string]toml.Primitive
		if !isTables(d.raw(p)) || d.md.PrimitiveDecode(p, &tables) != nil {
			hint := ""
			if _, isTable := d.raw(p).(map[string]any); isTable {
				hint = fmt.Sprintf(": write [[%s]], with two brackets, for each %s", key, key)
			}
			d.ps.add(kp, "want an array of tables, got %s%s", d.describe(p, secret), hint)
			return
		}
		out := reflect.MakeSlice(t, len(tables), len(tables))
		for i, keys := range tables {
			out.Index(i).Set(d.start(t.Elem()))
			d.table(kp+"["+strconv.Itoa(i)+"]", keys, out.Index(i))
		}
		f.Set(out)
	default:
		nv := reflect.New(t)
		if err := d.md.PrimitiveDecode(p, nv.Interface()); err != nil {
			if arr, ok := d.raw(p).([]any); ok && t.Kind() == reflect.Slice {
				d.keepStrings(kp, arr, f, secret)
				return
			}
			d.mismatch(kp, key, p, t, secret, err)
			return
		}
		if x, ok := d.raw(p).(int64); ok && t.Kind() == reflect.Int && nv.Elem().OverflowInt(x) {
			d.ps.add(kp, "%d is too large", x) // int is 32 bits on some Raspberry Pis
			return
		}
		f.Set(nv.Elem())
	}
}

// mismatch reports a value of a type the field cannot take: what was
// wanted, what was there (a secret's type only, never its value), and how
// to write it when that is likely to be the fix.
func (d *decoder) mismatch(kp, key string, p toml.Primitive, t reflect.Type, secret bool, err error) {
	if pe, ok := err.(toml.ParseError); ok && t == durationType {
		d.ps.add(kp, "%s", pe.Message) // Duration.UnmarshalTOML's own words
		return
	}
	val := d.raw(p)
	hint := ""
	switch x := val.(type) {
	case string:
		switch t.Kind() {
		case reflect.Int, reflect.Int64:
			if _, err := strconv.ParseInt(x, 10, 64); err == nil {
				hint = fmt.Sprintf(": write %s = %s without quotes", key, x)
			}
		case reflect.Bool:
			if x == "true" || x == "false" {
				hint = fmt.Sprintf(": write %s = %s without quotes", key, x)
			}
		case reflect.Slice:
			hint = fmt.Sprintf(": write %s = [%q]", key, x)
			if secret {
				hint = fmt.Sprintf(": put it in brackets, %s = [\"...\"]", key)
			}
		}
	case int64, float64, bool:
		if t.Kind() == reflect.String {
			hint = fmt.Sprintf(": quote it, %s = \"%v\"", key, x)
			if secret {
				hint = ": quote it"
			}
		}
		isInt := t.Kind() == reflect.Int || t.Kind() == reflect.Int64
		if f, ok := x.(float64); ok && isInt && f == math.Trunc(f) && !reflect.New(t).Elem().OverflowInt(int64(f)) && math.Abs(f) < 1<<63 {
			hint = fmt.Sprintf(": write %s = %d", key, int64(f))
		}
	}
	d.ps.add(kp, "want %s, got %s%s", want(t), describe(val, secret), hint)
}

// keepStrings sets f to the strings of an array with other values in it,
// each of which is a problem: the strings are still validated.
func (d *decoder) keepStrings(kp string, arr []any, f reflect.Value, secret bool) {
	out := reflect.MakeSlice(f.Type(), 0, len(arr))
	for i, e := range arr {
		if s, ok := e.(string); ok {
			out = reflect.Append(out, reflect.ValueOf(s))
		} else {
			d.ps.add(kp+"["+strconv.Itoa(i)+"]", "want a string, got %s", describe(e, secret))
		}
	}
	f.Set(out)
}

// isTables reports whether val is an array of tables, written as [[x]] or
// inline.
func isTables(val any) bool {
	switch x := val.(type) {
	case []map[string]any:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// raw returns p as the library parsed it: string, int64, float64, bool,
// time.Time, []any, map[string]any or []map[string]any.
func (d *decoder) raw(p toml.Primitive) any {
	var v any
	d.md.PrimitiveDecode(p, &v) // into any, nothing can fail
	return v
}

func (d *decoder) describe(p toml.Primitive, secret bool) string { return describe(d.raw(p), secret) }

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
	case t.Kind() == reflect.Slice:
		return "an array of strings"
	}
	return t.String()
}

// describe names a decoded TOML value's type, with the value when short
// and not a secret (a token, a PIN).
func describe(val any, secret bool) string {
	var what, value string
	switch x := val.(type) {
	case string:
		what, value = "a string", fmt.Sprintf("the string %q", x)
	case int64:
		what, value = "an integer", fmt.Sprintf("the integer %d", x)
	case float64:
		what, value = "a number", fmt.Sprintf("the number %v", x)
	case bool:
		what, value = "a boolean", fmt.Sprintf("%v", x)
	case map[string]any:
		what = "a table"
	case []map[string]any, []any:
		what = "an array"
	case time.Time:
		what = "a date"
	default:
		what = "a value"
	}
	if secret {
		return what + " (a secret: the value is not shown)"
	}
	if value == "" {
		return what
	}
	return value
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

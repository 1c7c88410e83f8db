package config

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Mask is what Write prints instead of a secret.
const Mask = "***"

// Write prints the effective configuration as TOML that Load reads back,
// except that secrets (tokens, PINs) are printed as Mask. It fails only
// when w does.
func (c *Config) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	src := "the built-in default"
	if c.source != "" {
		src = c.source
	}
	fmt.Fprintf(bw, "# bridged configuration: %s\n", src)
	if len(c.overrides) > 0 {
		fmt.Fprintf(bw, "# overridden by %s\n", strings.Join(c.overrides, ", "))
	}
	fmt.Fprintf(bw, "# secrets are shown as %q\n", Mask)
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("toml")
		if name == "" {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Slice {
			for j := range f.Len() {
				fmt.Fprintf(bw, "\n[[%s]]\n", name)
				writeTable(bw, f.Index(j))
			}
			continue
		}
		fmt.Fprintf(bw, "\n[%s]\n", name)
		writeTable(bw, f)
	}
	return bw.Flush()
}

func writeTable(w io.Writer, v reflect.Value) {
	t := v.Type()
	sim := t == modemType && v.Interface().(Modem).IsSim()
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("toml")
		if name == "" || sf.Tag.Get("bridged") == "sim" && !sim {
			continue
		}
		f := v.Field(i)
		if sf.Tag.Get("bridged") == "url" {
			f = reflect.ValueOf(RedactURL(f.String()))
		}
		fmt.Fprintf(w, "%s = %s\n", name, formatValue(f, isSecret(sf)))
	}
}

func formatValue(f reflect.Value, secret bool) string {
	switch {
	case f.Type() == durationType:
		return quote(f.Interface().(Duration).String())
	case f.Kind() == reflect.String:
		if secret && f.String() != "" {
			return quote(Mask)
		}
		return quote(f.String())
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		return strconv.FormatInt(f.Int(), 10)
	case f.Kind() == reflect.Bool:
		return strconv.FormatBool(f.Bool())
	case f.Kind() == reflect.Slice:
		parts := make([]string, f.Len())
		for i := range parts {
			parts[i] = formatValue(f.Index(i), secret)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	panic("config: no format for " + f.Type().String()) // a field type added without one
}

// quote writes s as a TOML basic string. Go's strconv.Quote would not do:
// TOML has no \x or \a escapes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

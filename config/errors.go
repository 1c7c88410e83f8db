package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the configuration file; empty when the configuration was
	// not read from one.
	File string
	// Line is where the key is in File; 0 when it is not in the file (a
	// default or an environment override) or could not be found.
	Line int
	// Key is the key's path: "http.listen", "modem[1].baud"; empty for a
	// problem with the whole file (TOML syntax).
	Key string
	// Message says what is wrong, with the value, and a hint when there is
	// a likely fix.
	Message string
}

// String formats the problem as compilers do, "FILE:LINE: key: message",
// leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError is every problem Load or Validate found, in file order
// where there is one.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems one a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems; its methods keep the checks short.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// isSecret reports whether f is tagged bridged:"secret" (tokens, pin): its
// value is masked by Write and never quoted in a problem.
func isSecret(f reflect.StructField) bool { return f.Tag.Get("bridged") == "secret" }

// secretKeys maps the TOML names of the secret fields to their types.
var secretKeys = func() map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if isSecret(f) {
				keys[f.Tag.Get("toml")] = f.Type
			}
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct:
				walk(ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem())
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	return keys
}()

// secretSpan is where a secret's value is written in a document.
type secretSpan struct {
	key         string
	first, last int // lines, from 1
	value       string
}

// secretSpans finds the secret assignments of a document by their text, as
// it may not parse: "pin = ...", "tokens = [...]" over several lines,
// quoted or dotted keys too.
func secretSpans(doc string) []secretSpan {
	lines := strings.Split(doc, "\n")
	var out []secretSpan
	for i := 0; i < len(lines); i++ {
		k, v, ok := strings.Cut(lines[i], "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if j := strings.LastIndexByte(k, '.'); j >= 0 {
			k = strings.Trim(k[j+1:], `"'`)
		}
		if secretKeys[k] == nil {
			continue
		}
		sp := secretSpan{key: k, first: i + 1, last: i + 1, value: v}
		// An array or a multi-line string goes on until it closes.
		t := strings.TrimSpace(v)
		closer := ""
		switch {
		case strings.HasPrefix(t, "[") && !strings.Contains(t, "]"):
			closer = "]"
		case strings.HasPrefix(t, `"""`) && strings.Count(t, `"""`) == 1:
			closer = `"""`
		case strings.HasPrefix(t, "'''") && strings.Count(t, "'''") == 1:
			closer = "'''"
		}
		for closer != "" && i+1 < len(lines) {
			i++
			sp.last = i + 1
			sp.value += "\n" + lines[i]
			if strings.Contains(lines[i], closer) {
				break
			}
		}
		out = append(out, sp)
	}
	return out
}

// maskParseError rewrites a TOML syntax problem that may quote a secret:
// one on a secret's lines says only where, and any word of a secret's value
// in another is replaced with Mask.
func maskParseError(doc string, p Problem) Problem {
	spans := secretSpans(doc)
	for _, sp := range spans {
		if p.Line >= sp.first && p.Line <= sp.last {
			how := `a quoted string`
			if secretKeys[sp.key].Kind() == reflect.Slice {
				how = `an array of quoted strings`
			}
			p.Message = fmt.Sprintf("invalid TOML in the value of %s (a secret: the value is not shown): write it as %s", sp.key, how)
			return p
		}
	}
	for _, sp := range spans {
		for _, w := range strings.FieldsFunc(sp.value, func(r rune) bool {
			return unicode.IsSpace(r) || strings.ContainsRune(`"'[],#`, r)
		}) {
			p.Message = strings.ReplaceAll(p.Message, w, Mask)
		}
	}
	return p
}

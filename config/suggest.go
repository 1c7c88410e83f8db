package config

import (
	"fmt"
	"reflect"
	"strings"
)

// suggest returns a hint for an unknown key in a table of struct type t:
// the key it most likely meant, or the table it belongs in. Empty when
// nothing is close.
func suggest(key string, t reflect.Type) string {
	best, bestDist := "", 3 // more than two edits away is not a typo
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" {
			continue
		}
		if strings.EqualFold(name, key) {
			return fmt.Sprintf(": did you mean %s? (keys are case-sensitive)", render(f.Type, name))
		}
		// Short keys need a closer match: "pin" is one edit from "bin".
		limit := min(2, len(name)/3)
		if d := distance(strings.ToLower(key), name); d <= limit && d < bestDist {
			best, bestDist = render(f.Type, name), d
		}
	}
	if best != "" {
		return fmt.Sprintf(": did you mean %s?", best)
	}
	here := tableName(t)
	var elsewhere []string
	for _, tab := range topTables() {
		if tab.name != here && hasKey(tab.t, key) {
			elsewhere = append(elsewhere, tab.name)
		}
	}
	if len(elsewhere) > 0 {
		return fmt.Sprintf(": %s belongs in %s", key, strings.Join(elsewhere, " or "))
	}
	return ""
}

// render writes a key as it appears in a file: [table], [[array]], `key`.
func render(t reflect.Type, name string) string {
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "[[" + name + "]]"
	case t.Kind() == reflect.Struct:
		return "[" + name + "]"
	}
	return "`" + name + "`"
}

type table struct {
	name string // as rendered: "[http]", "[[modem]]"
	t    reflect.Type
}

// topTables lists the tables of a Config.
func topTables() []table {
	ct := reflect.TypeFor[Config]()
	var out []table
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("toml")
		if name == "" {
			continue
		}
		t := f.Type
		if t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		out = append(out, table{render(f.Type, name), t})
	}
	return out
}

// tableName renders the table of struct type t; "the top level" for
// Config itself.
func tableName(t reflect.Type) string {
	for _, tab := range topTables() {
		if tab.t == t {
			return tab.name
		}
	}
	return "the top level"
}

func hasKey(t reflect.Type, key string) bool {
	_, ok := tomlFields(t)[key]
	return ok
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours
// each cost one, so "devcie" is one edit from "device".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

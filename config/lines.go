package config

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLines maps the key paths of a parsed document ("http.listen",
// "modem[1].baud", and tables: "modem", "modem[1]") to their lines.
//
// The TOML library keeps its positions to itself (and one per dotted key,
// so every [[modem]] would share the last one's); MetaData gives the keys
// in document order. So each key is looked for from the line after the
// previous one's (and after its value, if that is a multi-line string): a
// header that names it, or a "key = value" whose key, under the last
// header found, is it. A key that does not start a line (inside an inline
// table) is not placed, and a problem with it names its table's line.
func keyLines(doc string, md toml.MetaData) map[string]int {
	lines := strings.Split(strings.TrimPrefix(doc, "\ufeff"), "\n")
	found := map[string]int{}
	elems := map[string]int{} // array of tables -> index of its last [[header]]
	table, next := "", 0
	for _, key := range md.Keys() {
		whole, path := "", ""
		for i, seg := range key {
			whole, path = joinKey(whole, seg), joinKey(path, seg)
			if n, ok := elems[whole]; ok && i < len(key)-1 {
				path += "[" + strconv.Itoa(n) + "]"
			}
		}
		array := path
		if md.Type(key...) == "ArrayHash" { // one more [[header]]
			n, ok := elems[whole]
			if ok {
				n++
			}
			elems[whole] = n
			path += "[" + strconv.Itoa(n) + "]"
		}
		for n := next; n < len(lines); n++ {
			lhs, header := leftSide(lines[n])
			if header && lhs == whole || !header && lhs != "" && joinKey(table, lhs) == whole {
				if header {
					table = whole
				}
				setLine(found, array, n+1)
				setLine(found, path, n+1)
				next = skipString(lines, n)
				break
			}
		}
	}
	return found
}

// skipString returns the line after line n, or after the end of the
// multi-line string that starts on line n, whose lines may look like keys.
func skipString(lines []string, n int) int {
	_, v, _ := strings.Cut(lines[n], "=")
	v = strings.TrimSpace(v)
	for _, q := range []string{`"""`, "'''"} {
		if strings.HasPrefix(v, q) && strings.Count(v, q) == 1 {
			for n++; n < len(lines) && !strings.Contains(lines[n], q); n++ {
			}
		}
	}
	return n + 1
}

// leftSide returns what a line names, without quotes and the spaces
// around them: the table of a [header] or [[header]], or the key of
// "key = value"; "" for anything else.
func leftSide(line string) (name string, header bool) {
	s := strings.TrimSpace(line)
	end := '='
	if header = strings.HasPrefix(s, "["); header {
		s, end = strings.TrimLeft(s, "["), ']'
	}
	var b, quoted strings.Builder // quoted: a "segment" with its escapes
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case quote == 0 && r == end:
			return b.String(), header
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
			quoted.Reset()
		case quote == '"' && (escaped || r == '\\'):
			quoted.WriteRune(r)
			escaped = !escaped
		case r == quote:
			if u, err := strconv.Unquote(`"` + quoted.String() + `"`); err == nil && quote == '"' {
				b.WriteString(u)
			}
			quote = 0
		case quote == '"':
			quoted.WriteRune(r)
		case quote != 0 || r != ' ' && r != '\t':
			b.WriteRune(r)
		}
	}
	return "", false
}

func setLine(lines map[string]int, path string, n int) {
	if _, ok := lines[path]; !ok {
		lines[path] = n
	}
}

package config

import (
	"strconv"
	"strings"
)

// keyLines maps each key path of a TOML document ("http.listen",
// "modem[1].baud", and tables: "modem[1]") to the line it is on.
//
// The TOML library keeps one position per dotted key, so every [[modem]]
// shares the position of the last one's key, and its type errors carry no
// position at all: Load finds lines itself with this small scanner. It is
// only run on a document the library has parsed, so it need not reject
// anything; what it cannot place (keys inside an inline table) it leaves
// out, and the problem then names its table's line or none.
func keyLines(doc string) map[string]int {
	lines := map[string]int{}
	arrays := map[string]int{} // array-of-tables path -> index of its last element
	var table []string         // current table, resolved ("modem[1]")
	var st scanState
	doc = strings.TrimPrefix(doc, "\ufeff") // a byte order mark some editors write
	for n, line := range strings.Split(doc, "\n") {
		n++
		if st.open() {
			st.scan(line)
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[["):
			segs, _, ok := parseKey(s[2:])
			if !ok {
				continue
			}
			parent := resolve(segs[:len(segs)-1], arrays)
			name := joinPath(parent, segs[len(segs)-1])
			i := 0
			if last, ok := arrays[name]; ok {
				i = last + 1
			}
			arrays[name] = i
			setLine(lines, name, n) // the array as a whole is where it starts
			table = append(parent, segs[len(segs)-1]+"["+strconv.Itoa(i)+"]")
			setLine(lines, strings.Join(table, "."), n)
		case s[0] == '[':
			segs, _, ok := parseKey(s[1:])
			if !ok {
				continue
			}
			table = resolve(segs, arrays)
			setLine(lines, strings.Join(table, "."), n)
		default:
			segs, rest, ok := parseKey(s)
			if !ok || !strings.HasPrefix(rest, "=") {
				continue
			}
			path := append(append([]string{}, table...), segs...)
			setLine(lines, strings.Join(path, "."), n)
			st.scan(rest[1:])
		}
	}
	return lines
}

func setLine(lines map[string]int, path string, n int) {
	if _, ok := lines[path]; !ok {
		lines[path] = n
	}
}

func joinPath(parent []string, name string) string {
	return strings.Join(append(append([]string{}, parent...), name), ".")
}

// resolve turns header segments into a path, indexing each segment that
// names an array of tables by its last element, as TOML does.
func resolve(segs []string, arrays map[string]int) []string {
	var out []string
	for _, s := range segs {
		name := joinPath(out, s)
		if i, ok := arrays[name]; ok {
			s += "[" + strconv.Itoa(i) + "]"
		}
		out = append(out, s)
	}
	return out
}

// parseKey reads a dotted key (bare or quoted segments) at the start of s
// and returns its segments and the rest of s after spaces.
func parseKey(s string) (segs []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var seg string
		switch s[0] {
		case '"', '\'':
			q := s[0]
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, "", false
			}
			seg, s = s[1:1+end], s[2+end:]
			if q == '"' {
				if u, err := strconv.Unquote(`"` + seg + `"`); err == nil {
					seg = u
				}
			}
		default:
			i := 0
			for i < len(s) && isBareKeyChar(s[i]) {
				i++
			}
			if i == 0 {
				return nil, "", false
			}
			seg, s = s[:i], s[i:]
		}
		segs = append(segs, seg)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return segs, s, true
		}
		s = s[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// scanState follows a value across lines: an array or inline table not yet
// closed, or a multi-line string, makes the next lines part of it.
type scanState struct {
	depth int    // open [ and {
	multi string // the delimiter of an open multi-line string
}

func (st *scanState) open() bool { return st.depth > 0 || st.multi != "" }

func (st *scanState) scan(s string) {
	for i := 0; i < len(s); i++ {
		if st.multi != "" {
			if strings.HasPrefix(s[i:], st.multi) && (st.multi == "'''" || !escaped(s, i)) {
				i += 2
				st.multi = ""
			}
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '[', '{':
			st.depth++
		case ']', '}':
			st.depth--
		case '"', '\'':
			if d := strings.Repeat(string(c), 3); strings.HasPrefix(s[i:], d) {
				st.multi = d
				i += 2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if c == '"' && s[i] == '\\' {
					i++
				}
			}
		}
	}
}

// escaped reports whether s[i] is preceded by an odd number of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for i--; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

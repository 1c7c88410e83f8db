package modemsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// cmdKind is the syntax an AT command was given in (V.250 5.3 and 27.007 4.1):
// AT+X (exec), AT+X? (read), AT+X=? (test) or AT+X=... (set). Basic commands
// such as E1 are exec with their number in args.
type cmdKind int

const (
	kindExec cmdKind = iota
	kindRead
	kindTest
	kindSet
)

// atCmd is one command of a command line.
type atCmd struct {
	name string // upper case: "E", "&F", "+CMGF", "^RSSI"
	kind cmdKind
	args string // what follows "=" for set, the number of a basic command
}

func (c atCmd) String() string {
	switch c.kind {
	case kindRead:
		return c.name + "?"
	case kindTest:
		return c.name + "=?"
	case kindSet:
		return c.name + "=" + c.args
	}
	return c.name + c.args
}

// parseLine splits the body of a command line (what follows "AT") into its
// commands. V.250 5.4 lets basic commands follow each other directly
// ("E0V1") and separates extended commands with ";" ("+CMGF=0;+CNMI=2,1").
// A ";" inside a quoted string does not separate.
func parseLine(body string) ([]atCmd, error) {
	var cmds []atCmd
	s := body
	for {
		s = strings.TrimLeft(s, " ;")
		if s == "" {
			return cmds, nil
		}
		c := s[0]
		switch {
		case c == '+' || c == '^' || c == '$' || c == '%':
			end := endOfExtended(s)
			cmd, err := parseExtended(s[:end])
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, cmd)
			s = s[end:]
		case c == '&':
			if len(s) < 2 {
				return nil, errors.New("lone & at end of line")
			}
			n := digitsPrefix(s[2:])
			cmds = append(cmds, atCmd{name: "&" + strings.ToUpper(s[1:2]), args: s[2 : 2+n]})
			s = s[2+n:]
		case c == 'S' || c == 's':
			// Sn? reads and Sn=v writes register n (V.250 6.1).
			n := digitsPrefix(s[1:])
			rest := s[1+n:]
			name := "S" + s[1:1+n]
			switch {
			case strings.HasPrefix(rest, "?"):
				cmds = append(cmds, atCmd{name: name, kind: kindRead})
				s = rest[1:]
			case strings.HasPrefix(rest, "="):
				v := digitsPrefix(rest[1:])
				cmds = append(cmds, atCmd{name: name, kind: kindSet, args: rest[1 : 1+v]})
				s = rest[1+v:]
			default:
				return nil, fmt.Errorf("register command %q without ? or =", s)
			}
		case c == 'D' || c == 'd':
			// Dial takes the rest of the line (V.250 6.3.1).
			cmds = append(cmds, atCmd{name: "D", args: s[1:]})
			return cmds, nil
		case isLetter(c):
			n := digitsPrefix(s[1:])
			cmds = append(cmds, atCmd{name: strings.ToUpper(s[:1]), args: s[1 : 1+n]})
			s = s[1+n:]
		default:
			return nil, fmt.Errorf("unexpected %q in command line", c)
		}
	}
}

// endOfExtended returns where an extended command ends: at the first ";"
// outside quotes, or at the end of the line.
func endOfExtended(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return i
			}
		}
	}
	return len(s)
}

func parseExtended(s string) (atCmd, error) {
	i := 1
	for i < len(s) && (isLetter(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '_' || s[i] == '.' || s[i] == '-' || s[i] == '/') {
		i++
	}
	if i == 1 {
		return atCmd{}, fmt.Errorf("extended command %q has no name", s)
	}
	cmd := atCmd{name: strings.ToUpper(s[:i])}
	rest := strings.TrimSpace(s[i:])
	switch {
	case rest == "":
		cmd.kind = kindExec
	case rest == "?":
		cmd.kind = kindRead
	case rest == "=?":
		cmd.kind = kindTest
	case strings.HasPrefix(rest, "="):
		cmd.kind, cmd.args = kindSet, strings.TrimSpace(rest[1:])
	default:
		return atCmd{}, fmt.Errorf("extended command %q: unexpected %q after the name", s, rest)
	}
	return cmd, nil
}

func digitsPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// param is one comma-separated parameter of a set command.
type param struct {
	raw    string // without quotes
	quoted bool
	empty  bool // omitted, as in "+CNMI=2,,0"
}

// splitParams splits set-command arguments at commas outside quotes. Quotes
// are removed; a string keeps its inner spaces.
func splitParams(args string) ([]param, error) {
	if strings.TrimSpace(args) == "" {
		return nil, nil
	}
	var out []param
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() {
		raw := cur.String()
		if !wasQuoted {
			raw = strings.TrimSpace(raw)
		}
		out = append(out, param{raw: raw, quoted: wasQuoted, empty: raw == "" && !wasQuoted})
		cur.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(args); i++ {
		c := args[i]
		switch {
		case c == '"':
			quoted = !quoted
			wasQuoted = true
		case c == ',' && !quoted:
			flush()
		case !quoted && wasQuoted && c != ' ':
			return nil, fmt.Errorf("text after a closing quote in %q", args)
		default:
			if quoted || c != ' ' || cur.Len() > 0 {
				cur.WriteByte(c)
			}
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated string in %q", args)
	}
	flush()
	return out, nil
}

// intParam returns parameter i as an integer in [lo, hi], or def when it is
// absent or empty. ok is false for a malformed or out-of-range value.
func intParam(ps []param, i, lo, hi, def int) (v int, ok bool) {
	if i >= len(ps) || ps[i].empty {
		return def, true
	}
	if ps[i].quoted {
		return 0, false
	}
	n, err := strconv.Atoi(ps[i].raw)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

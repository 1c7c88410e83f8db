package modemsim

import "strings"

// Log attribute keys, one spelling for every log line (STYLE.md: log keys are
// constants). Numbers and AT lines are logged at Debug only: they can hold
// phone numbers and message text.
const (
	logModem  = "modem"
	logPTS    = "pts"
	logLine   = "line"
	logCmd    = "cmd"
	logResult = "result"
	logWhy    = "why"
	logCode   = "code"
	logErr    = "err"
	logFor    = "for"
	logMem    = "mem"
	logFrom   = "from"
	logTo     = "to"
	logMR     = "mr"
	logCount  = "count"
)

// maskSecrets hides the arguments of commands that carry a PIN, PUK or
// password (+CPIN, +CLCK, +CPWD, TS 27.007 8.3, 7.4, 7.5) in a command line
// before it is logged: `bridged sim -v` must not print the PIN a client
// typed.
func maskSecrets(line string) string {
	up := strings.ToUpper(line)
	for _, p := range []string{"+CPIN=", "+CLCK=", "+CPWD="} {
		for from := 0; ; {
			i := strings.Index(up[from:], p)
			if i < 0 {
				break
			}
			start := from + i + len(p)
			end := strings.IndexByte(line[start:], ';')
			if end < 0 {
				end = len(line)
			} else {
				end += start
			}
			line = line[:start] + "***" + line[end:]
			up = up[:start] + "***" + up[end:]
			from = start + 3
		}
	}
	return line
}

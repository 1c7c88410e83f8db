package modem

import (
	"fmt"
	"strconv"
	"strings"
)

// fields splits the value of an information response ("+CMGL: 1,0,,23")
// after its prefix, honouring quotes, and unquotes each field.
func fields(line, prefix string) ([]string, bool) {
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return nil, false
	}
	rest = strings.TrimSpace(rest)
	var out []string
	var b strings.Builder
	quoted := false
	for _, c := range rest {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteRune(c)
		}
	}
	return append(out, strings.TrimSpace(b.String())), true
}

// findLine returns the first response line with the prefix: modems mix
// URCs and noise (^RSSI, RDY) into responses, so position means nothing.
func findLine(lines []string, prefix string) (string, bool) {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

// signalDBm converts an AT+CSQ <rssi> to dBm (TS 27.007 8.5): 0 is -113
// or less, 31 is -51 or more, in 2 dB steps; 99 is unknown (ok false).
func signalDBm(lines []string) (dbm int, ok bool) {
	l, found := findLine(lines, "+CSQ:")
	if !found {
		return 0, false
	}
	f, _ := fields(l, "+CSQ:")
	rssi, err := strconv.Atoi(f[0])
	if err != nil || rssi < 0 || rssi > 31 {
		return 0, false
	}
	return -113 + 2*rssi, true
}

// Registration is the network registration state of TS 27.007 7.2.
type Registration string

// Registration states, named for people and the HTTP API: the two in
// which the modem can send (see Registered),
const (
	RegHome    Registration = "home"
	RegRoaming Registration = "roaming"
)

// and those in which it cannot.
const (
	RegNotRegistered Registration = "not-registered"
	RegSearching     Registration = "searching"
	RegDenied        Registration = "denied"
	RegUnknown       Registration = "unknown"
)

// Registered reports whether the modem can send: home or roaming
// (and, for LTE modems, SMS-only registrations 6 and 7, mapped to these).
func (r Registration) Registered() bool { return r == RegHome || r == RegRoaming }

func registrationFromStat(stat string) Registration {
	switch stat {
	case "0":
		return RegNotRegistered
	case "1", "6": // 6: home, SMS only (TS 27.007 7.2)
		return RegHome
	case "2":
		return RegSearching
	case "3":
		return RegDenied
	case "5", "7": // 7: roaming, SMS only
		return RegRoaming
	}
	return RegUnknown
}

// parseCREG reads "+CREG:" or "+CGREG:" (prefix without the colon). The
// answer to AT+CREG? starts with the URC mode <n>; the URC itself does not,
// so the caller says which it has.
func parseCREG(line, prefix string, query bool) (Registration, bool) {
	f, ok := fields(line, prefix+":")
	if !ok {
		return "", false
	}
	i := 0
	if query {
		i = 1
	}
	if len(f) <= i {
		return "", false
	}
	return registrationFromStat(f[i]), true
}

// operatorName reads the operator from AT+COPS? ("+COPS: 0,0,"Vodafone",7").
func operatorName(lines []string) string {
	l, ok := findLine(lines, "+COPS:")
	if !ok {
		return ""
	}
	f, _ := fields(l, "+COPS:")
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// SIMState is the answer to AT+CPIN? (TS 27.007 8.3), shortened.
type SIMState string

// SIM states, as `bridged modems -json` prints them.
const (
	SIMReady  SIMState = "ready"
	SIMPIN    SIMState = "pin"
	SIMPUK    SIMState = "puk"
	SIMAbsent SIMState = "absent"
	SIMError  SIMState = "error"
)

func simState(lines []string) SIMState {
	l, ok := findLine(lines, "+CPIN:")
	if !ok {
		return SIMError
	}
	f, _ := fields(l, "+CPIN:")
	switch strings.ToUpper(f[0]) {
	case "READY":
		return SIMReady
	case "SIM PIN":
		return SIMPIN
	case "SIM PUK":
		return SIMPUK
	}
	return SIMError
}

// stored is one message listed by AT+CMGL or read by AT+CMGR.
type stored struct {
	index int
	stat  int // 0 unread, 1 read, 2 unsent, 3 sent (TS 27.005 3.1)
	pdu   string
}

// isHex reports whether s looks like a PDU line.
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseCMGL reads the answer to AT+CMGL in PDU mode: a header line
// "+CMGL: <index>,<stat>,[<alpha>],<length>" then the PDU (TS 27.005
// 3.4.2). Noise between the two (Huawei ^RSSI, say) is skipped: the PDU is
// the next line that is all hex. A header without a PDU is dropped here and
// the message stays on the SIM for the next sweep.
func parseCMGL(lines []string) []stored {
	var out []stored
	for i := 0; i < len(lines); i++ {
		f, ok := fields(lines[i], "+CMGL:")
		if !ok || len(f) < 2 {
			continue
		}
		idx, ok1 := number(f[0])
		stat, ok2 := number(f[1])
		if !ok1 || !ok2 {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if strings.HasPrefix(lines[j], "+CMGL:") {
				break
			}
			if isHex(lines[j]) {
				out = append(out, stored{index: idx, stat: stat, pdu: lines[j]})
				i = j
				break
			}
		}
	}
	return out
}

// parseCMGR reads the answer to AT+CMGR=<index>: "+CMGR: <stat>,[<alpha>],<length>"
// then the PDU. An empty slot answers OK alone (or +CMS ERROR 321).
func parseCMGR(lines []string, index int) (stored, bool) {
	for i, l := range lines {
		f, ok := fields(l, "+CMGR:")
		if !ok {
			continue
		}
		stat, ok := number(f[0])
		if !ok {
			return stored{}, false
		}
		for _, next := range lines[i+1:] {
			if isHex(next) {
				return stored{index: index, stat: stat, pdu: next}, true
			}
		}
	}
	return stored{}, false
}

// parseCMGS reads "+CMGS: <mr>[,<scts>]", the message reference the modem
// assigned to a sent part.
func parseCMGS(lines []string) (int, error) {
	l, ok := findLine(lines, "+CMGS:")
	if !ok {
		return 0, fmt.Errorf("no +CMGS line in the answer %q", lines)
	}
	f, _ := fields(l, "+CMGS:")
	mr, err := strconv.Atoi(f[0])
	if err != nil || mr < 0 || mr > 255 {
		return 0, fmt.Errorf("bad message reference in %q", l)
	}
	return mr, nil
}

// parseIndex reads the memory and index of "+CMTI: "SM",3" or "+CDSI: "SR",1".
func parseIndex(line, prefix string) (mem string, index int, ok bool) {
	f, found := fields(line, prefix)
	if !found || len(f) < 2 {
		return "", 0, false
	}
	index, ok = number(f[1])
	if !ok {
		return "", 0, false
	}
	return f[0], index, true
}

// hasReportMemory reads the answer to AT+CPMS=? and reports whether "SR",
// a memory of status reports, is among the memories that can be read
// (the first list, TS 27.005 3.2.2).
func hasReportMemory(lines []string) bool {
	l, ok := findLine(lines, "+CPMS:")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(l, "+CPMS:"), ")")
	return strings.Contains(first, `"SR"`)
}

// storageUse reads "+CPMS: "SM",3,30,..." (the answer to AT+CPMS?) or
// "+CPMS: 3,30,..." (the answer to AT+CPMS=...): used and total of the
// first storage.
func storageUse(lines []string) (used, total int, ok bool) {
	l, found := findLine(lines, "+CPMS:")
	if !found {
		return 0, 0, false
	}
	f, _ := fields(l, "+CPMS:")
	if len(f) > 0 {
		if _, isNum := number(f[0]); !isNum {
			f = f[1:] // skip the memory name
		}
	}
	if len(f) < 2 {
		return 0, 0, false
	}
	u, ok1 := number(f[0])
	t, ok2 := number(f[1])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return u, t, true
}

// number reads a field that TS 27.005 and 27.007 define as an integer
// that cannot be negative (an index, a status, a count): digits only, so
// that "-1" or "+3" from a confused modem is refused rather than used as
// a storage index.
func number(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// urcKind says what an unsolicited result code asks the session to do.
type urcKind int

const (
	urcIgnored      urcKind = iota // nothing this driver acts on
	urcBad                         // one of ours, but unreadable: why says how
	urcStored                      // +CMTI/+CDSI: a message or report stored at mem, index
	urcDirect                      // +CMT/+CDS: a message or report routed directly, in pdu
	urcRegistration                // +CREG/+CGREG/+CEREG: reg for the domain of prefix
)

// urc is one unsolicited result code, read.
type urc struct {
	kind   urcKind
	why    string
	mem    string
	index  int
	pdu    string
	prefix string
	reg    Registration
}

// parseURC reads the lines of one indication as the AT engine hands them
// over: the URC line and, for +CMT and +CDS, the PDU line after it
// (TS 27.005 3.4.1, TS 27.007 7.2).
func parseURC(lines []string) urc {
	if len(lines) == 0 {
		return urc{kind: urcIgnored}
	}
	head := lines[0]
	switch {
	case strings.HasPrefix(head, "+CMTI:"), strings.HasPrefix(head, "+CDSI:"):
		mem, idx, ok := parseIndex(head, head[:6])
		if !ok {
			return urc{kind: urcBad, why: "unreadable indication"}
		}
		return urc{kind: urcStored, mem: mem, index: idx}
	case strings.HasPrefix(head, "+CMT:"), strings.HasPrefix(head, "+CDS:"):
		if len(lines) < 2 || !isHex(strings.TrimSpace(lines[1])) {
			return urc{kind: urcBad, why: "direct message without a PDU line"}
		}
		return urc{kind: urcDirect, pdu: strings.TrimSpace(lines[1])}
	}
	for _, p := range []string{"+CREG", "+CGREG", "+CEREG"} {
		if r, ok := parseCREG(head, p, isQueryAnswer(head, p)); ok {
			return urc{kind: urcRegistration, prefix: p, reg: r}
		}
	}
	return urc{kind: urcIgnored}
}

// isQueryAnswer tells the answer to AT+CREG? ("+CREG: <n>,<stat>[,...]")
// from the URC ("+CREG: <stat>[,"<lac>",...]"): the answer's second field
// is a bare digit, the URC has one field or a quoted second one.
func isQueryAnswer(line, prefix string) bool {
	parts := strings.Split(strings.TrimSpace(strings.TrimPrefix(line, prefix+":")), ",")
	return len(parts) >= 2 && len(strings.TrimSpace(parts[1])) == 1
}

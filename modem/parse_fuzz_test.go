package modem

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary modem output, split into lines as the AT engine
// splits it, to every response parser and to the URC reader. None may
// panic, and what they accept must be usable as it is: a signal in the
// range of TS 27.007 8.5, a message reference that fits TP-MR, indexes and
// counts that are not negative, PDUs that are hex.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"+CSQ: 21,99\r\nOK",
		"+CMGS: 12,\"25/11/26,10:00:00+04\"\r\nOK",
		"+CMGL: 1,0,,22\r\n0791447758100650040C91447700091032000062115201510000\r\n+CMGL: 2,1,\"\",23\r\n^RSSI: 14\r\n00\r\nOK",
		"+CMGR: 0,,22\r\n00040B915155214365F700006211520151000002E834",
		"+CMTI: \"SM\",3",
		"+CDSI: \"SR\",1",
		"+CMT: ,24\r\n07914477581006500",
		"+CDS: 25\r\n0006D60B911326880736F4111011719551401110117195714000",
		"+CREG: 0,1\r\n+CREG: 2\r\n+CGREG: 1,\"00C3\",\"1A2B\",7\r\n+CEREG: 2,5,\"00C3\",\"1A2B\"",
		"+CPMS: \"SM\",3,30,\"SM\",3,30,\"SM\",3,30\r\n+CPMS: 25,25,25,25,25,25",
		"+CPMS: (\"SM\",\"ME\",\"SR\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")",
		"+COPS: 0,0,\"Vodafone UK\",7\r\n+CPIN: SIM PIN",
		"+CMTI: \"SM\",-1\r\n+CSQ: -3\r\n+CPMS: -1,-5",
		"+CMGL: \r\n+CMGR:\r\n+CMGS:\r\n+CREG:\r\n\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, out string) {
		lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' })
		if dbm, ok := signalDBm(lines); ok && (dbm < -113 || dbm > -51 || dbm%2 == 0) {
			t.Errorf("signalDBm(%q) = %d", lines, dbm)
		}
		if mr, err := parseCMGS(lines); err == nil && (mr < 0 || mr > 255) {
			t.Errorf("parseCMGS(%q) = %d", lines, mr)
		}
		for _, st := range parseCMGL(lines) {
			if st.index < 0 || st.stat < 0 || !isHex(st.pdu) {
				t.Errorf("parseCMGL(%q) gave %+v", lines, st)
			}
		}
		if st, ok := parseCMGR(lines, 4); ok && (st.index != 4 || st.stat < 0 || !isHex(st.pdu)) {
			t.Errorf("parseCMGR(%q) = %+v", lines, st)
		}
		if used, total, ok := storageUse(lines); ok && (used < 0 || total < 0) {
			t.Errorf("storageUse(%q) = %d, %d", lines, used, total)
		}
		hasReportMemory(lines)
		operatorName(lines)
		simState(lines)
		firstValue(lines, "+CGMI:")
		for i, l := range lines {
			for _, p := range []string{"+CMTI:", "+CDSI:"} {
				if _, idx, ok := parseIndex(l, p); ok && idx < 0 {
					t.Errorf("parseIndex(%q) = %d", l, idx)
				}
			}
			for _, p := range []string{"+CREG", "+CGREG", "+CEREG"} {
				if r, ok := parseCREG(l, p, isQueryAnswer(l, p)); ok && !knownRegistration(r) {
					t.Errorf("parseCREG(%q) = %q", l, r)
				}
			}
			u := parseURC(lines[i:min(i+2, len(lines))])
			switch u.kind {
			case urcBad:
				if u.why == "" {
					t.Errorf("parseURC(%q): unreadable without a reason", l)
				}
			case urcStored:
				if u.index < 0 {
					t.Errorf("parseURC(%q): index %d", l, u.index)
				}
			case urcDirect:
				if !isHex(u.pdu) {
					t.Errorf("parseURC(%q) = %+v", lines[i:], u)
				}
			case urcRegistration:
				if !knownRegistration(u.reg) || u.prefix == "" {
					t.Errorf("parseURC(%q) = %+v", l, u)
				}
			}
		}
	})
}

func knownRegistration(r Registration) bool {
	switch r {
	case RegNotRegistered, RegHome, RegSearching, RegDenied, RegUnknown, RegRoaming:
		return true
	}
	return false
}

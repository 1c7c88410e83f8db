package modem

import (
	"slices"
	"testing"
)

func TestSignalDBm(t *testing.T) {
	tests := []struct {
		lines []string
		dbm   int
		ok    bool
	}{
		{[]string{"+CSQ: 21,99"}, -71, true},
		{[]string{"^RSSI: 12", "+CSQ: 0,0"}, -113, true},
		{[]string{"+CSQ: 31,0"}, -51, true},
		{[]string{"+CSQ: 99,99"}, 0, false},
		{[]string{"+CMTI: \"SM\",1"}, 0, false},
	}
	for _, tt := range tests {
		dbm, ok := signalDBm(tt.lines)
		if dbm != tt.dbm || ok != tt.ok {
			t.Errorf("signalDBm(%q) = %d, %v; want %d, %v", tt.lines, dbm, ok, tt.dbm, tt.ok)
		}
	}
}

func TestParseCREG(t *testing.T) {
	tests := []struct {
		line, prefix string
		query        bool
		want         Registration
	}{
		{"+CREG: 0,1", "+CREG", true, RegHome},
		{"+CREG: 2,5,\"00C3\",\"1A2B\"", "+CREG", true, RegRoaming},
		{"+CREG: 2", "+CREG", false, RegSearching},
		{"+CREG: 1,\"00C3\",\"1A2B\",7", "+CREG", false, RegHome},
		{"+CGREG: 1,3", "+CGREG", true, RegDenied},
		{"+CREG: 0,0", "+CREG", true, RegNotRegistered},
		{"+CREG: 1,6", "+CREG", true, RegHome},
		{"+CREG: 1,9", "+CREG", true, RegUnknown},
	}
	for _, tt := range tests {
		got, ok := parseCREG(tt.line, tt.prefix, tt.query)
		if !ok || got != tt.want {
			t.Errorf("parseCREG(%q, query=%v) = %q, %v; want %q", tt.line, tt.query, got, ok, tt.want)
		}
	}
	if _, ok := parseCREG("+CGREG: 1", "+CREG", false); ok {
		t.Error("parseCREG accepted another prefix")
	}
}

func TestOperatorAndSIM(t *testing.T) {
	if got := operatorName([]string{"+COPS: 0,0,\"Vodafone UK\",7"}); got != "Vodafone UK" {
		t.Errorf("operator %q", got)
	}
	if got := operatorName([]string{"+COPS: 0"}); got != "" {
		t.Errorf("operator without name %q", got)
	}
	for line, want := range map[string]SIMState{
		"+CPIN: READY": SIMReady, "+CPIN: SIM PIN": SIMPIN, "+CPIN: SIM PUK": SIMPUK, "+CPIN: PH-SIM PIN": SIMError,
	} {
		if got := simState([]string{"RDY", line}); got != want {
			t.Errorf("simState(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestParseCMGL(t *testing.T) {
	lines := []string{
		"+CMGL: 1,0,,22",
		"0791447758100650040C91447700091032000062115201510000",
		"+CMGL: 2,1,\"\",23",
		"^RSSI: 14", // Huawei noise between header and PDU
		"0791447758100650040C9144770009103200006211520151000001",
		"+CMGL: 3,0,,20", // header whose PDU never came
		"+CMGL: 4,1,,20",
		"00040B915155214365F700006211520151000002E834",
	}
	got := parseCMGL(lines)
	var idx []int
	for _, s := range got {
		idx = append(idx, s.index)
	}
	if !slices.Equal(idx, []int{1, 2, 4}) {
		t.Fatalf("indexes %v, want [1 2 4]", idx)
	}
	if got[1].stat != 1 || got[1].pdu != lines[4] || got[2].pdu != lines[7] {
		t.Errorf("got %+v", got)
	}
}

func TestParseCMGRAndCMGS(t *testing.T) {
	s, ok := parseCMGR([]string{"+CMGR: 0,,22", "00040B915155214365F700006211520151000002E834"}, 7)
	if !ok || s.index != 7 || s.stat != 0 || s.pdu != "00040B915155214365F700006211520151000002E834" {
		t.Errorf("parseCMGR = %+v, %v", s, ok)
	}
	if _, ok := parseCMGR(nil, 7); ok {
		t.Error("parseCMGR of an empty slot succeeded")
	}
	for lines, want := range map[string]int{"+CMGS: 0": 0, "+CMGS: 255,\"25/11/26,10:00:00+04\"": 255} {
		if mr, err := parseCMGS([]string{"+CMTI: \"SM\",2", lines}); err != nil || mr != want {
			t.Errorf("parseCMGS(%q) = %d, %v", lines, mr, err)
		}
	}
	for _, bad := range []string{"+CMGS: 256", "+CMGS: x", "OK"} {
		if _, err := parseCMGS([]string{bad}); err == nil {
			t.Errorf("parseCMGS(%q) succeeded", bad)
		}
	}
}

func TestParseIndexAndStorage(t *testing.T) {
	mem, i, ok := parseIndex("+CMTI: \"SM\",12", "+CMTI:")
	if !ok || mem != "SM" || i != 12 {
		t.Errorf("parseIndex = %q %d %v", mem, i, ok)
	}
	for line, want := range map[string][2]int{
		"+CPMS: \"SM\",3,30,\"SM\",3,30,\"SM\",3,30": {3, 30},
		"+CPMS: 25,25,25,25,25,25":                   {25, 25},
	} {
		u, tot, ok := storageUse([]string{line})
		if !ok || u != want[0] || tot != want[1] {
			t.Errorf("storageUse(%q) = %d/%d %v", line, u, tot, ok)
		}
	}
}

func TestClassifyCMS(t *testing.T) {
	tests := []struct {
		text      string
		code      int
		transient bool
	}{
		{"38", 38, true},   // network out of order
		{"42", 42, true},   // congestion
		{"41", 41, true},   // temporary failure
		{"500", 500, true}, // unknown
		{"1", 1, false},    // unassigned number
		{"10", 10, false},  // barred
		{"21", 21, false},  // rejected
		{"304", 304, false},
		{"612", 612, true}, // manufacturer specific
		{"77", 77, true},   // unlisted RP cause
		{"network timeout", -1, true},
	}
	for _, tt := range tests {
		se := classifyCMS(tt.text, nil)
		if se.Code != tt.code || se.Transient != tt.transient || se.Reason == "" {
			t.Errorf("classifyCMS(%q) = %+v", tt.text, se)
		}
	}
}

func TestHasReportMemory(t *testing.T) {
	for line, want := range map[string]bool{
		`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`:                true,
		`+CPMS: ("SM","ME"),("SM","ME"),("SM","ME","SR")`:                false, // SR must be readable (mem1)
		`+CPMS: ("ME","MT","SM","SR"),("ME","MT","SM"),("ME","MT","SM")`: true,
		`+CPMS: ("SM"),("SM"),("SM")`:                                    false,
	} {
		if got := hasReportMemory([]string{line}); got != want {
			t.Errorf("hasReportMemory(%s) = %v", line, got)
		}
	}
}

package modem

import "testing"

func TestMaskCommand(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"PIN", `+CPIN="4321"`, `+CPIN="***"`},
		{"PUK and new PIN", `+CPIN="12345678","4321"`, `+CPIN="***","***"`},
		{"unquoted", `+CPIN=4321`, `+CPIN="***"`},
		{"lower case", `+cpin="4321"`, `+cpin="***"`},
		{"facility lock", `+CLCK="SC",0,"4321"`, `+CLCK="***",0,"***"`},
		{"password change", `+CPWD="SC","1111","2222"`, `+CPWD="***","***","***"`},
		{"state query", `+CPIN?`, `+CPIN?`},
		{"other command", `+CMGS=23`, `+CMGS=23`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskCommand(tt.in); got != tt.want {
				t.Errorf("maskCommand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePINCounter(t *testing.T) {
	tests := []struct {
		name  string
		c     pinCounter
		lines []string
		n     int
		ok    bool
	}{
		{"CPINR", counterCPINR, []string{"+CPINR: SIM PIN,2,3"}, 2, true},
		{"CPINR quoted", counterCPINR, []string{`+CPINR: "SIM PIN",1,3`}, 1, true},
		{"CPINR other codes first", counterCPINR, []string{"+CPINR: SIM PUK,10,10", "+CPINR: SIM PIN,3,3"}, 3, true},
		{"CPINR no PIN line", counterCPINR, []string{"+CPINR: SIM PUK,10,10"}, 0, false},
		{"Huawei", counterHuawei, []string{"^CPIN: SIM PIN,2,10,2,10,3"}, 2, true},
		{"Huawei ready", counterHuawei, []string{"^CPIN: READY,,10,3,10,3"}, 3, true},
		{"Quectel", counterQuectel, []string{`+QPINC: "SC",1,10`}, 1, true},
		{"noise", counterQuectel, []string{"RDY", "+QIND: SMS DONE"}, 0, false},
		{"not a number", counterCPINR, []string{"+CPINR: SIM PIN,x,3"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := parsePINCounter(tt.lines, tt.c)
			if n != tt.n || ok != tt.ok {
				t.Errorf("parsePINCounter(%q) = %d, %v; want %d, %v", tt.lines, n, ok, tt.n, tt.ok)
			}
		})
	}
}

func TestICCIDValue(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"+CCID", []string{"+CCID: 89441000301234567890"}, "89441000301234567890"},
		{"bare (SIM800)", []string{"89860012345678901234"}, "89860012345678901234"},
		{"quoted", []string{`+ICCID: "8944100030123456789F"`}, "8944100030123456789F"},
		{"Huawei", []string{"^ICCID: 98681031098310024233"}, "98681031098310024233"},
		{"Quectel", []string{"+QCCID: 89860318760238128567"}, "89860318760238128567"},
		{"noise then value", []string{"RDY", "+CCID: 89441000301234567890"}, "89441000301234567890"},
		{"too short", []string{"+CCID: 1234"}, ""},
		{"not digits", []string{"ERROR"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := iccidValue(tt.lines); got != tt.want {
				t.Errorf("iccidValue(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

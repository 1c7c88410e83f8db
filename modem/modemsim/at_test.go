package modemsim

import (
	"log/slog"
	"reflect"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []atCmd
		wantErr bool
	}{
		{name: "empty is AT alone", body: "", want: nil},
		{name: "basic", body: "E0", want: []atCmd{{name: "E", args: "0"}}},
		{name: "basic chained", body: "E0V1Q0", want: []atCmd{{name: "E", args: "0"}, {name: "V", args: "1"}, {name: "Q", args: "0"}}},
		{name: "lower case", body: "e1+cmgf=0", want: []atCmd{{name: "E", args: "1"}, {name: "+CMGF", kind: kindSet, args: "0"}}},
		{name: "ampersand", body: "&F&D2", want: []atCmd{{name: "&F"}, {name: "&D", args: "2"}}},
		{name: "extended kinds", body: "+CSQ;+CREG?;+CNMI=?;+CMGS=23", want: []atCmd{
			{name: "+CSQ"}, {name: "+CREG", kind: kindRead}, {name: "+CNMI", kind: kindTest}, {name: "+CMGS", kind: kindSet, args: "23"}}},
		{name: "semicolon in quotes", body: `+CSCA="+1;2",145;+CSQ`, want: []atCmd{{name: "+CSCA", kind: kindSet, args: `"+1;2",145`}, {name: "+CSQ"}}},
		{name: "basic then extended", body: "E0+CMEE=1", want: []atCmd{{name: "E", args: "0"}, {name: "+CMEE", kind: kindSet, args: "1"}}},
		{name: "register", body: "S0=0S3?", want: []atCmd{{name: "S0", kind: kindSet, args: "0"}, {name: "S3", kind: kindRead}}},
		{name: "vendor prefix", body: "^SYSINFO;$QCSIMSTAT?", want: []atCmd{{name: "^SYSINFO"}, {name: "$QCSIMSTAT", kind: kindRead}}},
		{name: "dial takes the rest", body: "D*100#;", want: []atCmd{{name: "D", args: "*100#;"}}},
		{name: "junk after name", body: "+CSQ!", wantErr: true},
		{name: "bad character", body: "!", wantErr: true},
		{name: "register without op", body: "S7", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLine(tt.body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseLine(%q) error %v, want error %v", tt.body, err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseLine(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestSplitParams(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    []param
		wantErr bool
	}{
		{name: "none", args: "", want: nil},
		{name: "numbers", args: "2, 1,0", want: []param{{raw: "2"}, {raw: "1"}, {raw: "0"}}},
		{name: "omitted", args: "2,,0", want: []param{{raw: "2"}, {empty: true}, {raw: "0"}}},
		{name: "strings keep spaces and commas", args: `"SM", "a, b ",145`, want: []param{{raw: "SM", quoted: true}, {raw: "a, b ", quoted: true}, {raw: "145"}}},
		{name: "empty string is not omitted", args: `""`, want: []param{{quoted: true}}},
		{name: "unterminated", args: `"SM`, wantErr: true},
		{name: "text after quote", args: `"SM"x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitParams(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("splitParams(%q) error %v, want error %v", tt.args, err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("splitParams(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestIntParam(t *testing.T) {
	ps := []param{{raw: "3"}, {empty: true}, {raw: "x"}, {raw: "9"}, {raw: "1", quoted: true}}
	tests := []struct {
		i, def int
		want   int
		ok     bool
	}{
		{0, 0, 3, true}, {1, 7, 7, true}, {2, 0, 0, false}, {3, 0, 0, false}, {4, 0, 0, false}, {5, 4, 4, true},
	}
	for _, tt := range tests {
		got, ok := intParam(ps, tt.i, 0, 5, tt.def)
		if got != tt.want || ok != tt.ok {
			t.Errorf("intParam(%d) = %d, %v; want %d, %v", tt.i, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFinalResult(t *testing.T) {
	tests := []struct {
		err  error
		cmee int
		want string
	}{
		{cmeErr(cmeSIMPINRequired), 0, "ERROR"},
		{cmeErr(cmeSIMPINRequired), 1, "+CME ERROR: 11"},
		{cmeErr(cmeSIMPINRequired), 2, "+CME ERROR: SIM PIN required"},
		{cmsErr(CMSNoNetwork), 0, "ERROR"},
		{cmsErr(CMSNoNetwork), 1, "+CMS ERROR: 331"},
		{cmsErr(CMSNoNetwork), 2, "+CMS ERROR: 331"},
		{errPlain, 2, "ERROR"},
	}
	for _, tt := range tests {
		if got := finalResult(tt.err, tt.cmee); got != tt.want {
			t.Errorf("finalResult(%v, %d) = %q, want %q", tt.err, tt.cmee, got, tt.want)
		}
	}
}

// FuzzParseLine: any command line a client can type parses or fails
// cleanly, and every command's set arguments split without panicking.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"", "E0V1", `+CSCA="+1;2",145;+CSQ`, "+CMGS=23", "S3?", "&F", `+CPMS="SM",,"ME"`, `+CUSD=1,"*100#",15`, "D*99#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := parseLine(body)
		if err != nil {
			return
		}
		for _, c := range cmds {
			if c.name == "" {
				t.Fatalf("parseLine(%q) gave a command without a name", body)
			}
			if c.kind == kindSet {
				ps, err := splitParams(c.args)
				if err == nil {
					for i := range ps {
						intParam(ps, i, 0, 255, 0)
					}
				}
			}
		}
	})
}

// FuzzCommandLine runs arbitrary command lines through the modem's state
// machine and handlers: a client must not be able to crash the simulator.
// The modem is real (pty and all) but no client has the port open, so its
// answers are dropped.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"E0V1", `+CSCA="+1;2",145;+CSQ`, "+CMGS=23", "+CMGD=1,4", `+CPMS="ME",,"SM"`, `+CUSD=1,"*100#",15`,
		"+CNMI=0,2,0,2,1", "+CMGR=0", `+CPIN="1",""`, "+CFUN=1,1", "+CMGL", "+CMGD=?", "S3?", "Z",
		// Through the prompt to a send: PIN, then a PDU to another number.
		"+CPIN=\"1234\"\rAT+CMGS=17\r0001000B915155000000F2000004E8329BFD\x1a",
		"+CMGS=5\r00110000\x1a", "+CMGW=10,3\r0011\x1a", "+CMSS=1", "+CMSS=2,\"123\""} {
		f.Add(s)
	}
	n := NewNetwork(Options{Dir: f.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	f.Cleanup(func() { n.Close() })
	m, err := n.AddModem(Config{PIN: "1234", SMCapacity: 3})
	if err != nil {
		f.Fatal(err)
	}
	if err := m.Deliver("+15550000099", "something to read"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m.mu.Lock()
		l := m.link
		m.mu.Unlock()
		// ESC leaves a +CMGS prompt the line may have opened.
		m.feed(l, []byte("AT"+body+"\r\x1b"))
	})
}

func TestIndexAT(t *testing.T) {
	for _, tt := range []struct {
		line string
		want int
	}{
		{"AT", 0}, {"at+csq", 0}, {"aT", 0}, {"xxAt", 2}, {"\xff\xfeAT", 2}, {"\xc3at", 1}, {"A", -1}, {"", -1}, {"\xe1\xf4", -1},
	} {
		if got := indexAT(tt.line); got != tt.want {
			t.Errorf("indexAT(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

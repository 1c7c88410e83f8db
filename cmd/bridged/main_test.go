package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runMain runs bridged in-process and returns its exit code and output.
func runMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(stdin)}
	code := m.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestUsageAndExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a substring, or "" for none
		stderr string // the exact stderr, or a substring when it ends in "..."
	}{
		{name: "help", args: []string{"help"}, code: 0, stdout: "Commands:"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "Commands:"},
		{name: "help for a command", args: []string{"help", "pdu"}, code: 0, stdout: "bridged pdu encode --to NUMBER"},
		{name: "command -h", args: []string{"pdu", "-h"}, code: 0, stdout: "bridged pdu decode HEX"},
		{name: "subcommand -h", args: []string{"pdu", "encode", "-h"}, code: 0, stdout: "--validity DURATION"},
		{name: "no command", args: nil, code: 2, stderr: "...bridged: no command given\n"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: "bridged: unknown command \"frobnicate\" (see \"bridged help\")\n"},
		{name: "help for unknown command", args: []string{"help", "nope"}, code: 2, stderr: "bridged: unknown command \"nope\" (see \"bridged help\")\n"},
		{name: "unknown flag", args: []string{"pdu", "encode", "--bogus", "x"}, code: 2, stderr: "bridged: pdu encode: flag provided but not defined: -bogus\n"},
		{name: "unknown pdu subcommand", args: []string{"pdu", "transmogrify"}, code: 2, stderr: "bridged: pdu: unknown subcommand \"transmogrify\" (want encode or decode)\n"},
		{name: "encode without --to", args: []string{"pdu", "encode", "hi"}, code: 2, stderr: "bridged: pdu encode: --to NUMBER is required\n"},
		{name: "encode two texts", args: []string{"pdu", "encode", "--to", "+1555", "a", "b"}, code: 2, stderr: "bridged: pdu encode: want exactly one TEXT argument, got 2 (quote the text)\n"},
		{name: "bad validity", args: []string{"pdu", "encode", "--to", "+1555", "--validity", "soon", "hi"}, code: 2, stderr: "bridged: pdu encode: --validity: invalid duration \"soon\" (use e.g. 30s, 5m, 24h, 7d)\n"},
		{name: "invalid number", args: []string{"pdu", "encode", "--to", "+1555-CALL", "hi"}, code: 1, stderr: "bridged: pdu encode: destination: number \"+1555-CALL\" has 'C' at position 6; use + and digits\n"},
		{name: "too many parts", args: []string{"pdu", "encode", "--to", "+1555", "--max-parts", "1", strings.Repeat("x", 161)}, code: 1, stderr: "bridged: pdu encode: text needs 2 parts, more than the maximum of 1\n"},
		{name: "bad PDU", args: []string{"pdu", "decode", "0003"}, code: 1, stderr: "bridged: pdu decode: pdu: TP-MTI at octet 1: reserved value (message type 3 is reserved)\n"},
		{name: "decode without PDU", args: []string{"pdu", "decode"}, code: 2, stderr: "bridged: pdu decode: want a HEX argument, or - to read standard input\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stdout != "" && !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if tt.stdout == "" && stdout != "" && tt.code != 0 {
				t.Errorf("unexpected stdout %q", stdout)
			}
			switch want, ok := strings.CutPrefix(tt.stderr, "..."); {
			case ok && !strings.HasSuffix(stderr, want):
				t.Errorf("stderr %q does not end in %q", stderr, want)
			case !ok && stderr != tt.stderr:
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			if tt.code != 0 && strings.Count(strings.TrimPrefix(stderr, mainUsage), "\n") != 1 {
				t.Errorf("error is not one line: %q", stderr)
			}
		})
	}
}

// TestPDUDecodeContract checks the field names other tools rely on.
func TestPDUDecodeContract(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want map[string]any
	}{
		{
			name: "deliver",
			hex:  "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
			want: map[string]any{"type": "deliver", "smsc": "+27381000015", "from": "27838890001", "text": "hellohello",
				"encoding": "gsm7", "class": nil, "timestamp": "1999-03-29T15:16:59+02:00", "concat": nil},
		},
		{
			name: "deliver part",
			hex:  "00400B915155214365F700106270408103000019050003420201906536FB0DDAF0EE6F399BBCF1813665",
			want: map[string]any{"type": "deliver", "from": "+15551234567", "text": "Hello [world] €", "encoding": "gsm7",
				"class": 0.0, "timestamp": "2026-07-04T18:30:00Z", "concat": map[string]any{"ref": 66.0, "total": 2.0, "seq": 1.0}},
		},
		{
			name: "status report",
			hex:  "00067B0B915155214365F7621152015100006211520151204046",
			want: map[string]any{"type": "status-report", "recipient": "+15551234567", "message_ref": 123.0, "status": 70.0,
				"outcome": "failed", "timestamp": "2026-11-25T10:15:00Z", "discharge": "2026-11-25T10:15:02+01:00",
				"text": "", "class": nil, "concat": nil},
		},
		{
			name: "submit",
			hex:  "079144775810065031000C914477000910320000A702E834",
			want: map[string]any{"type": "submit", "smsc": "+447785016005", "to": "+447700900123", "text": "hi", "encoding": "gsm7",
				"message_ref": 0.0, "class": nil, "concat": nil, "report_requested": true, "validity": "24h0m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "", "pdu", "decode", tt.hex)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tt.want)
			if string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestPDUDecodeStdin(t *testing.T) {
	in := "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37\n\nZZ\n00067B0B915155214365F7621152015100006211520151204000\n"
	code, stdout, stderr := runMain(t, in, "pdu", "decode", "-")
	if code != 1 || !strings.Contains(stderr, `character 'Z' at position 0`) {
		t.Errorf("exit %d, stderr %q: want 1 and the bad line named", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var types []string
	for dec.More() {
		var m struct{ Type string }
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		types = append(types, m.Type)
	}
	if strings.Join(types, ",") != "deliver,status-report" {
		t.Errorf("decoded %v, want the two good lines", types)
	}
}

func TestPDUEncode(t *testing.T) {
	// Flags may follow the text.
	code, stdout, stderr := runMain(t, "", "pdu", "encode", strings.Repeat("中", 71), "--to", "+8613800138000", "--report", "--validity", "7d", "--ref", "42", "--smsc", "+8613800100500")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Encoding string `json:"encoding"`
		Parts    []struct {
			PDU    string `json:"pdu"`
			Length int    `json:"length"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if got.Encoding != "ucs2" || len(got.Parts) != 2 {
		t.Fatalf("got %+v", got)
	}
	for i, p := range got.Parts {
		// 08 91 683108100005F0: the SMSC field is 9 octets.
		if !strings.HasPrefix(p.PDU, "0891683108100005F0") || len(p.PDU)/2-9 != p.Length {
			t.Errorf("part %d: %s length %d", i+1, p.PDU, p.Length)
		}
		code, out, stderr := runMain(t, "", "pdu", "decode", p.PDU)
		if code != 0 {
			t.Fatalf("decode part %d: %s", i+1, stderr)
		}
		for _, want := range []string{`"report_requested": true`, `"validity": "168h0m0s"`, `"ref": 42`, `"to": "+8613800138000"`} {
			if !strings.Contains(out, want) {
				t.Errorf("part %d decodes to %s\nwithout %s", i+1, out, want)
			}
		}
	}
}

package pdu

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runGammu runs testdata/gammu_check.py under Debian's system Python, the
// one python3-gammu installs into. It skips the test when that is missing:
// .ci/run installs it, so CI always runs the check.
func runGammu(t *testing.T, req any, resp any) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import gammu").Run(); err != nil {
		t.Skipf("gammu cross-check needs %s with python3-gammu (apt-get install python3-gammu): %v", python, err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/gammu_check.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gammu_check.py: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("gammu_check.py output %q: %v", out, err)
	}
}

var crossCheckTexts = []struct {
	name, text string
}{
	{"plain", "Hello from bridged, 12:30 ok?"},
	{"at signs", "@home @ 5pm @"},
	{"extension characters", "Price: 5€ [a] {b} ~^\\|"},
	{"160 GSM characters", strings.Repeat("0123456789", 16)},
	{"161 GSM characters", strings.Repeat("0123456789", 16) + "!"},
	{"long with extension characters", strings.Repeat("a{b}c€", 60)},
	{"short Chinese", "你好，世界"},
	{"200 Chinese characters", strings.Repeat("中文短信测试发送你好", 20)},
	{"emoji", "Party 🎉🎉 tonight 😀"},
	{"many emoji", strings.Repeat("😀🚀", 40)},
	{"Cyrillic", "Привет, как дела?"},
}

// TestGammuDecodesOurPDUs hands the PDUs bridged encodes to gammu's decoder.
func TestGammuDecodesOurPDUs(t *testing.T) {
	type decoded struct {
		Text   string `json:"text"`
		Number string `json:"number"`
		Class  int    `json:"class"`
	}
	var req struct {
		Decode [][]string `json:"decode"`
	}
	for i, tt := range crossCheckTexts {
		enc, err := Submit{To: "+8613800138000", Text: tt.text, Ref: uint8(i + 1), Flash: i == 0}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var pdus []string
		for _, p := range enc.Parts {
			pdus = append(pdus, p.PDU)
		}
		req.Decode = append(req.Decode, pdus)
	}
	var resp struct {
		Decoded []decoded `json:"decoded"`
	}
	runGammu(t, req, &resp)
	if len(resp.Decoded) != len(crossCheckTexts) {
		t.Fatalf("gammu decoded %d messages, want %d", len(resp.Decoded), len(crossCheckTexts))
	}
	for i, tt := range crossCheckTexts {
		got := resp.Decoded[i]
		wantClass := -1
		if i == 0 {
			wantClass = 0
		}
		if got.Text != tt.text || got.Number != "+8613800138000" || got.Class != wantClass {
			t.Errorf("%s: gammu decoded %+v\nwant text %q, number +8613800138000, class %d", tt.name, got, tt.text, wantClass)
		}
	}
}

// TestWeDecodeGammuPDUs decodes and reassembles the PDUs gammu encodes.
func TestWeDecodeGammuPDUs(t *testing.T) {
	type encReq struct {
		Text    string `json:"text"`
		Unicode bool   `json:"unicode"`
		To      string `json:"to"`
	}
	var req struct {
		Encode []encReq `json:"encode"`
	}
	for _, tt := range crossCheckTexts {
		req.Encode = append(req.Encode, encReq{Text: tt.text, Unicode: Estimate(tt.text, Options{}).Encoding == UCS2, To: "+447700900123"})
	}
	var resp struct {
		Encoded [][]string `json:"encoded"`
	}
	runGammu(t, req, &resp)
	if len(resp.Encoded) != len(crossCheckTexts) {
		t.Fatalf("gammu encoded %d messages, want %d", len(resp.Encoded), len(crossCheckTexts))
	}
	for i, tt := range crossCheckTexts {
		var parts []*Message
		for _, h := range resp.Encoded[i] {
			m, err := Decode(h)
			if err != nil {
				t.Fatalf("%s: decode gammu's %s: %v", tt.name, h, err)
			}
			if m.Type != TypeSubmit || m.To != "+447700900123" {
				t.Errorf("%s: decoded %s to %q", tt.name, m.Type, m.To)
			}
			parts = append(parts, m)
		}
		got, err := Reassemble(parts)
		if err != nil || !got.Complete || got.Text != tt.text {
			t.Errorf("%s: gammu's %d parts reassemble to %q (complete %v, %v)\nwant %q", tt.name, len(parts), got.Text, got.Complete, err, tt.text)
		}
	}
}

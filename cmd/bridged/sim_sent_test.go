package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"bridged/internal/testutil"
	"bridged/pdu"
)

// TestSimCommandSentCursor: "sent SEQ" lists what left the network after
// a cursor, with "seq" in each line, and -keep-sent bounds what is kept,
// so that a reader that fell behind sees the gap by the first seq.
func TestSimCommandSentCursor(t *testing.T) {
	dir := t.TempDir()
	_, addr := runSim(t, "-dir", dir, "-control", "127.0.0.1:0", "-latency", "0", "-keep-sent", "2")
	port, got, reset := openSimPort(t, filepath.Join(dir, "bridged-sim0"))
	port.Write([]byte("ATE0\r"))
	testutil.Eventually(t, "ATE0 answered", func() bool { return strings.Contains(got(), "OK") })
	for i := 1; i <= 3; i++ {
		enc, err := pdu.Submit{To: "+447700900999", Text: fmt.Sprint("cursor ", i)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		reset()
		port.Write([]byte("AT+CMGS=" + strconv.Itoa(enc.Parts[0].Length) + "\r"))
		testutil.Eventually(t, "prompt", func() bool { return strings.Contains(got(), "> ") })
		port.Write([]byte(enc.Parts[0].PDU + "\x1a"))
		testutil.Eventually(t, "send answered", func() bool { return regexp.MustCompile(`\+CMGS: \d+\r\n\r\nOK\r\n`).MatchString(got()) })
	}

	seqs := func(args ...string) string {
		t.Helper()
		out, code := ctl(t, addr, args...)
		if code != 0 {
			t.Fatalf("ctl %v: %d %q", args, code, out)
		}
		var s []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var p struct {
				Seq     int `json:"seq"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			}
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("ctl %v: %q: %v", args, line, err)
			}
			s = append(s, fmt.Sprintf("%d:%s", p.Seq, p.Message.Text))
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sent"}, "2:cursor 2 3:cursor 3"}, // the first was dropped: -keep-sent 2
		{[]string{"sent", "0"}, "2:cursor 2 3:cursor 3"},
		{[]string{"sent", "2"}, "3:cursor 3"},
		{[]string{"sent", "3"}, ""},
	} {
		if got := seqs(tt.args...); got != tt.want {
			t.Errorf("ctl %v: %q, want %q", tt.args, got, tt.want)
		}
	}
	if out, code := ctl(t, addr, "sent", "x"); code != exitError || !strings.Contains(out, "want no argument or a seq") {
		t.Errorf("ctl sent x: %d %q", code, out)
	}
	stderr := &testutil.Buffer{}
	m := &Main{Stdout: &testutil.Buffer{}, Stderr: stderr}
	if code := m.Run(context.Background(), []string{"sim", "-keep-sent", "-1"}); code != exitUsage {
		t.Errorf("sim -keep-sent -1: exit %d, want 2 (%s)", code, stderr)
	}
}

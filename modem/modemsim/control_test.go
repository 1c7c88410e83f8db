package modemsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"bridged/modem/modemsim"
	"bridged/pdu"
)

// serveControl serves n's control protocol on addr and returns a client
// connected to it; both end with the test.
func serveControl(t *testing.T, n *modemsim.Network, addr string) *modemsim.ControlClient {
	t.Helper()
	ln, err := modemsim.ListenControl(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := modemsim.NewControlServer(n)
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := modemsim.DialControl(ctx, modemsim.ControlAddr(ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ln.Close()
		srv.Close()
		<-served
		c.Close()
	})
	return c
}

func do(t *testing.T, c *modemsim.ControlClient, command string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Do(ctx, command)
}

func TestControlProtocol(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	a := mustModem(t, n, modemsim.Config{})
	b := mustModem(t, n, modemsim.Config{})
	c := serveControl(t, n, "127.0.0.1:0")

	if out, err := do(t, c, "list"); err != nil || len(out) != 2 || out[1] != "sim1 +12015550102 "+b.Path()+" plugged" {
		t.Errorf("list: %q %v", out, err)
	}
	// Commands reach the Go API they are named after.
	if _, err := do(t, c, "deliver sim0 +447700900123 Hello  there "); err != nil {
		t.Fatal(err)
	}
	st := a.Stored("SM")
	if len(st) != 1 {
		t.Fatalf("stored after deliver: %+v", st)
	}
	if m, err := pdu.Decode(st[0].PDU); err != nil || m.From != "+447700900123" || m.Text != "Hello  there" {
		t.Errorf("delivered: %+v %v", m, err)
	}
	if _, err := do(t, c, "unplug sim1 1h"); err != nil {
		t.Fatal(err)
	}
	if out, _ := do(t, c, "list"); len(out) != 2 || !strings.HasSuffix(out[1], " unplugged") {
		t.Errorf("list after unplug: %q", out)
	}
	if _, err := do(t, c, "hang sim0"); err != nil || !a.Hung() {
		t.Errorf("hang: %v, hung %v", err, a.Hung())
	}
	if out, err := do(t, c, "sent"); err != nil || len(out) != 0 {
		t.Errorf("sent with nothing sent: %q %v", out, err)
	}
	if out, err := do(t, c, "help"); err != nil || len(out) != 1 || !strings.HasPrefix(out[0], "commands: ") {
		t.Errorf("help: %q %v", out, err)
	}

	for _, tt := range []struct{ command, want string }{
		{"deliver sim9 +1 x", `deliver: no modem "sim9" (try "list")`},
		{"frobnicate sim0", `unknown command "frobnicate" (try "help")`},
		{"deliver sim0 +1", "deliver: want NAME FROM TEXT"},
		{"unplug sim0 soon", `unplug: want NAME DURATION such as 5s, not "soon"`},
		{"flood sim0 0", `flood: want NAME N [LINE] with N in 1-100000, not "0"`},
		{"errors sim0 38 x", `errors: "x" is not a +CMS ERROR code (0-511)`},
		{"capacity sim0 SM", "capacity: want NAME SM|ME N"},
		{"garbage sim0 \"unterminated", "garbage: invalid syntax"},
		{"sent x", `sent: want no argument or a seq such as 1000, not "x"`},
		{"report", "report: want delivered|failed|never [DELAY]"},
		{"report never -1s", `report: "-1s" is not a delay such as 2s`},
	} {
		_, err := do(t, c, tt.command)
		if ce, ok := errors.AsType[*modemsim.ControlError](err); !ok || ce.Message != tt.want {
			t.Errorf("%q: %v, want a ControlError %q", tt.command, err, tt.want)
		}
	}
	// After refusals the connection still answers.
	if _, err := do(t, c, "report failed 0s"); err != nil {
		t.Errorf("report after errors: %v", err)
	}
}

// TestControlSentCursor: "sent AFTER" returns, as JSON lines, what left
// the network after a cursor.
func TestControlSentCursor(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	cl := mustReady(t, mustModem(t, n, modemsim.Config{}))
	for _, text := range []string{"one", "two"} {
		mustSend(cl, pdu.Submit{To: "+447700900999", Text: text})
	}
	c := serveControl(t, n, "127.0.0.1:0")
	out, err := do(t, c, "sent 1")
	if err != nil || len(out) != 1 {
		t.Fatalf("sent 1: %q %v", out, err)
	}
	var p struct {
		Seq     int    `json:"seq"`
		To      string `json:"to"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(out[0]), &p); err != nil || p.Seq != 2 || p.To != "+447700900999" || p.Message.Text != "two" {
		t.Errorf("sent 1: %+v %v", p, err)
	}
}

func TestControlUnixSocketAndAddresses(t *testing.T) {
	n := mustNetwork(t, modemsim.Options{})
	mustModem(t, n, modemsim.Config{})
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	c := serveControl(t, n, sock)
	if out, err := do(t, c, "list"); err != nil || len(out) != 1 || !strings.HasPrefix(out[0], "sim0 ") {
		t.Errorf("list over %s: %q %v", sock, out, err)
	}
	for _, addr := range []string{"10.0.0.1:7830", "example.com:7830", "7830"} {
		if err := modemsim.CheckControlAddr(addr); err == nil {
			t.Errorf("CheckControlAddr(%q) accepted it", addr)
		}
		if ln, err := modemsim.ListenControl(addr); err == nil {
			ln.Close()
			t.Errorf("ListenControl(%q) listened", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:7830", "[::1]:7830", "unix:ctl.sock", "./ctl.sock", sock} {
		if err := modemsim.CheckControlAddr(addr); err != nil {
			t.Errorf("CheckControlAddr(%q): %v", addr, err)
		}
	}
}

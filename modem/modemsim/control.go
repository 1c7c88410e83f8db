package modemsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"bridged/pdu"
)

// The control protocol drives a Network from outside its process, as
// "bridged sim" offers it: one command a line, answered by any number of
// data lines and then "ok" or "error: MESSAGE". The commands are those of
// "bridged sim -h"; each calls the Go API of the same effect, so the
// protocol adds parsing and nothing else.

// CheckControlAddr says whether ListenControl takes addr: "unix:PATH", a
// path starting with "/" or ".", or HOST:PORT on loopback. The control
// port can make the modems do anything, so it is never offered to the
// network.
func CheckControlAddr(addr string) error {
	if _, ok := controlSocketPath(addr); ok {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("only a loopback address or a UNIX socket path")
	}
	return nil
}

// ListenControl listens on addr, which CheckControlAddr must accept. A
// socket file left by a killed run is removed first.
func ListenControl(addr string) (net.Listener, error) {
	if err := CheckControlAddr(addr); err != nil {
		return nil, fmt.Errorf("control address %q: %w", addr, err)
	}
	if path, ok := controlSocketPath(addr); ok {
		_ = os.Remove(path) // a socket left by a killed run
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control listener: %w", err)
	}
	return ln, nil
}

// ControlAddr is how a listener's address is written for DialControl and
// for a person: a UNIX socket as "unix:PATH", TCP as HOST:PORT.
func ControlAddr(a net.Addr) string {
	if a.Network() == "unix" {
		return "unix:" + a.String()
	}
	return a.String()
}

func controlSocketPath(addr string) (string, bool) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return p, true
	}
	return addr, strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, ".")
}

// ControlServer serves the control protocol for one Network.
type ControlServer struct {
	network *Network

	mu    sync.Mutex
	conns map[net.Conn]bool // guarded by mu; the connections being served
	wg    sync.WaitGroup    // one per connection goroutine
}

// NewControlServer returns a server for network; Serve starts it.
func NewControlServer(network *Network) *ControlServer {
	return &ControlServer{network: network, conns: map[net.Conn]bool{}}
}

// Serve answers the connections ln accepts, each on its own goroutine,
// until ln is closed.
func (s *ControlServer) Serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
		}()
	}
}

// Close ends the connections being served and waits for their goroutines.
// Close the listener first, so that no new one arrives.
func (s *ControlServer) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *ControlServer) handle(conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 64*1024)
	w := bufio.NewWriter(conn)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		out, err := s.Exec(line)
		for _, l := range out {
			fmt.Fprintln(w, l)
		}
		if err != nil {
			fmt.Fprintf(w, "error: %v\n", err)
		} else {
			fmt.Fprintln(w, "ok")
		}
		if w.Flush() != nil {
			return
		}
	}
}

// modemVerbs are the commands whose first argument names a modem.
var modemVerbs = map[string]bool{
	"deliver": true, "pdu": true, "hang": true, "unplug": true, "garbage": true, "urc": true,
	"flood": true, "reg": true, "errors": true, "capacity": true,
}

// Exec runs one command line and returns its data lines; the error is
// what the "error: " line says.
func (s *ControlServer) Exec(line string) ([]string, error) {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "list":
		return s.list(), nil
	case "sent":
		return s.sent(rest)
	case "report":
		return nil, s.report(rest)
	case "help":
		return []string{"commands: list, sent, report, deliver, pdu, hang, unplug, garbage, urc, flood, reg, errors, capacity (see bridged sim -h)"}, nil
	}
	if !modemVerbs[verb] {
		return nil, fmt.Errorf("unknown command %q (try \"help\")", verb)
	}
	name, arg, _ := strings.Cut(rest, " ")
	m := s.network.Modem(name)
	if m == nil {
		return nil, fmt.Errorf("%s: no modem %q (try \"list\")", verb, name)
	}
	return nil, execModem(m, verb, strings.TrimSpace(arg))
}

func (s *ControlServer) list() []string {
	var out []string
	for _, m := range s.network.Modems() {
		state := "plugged"
		if !m.Plugged() {
			state = "unplugged"
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", m.Name(), m.Number(), m.Path(), state))
	}
	return out
}

// sent lists the parts that left the network, one JSON object a line. A
// reader follows the network with a cursor: "sent AFTER" lists what it has
// not seen, and a first seq above AFTER+1 tells it that Options.KeepSent
// dropped parts before it asked.
func (s *ControlServer) sent(arg string) ([]string, error) {
	after := 0
	if arg != "" {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sent: want no argument or a seq such as 1000, not %q", arg)
		}
		after = n
	}
	var out []string
	for _, m := range s.network.SentAfter(after) {
		b, err := json.Marshal(struct {
			Seq        int          `json:"seq"`
			From       string       `json:"from"`
			To         string       `json:"to"`
			MessageRef int          `json:"message_ref"`
			PDU        string       `json:"pdu"`
			Message    *pdu.Message `json:"message"`
			Time       time.Time    `json:"time"`
		}{m.Seq, m.From, m.To, m.MessageRef, m.PDU, m.Message, m.Time})
		if err != nil {
			return nil, fmt.Errorf("sent: %w", err)
		}
		out = append(out, string(b))
	}
	return out, nil
}

func (s *ControlServer) report(arg string) error {
	f := strings.Fields(arg)
	if len(f) < 1 || len(f) > 2 {
		return errors.New("report: want delivered|failed|never [DELAY]")
	}
	outcome, err := ParseReportOutcome(f[0])
	if err != nil {
		return err
	}
	var delay time.Duration
	if len(f) == 2 {
		if delay, err = time.ParseDuration(f[1]); err != nil || delay < 0 {
			return fmt.Errorf("report: %q is not a delay such as 2s", f[1])
		}
	}
	s.network.SetReports(outcome, delay)
	return nil
}

// execModem runs a command of modemVerbs on m; arg is what follows the
// modem's name.
func execModem(m *Modem, verb, arg string) error {
	switch verb {
	case "deliver":
		from, text, ok := strings.Cut(arg, " ")
		if !ok || strings.TrimSpace(text) == "" {
			return errors.New("deliver: want NAME FROM TEXT")
		}
		return m.Deliver(from, strings.TrimSpace(text))
	case "pdu":
		return m.DeliverPDU(arg)
	case "hang":
		m.Hang()
	case "unplug":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return fmt.Errorf("unplug: want NAME DURATION such as 5s, not %q", arg)
		}
		m.Unplug(d)
	case "garbage":
		b, err := unquoteMaybe(arg)
		if err != nil {
			return fmt.Errorf("garbage: %w", err)
		}
		m.InjectGarbage([]byte(b))
	case "urc":
		if arg == "" {
			return errors.New("urc: want NAME LINE")
		}
		m.InjectURC(arg)
	case "flood":
		ns, line, _ := strings.Cut(arg, " ")
		n, err := strconv.Atoi(ns)
		if err != nil || n < 1 || n > 100000 {
			return fmt.Errorf("flood: want NAME N [LINE] with N in 1-100000, not %q", ns)
		}
		m.FloodURCs(n, strings.TrimSpace(line))
	case "reg":
		r, err := ParseRegistration(arg)
		if err != nil {
			return err
		}
		m.SetRegistration(r)
	case "errors":
		codes, err := ParseCMSCodes(strings.Join(strings.Fields(arg), ","))
		if err != nil {
			return fmt.Errorf("errors: %w", err)
		}
		m.SetSendErrors(codes...)
	case "capacity":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return errors.New("capacity: want NAME SM|ME N")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return fmt.Errorf("capacity: %q is not a number", f[1])
		}
		return m.SetCapacity(f[0], n)
	}
	return nil
}

// ParseCMSCodes parses a comma-separated list of +CMS ERROR codes such as
// "38,42,500"; an empty list is nil.
func ParseCMSCodes(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 511 {
			return nil, fmt.Errorf("%q is not a +CMS ERROR code (0-511)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func unquoteMaybe(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}

// ControlError is a command the control listener refused: the text of its
// "error: " line.
type ControlError struct {
	Message string
}

func (e *ControlError) Error() string { return e.Message }

// ControlClient is one connection to a control listener. Its commands run
// one at a time, each waiting for its answer.
type ControlClient struct {
	mu   sync.Mutex
	conn net.Conn      // guarded by mu while a command runs
	rd   *bufio.Reader // guarded by mu
}

// DialControl connects to a control listener at addr, written as for
// ListenControl.
func DialControl(ctx context.Context, addr string) (*ControlClient, error) {
	network := "tcp"
	if p, ok := controlSocketPath(addr); ok {
		network, addr = "unix", p
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &ControlClient{conn: conn, rd: bufio.NewReaderSize(conn, 64*1024)}, nil
}

// Do sends one command line and returns its data lines, or a
// *ControlError for an "error: " answer. The deadline of ctx, if it has
// one, bounds the exchange.
func (c *ControlClient) Do(ctx context.Context, command string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline, _ := ctx.Deadline() // the zero time clears an earlier one
	_ = c.conn.SetDeadline(deadline)
	if _, err := fmt.Fprintln(c.conn, command); err != nil {
		return nil, err
	}
	var out []string
	for {
		line, err := c.rd.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return nil, errors.New("connection closed before an answer")
		}
		if err != nil {
			return nil, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "ok":
			return out, nil
		case strings.HasPrefix(line, "error: "):
			return nil, &ControlError{Message: strings.TrimPrefix(line, "error: ")}
		}
		out = append(out, line)
	}
}

// Close closes the connection.
func (c *ControlClient) Close() error { return c.conn.Close() }

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"bridged/internal/ready"
	"bridged/modem/modemsim"
	"bridged/pdu"
)

// simCommand is "bridged sim": simulated modems on ptys, so that bridged
// (or minicom, or gammu) can be tried without hardware.
type simCommand struct {
	stdout, stderr io.Writer
}

// defaultControl is where "bridged sim" listens for injections, and where
// "bridged sim ctl" sends them. Loopback only: the control port can make
// the modems do anything.
const defaultControl = "127.0.0.1:7830"

func (c *simCommand) Usage() string {
	return `Usage:
  bridged sim [flags]                 run simulated modems until interrupted
  bridged sim ctl [-control ADDR] COMMAND [ARGS...]
                                      send one command to a running "bridged sim"

Each modem is a pseudo-terminal published at DIR/bridged-simN: open that path
wherever a modem's /dev/ttyUSB0 would go. The modems share a virtual network:
an SMS from one to another's number arrives there; anything else is printed.
The echo phone ` + modemsim.EchoNumber + ` replies to whatever it receives.

Flags:
  -n N                  number of modems (default 1)
  -dir DIR              where to publish the paths (default ` + os.TempDir() + `)
  -control ADDR         control listener: HOST:PORT on loopback, or a UNIX
                        socket path (default ` + defaultControl + `)
  -latency DURATION     network time for each AT+CMGS (default 1s)
  -report-delay DURATION  status report delay (default 2s)
  -report-outcome WHAT  delivered, failed or never (default delivered)
  -echo-delay DURATION  echo phone reply delay (default 2s)
  -ack-timeout DURATION how long +CMT/+CDS wait for +CNMA under AT+CSMS=1 (default 15s)
  -send-errors CODES    fail the first sends with these +CMS ERROR codes, e.g. 38,42,500
  -error-rate P         fail each send with probability P (0-1) ...
  -error-codes CODES    ... with one of these codes (default 500)
  -pin PIN              require AT+CPIN=PIN after power-up
  -sm-capacity N        SIM message slots (default 30); small values fill up
  -keep-sent N          how many sent parts "sent" can list (default 1000; 0 keeps all)
  -registration STATE   home, roaming, searching, denied or none (default home)
  -v                    log every AT command (Debug level) to stderr
` + readyFileUsage + `
                        ({"pid", "control", "modems": [{"id", "path", "number"}]})

Control commands (also over "nc": one line each, answered by "ok" or "error: ..."):
  list                          modems, numbers, paths
  deliver NAME FROM TEXT...     an incoming SMS from FROM (a number or a name)
  pdu NAME HEX                  a raw SMS-DELIVER or SMS-STATUS-REPORT
  sent [AFTER]                  the SMS parts that left the network (the last -keep-sent of them),
                                one JSON object a line; with AFTER, only those whose "seq" is greater
  hang NAME                     stop answering until the port is reopened
  unplug NAME DURATION          remove the path, plug back in after DURATION
  garbage NAME TEXT             bytes in the middle of the next response (Go escapes in "quotes")
  urc NAME LINE                 a stray URC in the middle of the next response
  flood NAME N [LINE]           N unsolicited lines at once
  reg NAME STATE                change the registration
  errors NAME CODE...           fail the next sends with these codes
  capacity NAME SM|ME N         change a memory's capacity
  report OUTCOME [DELAY]        status reports from now on: delivered, failed or never
`
}

func (c *simCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "ctl" {
		return c.ctl(ctx, args[1:])
	}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	count := fs.Int("n", 1, "")
	dir := fs.String("dir", os.TempDir(), "")
	control := fs.String("control", defaultControl, "")
	latency := fs.Duration("latency", time.Second, "")
	reportDelay := fs.Duration("report-delay", 2*time.Second, "")
	reportOutcome := fs.String("report-outcome", "delivered", "")
	echoDelay := fs.Duration("echo-delay", 2*time.Second, "")
	ackTimeout := fs.Duration("ack-timeout", modemsim.DefaultAckTimeout, "")
	sendErrors := fs.String("send-errors", "", "")
	errorRate := fs.Float64("error-rate", 0, "")
	errorCodes := fs.String("error-codes", "500", "")
	pin := fs.String("pin", "", "")
	smCapacity := fs.Int("sm-capacity", modemsim.DefaultSMCapacity, "")
	keepSent := fs.Int("keep-sent", simKeepSent, "")
	registration := fs.String("registration", "home", "")
	verbose := fs.Bool("v", false, "")
	readyFile := fs.String("ready-file", "", "")
	rest, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	outcome, err := modemsim.ParseReportOutcome(*reportOutcome)
	if err != nil {
		return usageErrorf("sim: -report-outcome: %v", err)
	}
	reg, err := modemsim.ParseRegistration(*registration)
	if err != nil {
		return usageErrorf("sim: -registration: %v", err)
	}
	schedule, err := parseCodes(*sendErrors)
	if err != nil {
		return usageErrorf("sim: -send-errors: %v", err)
	}
	codes, err := parseCodes(*errorCodes)
	if err != nil {
		return usageErrorf("sim: -error-codes: %v", err)
	}
	switch {
	case len(rest) > 0:
		return usageErrorf("sim: unexpected argument %q", rest[0])
	case *count < 1 || *count > 64:
		return usageErrorf("sim: -n %d is not in 1-64", *count)
	case *errorRate < 0 || *errorRate > 1:
		return usageErrorf("sim: -error-rate %v is not in 0-1", *errorRate)
	case *ackTimeout <= 0:
		return usageErrorf("sim: -ack-timeout %s must be positive", *ackTimeout)
	case *smCapacity < 1:
		return usageErrorf("sim: -sm-capacity %d must be at least 1", *smCapacity)
	case *keepSent < 0:
		return usageErrorf("sim: -keep-sent %d must not be negative", *keepSent)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
	// Listen before creating modems, so a busy port is reported at once.
	ln, err := listenControl(*control)
	if err != nil {
		return err
	}
	defer ln.Close()

	network := modemsim.NewNetwork(modemsim.Options{
		Dir: *dir, SendLatency: *latency, ReportDelay: *reportDelay, ReportOutcome: outcome,
		EchoDelay: *echoDelay, AckTimeout: *ackTimeout, Logger: logger, KeepSent: *keepSent,
	})
	defer network.Close()
	for range *count {
		m, err := network.AddModem(modemsim.Config{PIN: *pin, SMCapacity: *smCapacity})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		m.SetRegistration(reg)
		if len(schedule) > 0 {
			m.SetSendErrors(schedule...)
		}
		if *errorRate > 0 {
			m.SetSendErrorRate(*errorRate, codes...)
		}
	}
	c.printBanner(network, ln.Addr())
	if *readyFile != "" {
		if err := ready.Write(*readyFile, simReady(os.Getpid(), network, ln.Addr())); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		defer ready.Remove(*readyFile) // at a clean exit; a killed sim leaves it, with its pid
	}

	srv := &simControl{network: network, log: logger}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		srv.serve(ln)
	}()
	go func() {
		defer wg.Done()
		c.printSent(ctx, network)
	}()
	<-ctx.Done()
	ln.Close()
	srv.closeAll()
	wg.Wait()
	fmt.Fprintln(c.stdout, "bridged sim: stopped")
	return nil
}

func parseCodes(s string) ([]int, error) {
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

// listenControl listens on a loopback TCP address or a UNIX socket path.
func listenControl(addr string) (net.Listener, error) {
	if path, ok := unixPath(addr); ok {
		_ = os.Remove(path) // a socket left by a killed run
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("sim: control socket: %w", err)
		}
		return ln, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageErrorf("sim: -control %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usageErrorf("sim: -control %q: only a loopback address or a UNIX socket path", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: control listener: %w", err)
	}
	return ln, nil
}

func unixPath(addr string) (string, bool) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return p, true
	}
	return addr, strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, ".")
}

func (c *simCommand) printBanner(network *modemsim.Network, addr net.Addr) {
	w := c.stdout
	fmt.Fprintln(w, "bridged sim: simulated modems (open the path as you would /dev/ttyUSB0):")
	for _, m := range network.Modems() {
		fmt.Fprintf(w, "  %-6s %-14s %s\n", m.Name(), m.Number(), m.Path())
	}
	first := network.Modems()[0]
	control := addr.String()
	if addr.Network() == "unix" {
		control = "unix:" + control
	}
	fmt.Fprintf(w, "Echo phone: %s replies to what it receives.\n", modemsim.EchoNumber)
	fmt.Fprintf(w, "Control: %s\n", control)
	fmt.Fprintf(w, "Inject an incoming SMS:\n  bridged sim ctl -control %s deliver %s +447400123456 'Hello from the network'\n", control, first.Name())
	fmt.Fprintf(w, "Try by hand:\n  minicom -D %s   (then AT+CMGL=4)\n", first.Path())
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// printSent shows what left the network, as a person trying bridged wants
// to see their outgoing SMS somewhere.
func (c *simCommand) printSent(ctx context.Context, network *modemsim.Network) {
	seen := 0
	for {
		sent, err := network.WaitSent(ctx, seen+1)
		if err != nil {
			return
		}
		for _, s := range sent {
			if s.Seq <= seen {
				continue
			}
			part := ""
			if cc := s.Message.Concat; cc != nil {
				part = fmt.Sprintf(" (part %d/%d)", cc.Seq, cc.Total)
			}
			fmt.Fprintf(c.stdout, "sent: %s -> %s mr=%d%s: %q\n", s.From, s.To, s.MessageRef, part, s.Message.Text)
			seen = s.Seq
		}
	}
}

// simControl serves the control protocol: one command a line, answered by
// any number of data lines and then "ok" or "error: ...".
type simControl struct {
	network *modemsim.Network
	log     *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func (s *simControl) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[net.Conn]bool{}
		}
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

func (s *simControl) closeAll() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *simControl) handle(conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 64*1024)
	w := bufio.NewWriter(conn)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		out, err := s.exec(line)
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

// exec runs one control command.
func (s *simControl) exec(line string) ([]string, error) {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "list":
		var out []string
		for _, m := range s.network.Modems() {
			state := "plugged"
			if !m.Plugged() {
				state = "unplugged"
			}
			out = append(out, fmt.Sprintf("%s %s %s %s", m.Name(), m.Number(), m.Path(), state))
		}
		return out, nil
	case "sent":
		// A reader follows the network with a cursor: "sent AFTER" lists
		// what it has not seen, and a first seq above AFTER+1 tells it
		// that -keep-sent dropped parts before it asked.
		after := 0
		if rest != "" {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("sent: want no argument or a seq such as 1000, not %q", rest)
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
				return nil, err
			}
			out = append(out, string(b))
		}
		return out, nil
	case "report":
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 {
			return nil, errors.New("report: want delivered|failed|never [DELAY]")
		}
		outcome, err := modemsim.ParseReportOutcome(f[0])
		if err != nil {
			return nil, err
		}
		var delay time.Duration
		if len(f) == 2 {
			if delay, err = time.ParseDuration(f[1]); err != nil || delay < 0 {
				return nil, fmt.Errorf("report: %q is not a delay such as 2s", f[1])
			}
		}
		s.network.SetReports(outcome, delay)
		return nil, nil
	case "help":
		return []string{"commands: list, sent, report, deliver, pdu, hang, unplug, garbage, urc, flood, reg, errors, capacity (see bridged sim -h)"}, nil
	}
	switch verb {
	case "deliver", "pdu", "hang", "unplug", "garbage", "urc", "flood", "reg", "errors", "capacity":
	default:
		return nil, fmt.Errorf("unknown command %q (try \"help\")", verb)
	}
	name, arg, _ := strings.Cut(rest, " ")
	arg = strings.TrimSpace(arg)
	m := s.network.Modem(name)
	if m == nil {
		return nil, fmt.Errorf("%s: no modem %q (try \"list\")", verb, name)
	}
	switch verb {
	case "deliver":
		from, text, ok := strings.Cut(arg, " ")
		if !ok || strings.TrimSpace(text) == "" {
			return nil, errors.New("deliver: want NAME FROM TEXT")
		}
		return nil, m.Deliver(from, strings.TrimSpace(text))
	case "pdu":
		return nil, m.DeliverPDU(arg)
	case "hang":
		m.Hang()
		return nil, nil
	case "unplug":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("unplug: want NAME DURATION such as 5s, not %q", arg)
		}
		m.Unplug(d)
		return nil, nil
	case "garbage":
		b, err := unquoteMaybe(arg)
		if err != nil {
			return nil, fmt.Errorf("garbage: %w", err)
		}
		m.InjectGarbage([]byte(b))
		return nil, nil
	case "urc":
		if arg == "" {
			return nil, errors.New("urc: want NAME LINE")
		}
		m.InjectURC(arg)
		return nil, nil
	case "flood":
		ns, line, _ := strings.Cut(arg, " ")
		n, err := strconv.Atoi(ns)
		if err != nil || n < 1 || n > 100000 {
			return nil, fmt.Errorf("flood: want NAME N [LINE] with N in 1-100000, not %q", ns)
		}
		m.FloodURCs(n, strings.TrimSpace(line))
		return nil, nil
	case "reg":
		r, err := modemsim.ParseRegistration(arg)
		if err != nil {
			return nil, err
		}
		m.SetRegistration(r)
		return nil, nil
	case "errors":
		codes, err := parseCodes(strings.Join(strings.Fields(arg), ","))
		if err != nil {
			return nil, fmt.Errorf("errors: %w", err)
		}
		m.SetSendErrors(codes...)
		return nil, nil
	case "capacity":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return nil, errors.New("capacity: want NAME SM|ME N")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("capacity: %q is not a number", f[1])
		}
		return nil, m.SetCapacity(f[0], n)
	}
	return nil, fmt.Errorf("unknown command %q (try \"help\")", verb)
}

func unquoteMaybe(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}

// ctl is "bridged sim ctl": one control command, its answer on stdout.
func (c *simCommand) ctl(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim ctl", flag.ContinueOnError)
	control := fs.String("control", defaultControl, "")
	if err := parseFlags(fs, c.Usage(), c.stdout, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("sim ctl: want a command such as \"list\" (see bridged sim -h)")
	}
	network, addr := "tcp", *control
	if p, ok := unixPath(addr); ok {
		network, addr = "unix", p
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, network, addr)
	if err != nil {
		return fmt.Errorf("sim ctl: is \"bridged sim\" running? %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(conn, strings.Join(fs.Args(), " ")); err != nil {
		return fmt.Errorf("sim ctl: %w", err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ok":
			return nil
		case strings.HasPrefix(line, "error: "):
			return fmt.Errorf("sim ctl: %s", strings.TrimPrefix(line, "error: "))
		}
		fmt.Fprintln(c.stdout, line)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sim ctl: %w", err)
	}
	return errors.New("sim ctl: connection closed before an answer")
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"bridged/internal/ready"
	"bridged/modem/modemsim"
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
	outcome, outcomeErr := modemsim.ParseReportOutcome(*reportOutcome)
	reg, regErr := modemsim.ParseRegistration(*registration)
	schedule, scheduleErr := modemsim.ParseCMSCodes(*sendErrors)
	codes, codesErr := modemsim.ParseCMSCodes(*errorCodes)
	for _, f := range []struct {
		name string
		err  error
	}{{"report-outcome", outcomeErr}, {"registration", regErr}, {"send-errors", scheduleErr}, {"error-codes", codesErr}} {
		if f.err != nil {
			return usageErrorf("sim: -%s: %v", f.name, f.err)
		}
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
	if err := modemsim.CheckControlAddr(*control); err != nil {
		return usageErrorf("sim: -control %q: %v", *control, err)
	}
	// Listen before creating modems, so a busy port is reported at once.
	ln, err := modemsim.ListenControl(*control)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
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
	c.printBanner(network, modemsim.ControlAddr(ln.Addr()))
	if *readyFile != "" {
		if err := ready.Write(*readyFile, simReady(os.Getpid(), network, ln.Addr())); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		defer ready.Remove(*readyFile) // at a clean exit; a killed sim leaves it, with its pid
	}

	srv := modemsim.NewControlServer(network)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		srv.Serve(ln)
	}()
	go func() {
		defer wg.Done()
		c.printSent(ctx, network)
	}()
	<-ctx.Done()
	ln.Close()
	srv.Close()
	wg.Wait()
	fmt.Fprintln(c.stdout, "bridged sim: stopped")
	return nil
}

func (c *simCommand) printBanner(network *modemsim.Network, control string) {
	w := c.stdout
	fmt.Fprintln(w, "bridged sim: simulated modems (open the path as you would /dev/ttyUSB0):")
	for _, m := range network.Modems() {
		fmt.Fprintf(w, "  %-6s %-14s %s\n", m.Name(), m.Number(), m.Path())
	}
	first := network.Modems()[0]
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
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client, err := modemsim.DialControl(dctx, *control)
	if err != nil {
		return fmt.Errorf("sim ctl: is \"bridged sim\" running? %w", err)
	}
	defer client.Close()
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines, err := client.Do(ectx, strings.Join(fs.Args(), " "))
	if err != nil {
		return fmt.Errorf("sim ctl: %w", err)
	}
	for _, line := range lines {
		fmt.Fprintln(c.stdout, line)
	}
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"bridged/modem"
)

// modemsCommand is "bridged modems": find the serial ports and say which
// of them are modems and in what state, before anything is configured.
type modemsCommand struct {
	stdout, stderr io.Writer
}

func (c *modemsCommand) Usage() string {
	return `Usage:
  bridged modems [-json] [-timeout D] [-baud N] [DEVICE...]
  bridged modems clear-pin [-config FILE] [-api URL] ID

Lists the serial ports (USB vendor and product IDs, serial numbers, their
/dev/serial/by-id names) and probes each with a few AT commands: who made the
modem, its IMEI, the SIM's state, registration, operator and signal. It never
sends an SMS and never enters a PIN. With DEVICE arguments it probes exactly
those paths, which is how to reach a simulated modem's pty.

Stop ModemManager first if it is running: it holds modems' ports open and
answers interfere with the probe (sudo systemctl stop ModemManager).

Flags:
  -json        print a JSON array, one object per port
  -timeout D   how long each AT command may take (default 2s)
  -baud N      serial speed (default 115200)

clear-pin forgets that the SIM in modem ID (a modem id, or a SIM's ICCID)
refused the configured PIN, or may have (an AT+CPIN that got no answer), or
had one attempt left: bridged never enters such a PIN again by itself, as
three wrong tries block the SIM. Fix pin, or unlock the SIM in a phone,
first. With the daemon running, it asks the daemon's API (the [http] listen
address of -config, or -api URL, with the first of its tokens), and the modem
tries its PIN again at once; otherwise it clears the refusal in the
database of -config, and the modem tries at the next start.
`
}

func (c *modemsCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "clear-pin" {
		return c.clearPIN(ctx, args[1:])
	}
	fs := flag.NewFlagSet("modems", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	timeout := fs.Duration("timeout", 2*time.Second, "")
	baud := fs.Int("baud", modem.DefaultBaud, "")
	devices, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageErrorf("modems: -timeout must be positive")
	}
	var ports []modem.Port
	if len(devices) > 0 {
		for _, d := range devices {
			ports = append(ports, modem.DescribePort(d))
		}
	} else if ports, err = modem.ListPorts(); err != nil {
		return fmt.Errorf("modems: %w", err)
	}
	results := make([]modem.ProbeResult, 0, len(ports))
	for _, p := range ports {
		results = append(results, modem.Probe(ctx, p, *baud, *timeout))
	}
	if *asJSON {
		return writeJSON(c.stdout, results)
	}
	if len(results) == 0 {
		fmt.Fprintln(c.stdout, "No serial ports found. Is the modem plugged in (lsusb)? A simulated modem's pty must be named: bridged modems /tmp/bridged-sim0")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tUSB\tMODEM\tIMEI\tSIM\tNETWORK\tSIGNAL\tNOTE")
	for _, r := range results {
		usb := "-"
		if r.VID != "" {
			usb = r.VID + ":" + r.PID
		}
		name := r.Device
		if r.ByID != "" {
			name = r.ByID
		}
		if !r.Responds {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\tno answer: %s\n", name, usb, r.Error)
			continue
		}
		signal := "-"
		if r.SignalDBm != nil {
			signal = fmt.Sprintf("%d dBm", *r.SignalDBm)
		}
		network := strings.TrimSpace(r.Registration + " " + r.Operator)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, usb, strings.TrimSpace(r.Manufacturer+" "+r.Model), dash(r.IMEI), r.SIM, dash(network), signal)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

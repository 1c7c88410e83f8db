package modem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Port is a serial port the system lists, with what USB says about it.
type Port struct {
	Device string `json:"device"`
	// ByID is the /dev/serial/by-id name that points at Device, the name to
	// put in the configuration because it survives re-enumeration.
	ByID   string `json:"by_id"`
	VID    string `json:"vid"`
	PID    string `json:"pid"`
	Serial string `json:"serial"`
}

// ListPorts returns the serial ports of the system, sorted by device.
// Pseudo-terminals (a simulated modem) are not listed: name them.
func ListPorts() ([]Port, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	byID := byIDNames()
	var ports []Port
	for _, d := range details {
		ports = append(ports, Port{Device: d.Name, ByID: byID[d.Name], VID: d.VID, PID: d.PID, Serial: d.SerialNumber})
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Device < ports[j].Device })
	return ports, nil
}

// byIDNames maps each device to its /dev/serial/by-id link, when it has one.
func byIDNames() map[string]string {
	out := map[string]string{}
	links, _ := filepath.Glob("/dev/serial/by-id/*")
	for _, l := range links {
		if target, err := filepath.EvalSymlinks(l); err == nil {
			out[target] = l
		}
	}
	return out
}

// DescribePort returns what is known of a device named on the command line:
// its by-id name and, for a USB port, its IDs.
func DescribePort(device string) Port {
	p := Port{Device: device}
	target, err := filepath.EvalSymlinks(device)
	if err != nil {
		return p
	}
	if ports, err := ListPorts(); err == nil {
		for _, q := range ports {
			if q.Device == target || q.Device == device {
				q.Device = device
				p = q
			}
		}
	}
	if p.ByID == "" {
		p.ByID = byIDNames()[target]
	}
	return p
}

// ProbeResult is what a port answered to a few harmless AT commands.
type ProbeResult struct {
	Port
	Responds     bool     `json:"responds"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	Revision     string   `json:"revision"`
	IMEI         string   `json:"imei"`
	SIM          SIMState `json:"sim"`
	Registration string   `json:"registration"`
	Operator     string   `json:"operator"`
	SignalDBm    *int     `json:"signal_dbm"`
	Error        string   `json:"error"`
}

// Probe asks the modem on p who it is and how it is, each command bounded by
// timeout. It never sends an SMS, never enters a PIN and never changes a
// stored setting (no ATZ, no AT&W). A port that does not answer AT gives
// Responds false and the reason in Error.
func Probe(ctx context.Context, p Port, baud int, timeout time.Duration) ProbeResult {
	r := ProbeResult{Port: p}
	if baud == 0 {
		baud = DefaultBaud
	}
	if _, err := os.Stat(p.Device); err != nil {
		r.Error = err.Error()
		return r
	}
	port, err := serial.Open(p.Device, &serial.Mode{BaudRate: baud})
	if err != nil {
		r.Error = fmt.Sprintf("open: %v", err)
		return r
	}
	// Closing the port is also how a probe stuck on a silent port ends.
	stop := context.AfterFunc(ctx, func() { port.Close() })
	defer stop()
	defer port.Close()
	a := at.New(port, at.WithTimeout(timeout))
	// ESC cancels a prompt left open; ATE0 keeps answers free of echo.
	if err := a.Init(at.WithCmds("E0")); err != nil {
		r.Error = fmt.Sprintf("no answer to AT: %v", err)
		return r
	}
	r.Responds = true
	// Numeric +CME ERROR codes tell "no SIM" from other failures; the
	// setting is volatile and gone at the next ATZ.
	a.Command("+CMEE=1")
	get := func(c, prefix string) string {
		l, err := a.Command(c)
		if err != nil {
			return ""
		}
		return firstValue(l, prefix)
	}
	r.Manufacturer = get("+CGMI", "+CGMI:")
	r.Model = get("+CGMM", "+CGMM:")
	r.Revision = get("+CGMR", "+CGMR:")
	r.IMEI = get("+CGSN", "+CGSN:")
	l, err := a.Command("+CPIN?")
	r.SIM = simState(l)
	if err != nil {
		r.SIM = SIMError
		var cme at.CMEError
		if errors.As(err, &cme) && string(cme) == "10" {
			r.SIM = SIMAbsent
		}
	}
	if l, err := a.Command("+CREG?"); err == nil {
		if line, ok := findLine(l, "+CREG:"); ok {
			if reg, ok := parseCREG(line, "+CREG", true); ok {
				r.Registration = string(reg)
			}
		}
	}
	if l, err := a.Command("+COPS?"); err == nil {
		r.Operator = operatorName(l)
	}
	if l, err := a.Command("+CSQ"); err == nil {
		if dbm, ok := signalDBm(l); ok {
			r.SignalDBm = &dbm
		}
	}
	return r
}

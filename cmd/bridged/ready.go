package main

import (
	"net"

	"bridged/internal/ready"
	"bridged/modem/modemsim"
)

// readyFileUsage is the -ready-file line of serve's and sim's usage.
const readyFileUsage = `  -ready-file PATH      once listening, write PATH (JSON, mode 0600) for tools
                        to learn the addresses from; removed at a clean exit`

// simReady is what "bridged sim -ready-file" writes: the control address
// as "sim ctl -control" takes it, and every modem's pty.
func simReady(pid int, network *modemsim.Network, control net.Addr) ready.Sim {
	doc := ready.Sim{PID: pid, Control: modemsim.ControlAddr(control), Modems: []ready.Modem{}}
	for _, m := range network.Modems() {
		doc.Modems = append(doc.Modems, ready.Modem{ID: m.Name(), Path: m.Path(), Number: m.Number()})
	}
	return doc
}

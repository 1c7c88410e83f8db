package modemsim_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"go.bug.st/serial"

	"bridged/modem/modemsim"
)

// A modem on a virtual network, opened like a USB modem, with an SMS
// injected from Go. Real tests wait with deadlines; see client_test.go.
func Example() {
	dir, err := os.MkdirTemp("", "modemsim-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	network := modemsim.NewNetwork(modemsim.Options{Dir: dir})
	defer network.Close()
	m, err := network.AddModem(modemsim.Config{Number: "+12015550101"})
	if err != nil {
		panic(err)
	}
	port, err := serial.Open(m.Path(), &serial.Mode{BaudRate: 115200})
	if err != nil {
		panic(err)
	}
	defer port.Close()
	lines := bufio.NewScanner(port)
	command := func(cmd string) {
		fmt.Fprintf(port, "%s\r", cmd)
		for lines.Scan() {
			line := strings.TrimSpace(lines.Text())
			if line != "" {
				fmt.Println(line)
			}
			if line == "OK" || strings.Contains(line, "ERROR") {
				return
			}
		}
	}
	command("ATE0")
	if err := m.Deliver("+447700900123", "hello"); err != nil {
		panic(err)
	}
	command("AT+CPMS?")
	// Output:
	// ATE0
	// OK
	// +CMTI: "SM",1
	// +CPMS: "SM",1,30,"SM",1,30,"SM",1,30
	// OK
}

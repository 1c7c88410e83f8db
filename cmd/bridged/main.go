// Command bridged is an SMS gateway: it drives GSM modems and relays text
// messages between them and a local HTTP API through a durable queue.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "bridged/cmd/bridged/internal/noheapprof" // first: see its doc
	_ "bridged/cmd/bridged/internal/onearena"   // one malloc arena: see its doc
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes: 0 success (and -h), 1 a runtime error, 2 a usage error.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks an error in how bridged was called, which exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// command is one subcommand of bridged.
type command interface {
	Run(ctx context.Context, args []string) error
	Usage() string
}

// Main holds what every subcommand writes to, so tests can run the binary's
// logic in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func (m *Main) commands() map[string]command {
	return map[string]command{
		"pdu":    &pduCommand{stdin: m.Stdin, stdout: m.Stdout, stderr: m.Stderr},
		"modems": &modemsCommand{stdout: m.Stdout, stderr: m.Stderr},
		"sim":    &simCommand{stdout: m.Stdout, stderr: m.Stderr},
		"serve":  &serveCommand{stdout: m.Stdout, stderr: m.Stderr},
		"send":   &sendCommand{stdin: m.Stdin, stdout: m.Stdout},
		"inbox":  &inboxCommand{stdout: m.Stdout, stderr: m.Stderr},

		"version": &versionCommand{stdout: m.Stdout},

		"check-config": &checkConfigCommand{stdout: m.Stdout},
	}
}

const mainUsage = `bridged relays SMS between GSM modems and a local HTTP API.

Usage:
  bridged COMMAND [arguments]

Commands:
  serve         run the gateway: HTTP API, queue and modems
  check-config  check a configuration file and print it with secrets masked
  send          send an SMS through the running daemon, and follow it with -wait
  inbox         print the SMS the running daemon received, and follow them with -follow
  modems        list serial ports and probe which of them are modems
  sim           run simulated modems on pseudo-terminals, to try bridged without hardware
  pdu           encode text into SMS-SUBMIT PDUs, or decode a PDU a modem printed
  version       print the version, commit, build date, Go and SQLite versions
  help          show this help, or a command's with "bridged help COMMAND"

Run "bridged COMMAND -h" for a command's flags.
`

// Run runs the subcommand named in args[0] and returns the exit code. It
// prints an error once, to Stderr, as "bridged: ...".
func (m *Main) Run(ctx context.Context, args []string) int {
	err := m.run(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(m.Stderr, "bridged: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(m.Stderr, "bridged: %v\n", err)
		return exitError
	}
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, mainUsage)
		return usageErrorf("no command given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			cmd, ok := m.commands()[rest[0]]
			if !ok {
				return usageErrorf("unknown command %q (see \"bridged help\")", rest[0])
			}
			fmt.Fprint(m.Stdout, cmd.Usage())
			return nil
		}
		fmt.Fprint(m.Stdout, mainUsage)
		return nil
	}
	cmd, ok := m.commands()[name]
	if !ok {
		return usageErrorf("unknown command %q (see \"bridged help\")", name)
	}
	return cmd.Run(ctx, rest)
}

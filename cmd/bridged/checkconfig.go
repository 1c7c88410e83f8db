package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"bridged/config"
)

// checkConfigCommand is "bridged check-config": find every mistake in a
// configuration file before the daemon is started (or restarted) with it,
// and show what it would run on.
type checkConfigCommand struct {
	stdout io.Writer
}

func (c *checkConfigCommand) Usage() string {
	return `Usage:
  bridged check-config [-config FILE] [-quiet]

Reads the configuration as "bridged serve" would, environment overrides
(BRIDGED_TOKENS, BRIDGED_PIN_<ID>, systemd credentials) included, and prints
the effective configuration as TOML, defaults filled in and secrets shown as
"***". Without -config it checks the built-in default.

Exit status 0 when the configuration is valid. Otherwise 1, with every
problem on its own line: FILE:LINE: key: what is wrong.

Flags:
  -config FILE   the configuration file (see config.example.toml)
  -quiet         print nothing when it is valid (the unit's ExecStartPre)
`
}

func (c *checkConfigCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	path := fs.String("config", "", "")
	quiet := fs.Bool("quiet", false, "")
	if err := parseFlags(fs, c.Usage(), c.stdout, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("check-config: unexpected argument %q (the file goes after -config)", fs.Arg(0))
	}
	cfg, err := loadServeConfig(*path)
	if err != nil {
		return configError(err)
	}
	if *quiet {
		return nil
	}
	return cfg.Write(c.stdout)
}

// configError makes each problem of an invalid configuration a line of its
// own when Main prints the error as "bridged: ...", so that every line
// reads "bridged: FILE:LINE: ..." as an editor's error list expects.
func configError(err error) error {
	var verr *config.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	return problemsError{verr}
}

type problemsError struct{ err *config.ValidationError }

func (e problemsError) Error() string { return strings.ReplaceAll(e.err.Error(), "\n", "\nbridged: ") }
func (e problemsError) Unwrap() error { return e.err }

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseInterspersed parses flags that may come before or after positional
// arguments ("bridged pdu encode TEXT --to N" reads as well as the other
// order) and returns the positional ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, usage string, w io.Writer, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, usage, w, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseFlags parses args with fs, printing usage to w for -h. A bad flag is
// a usageError carrying the flag package's one-line message.
func parseFlags(fs *flag.FlagSet, usage string, w io.Writer, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(w, usage)
			return err
		}
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	return nil
}

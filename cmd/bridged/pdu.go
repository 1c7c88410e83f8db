package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"bridged/config"
	"bridged/pdu"
)

// pduCommand is "bridged pdu": the codec on the command line, for checking
// what a modem printed or what bridged would send.
type pduCommand struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

func (c *pduCommand) Usage() string {
	return `Usage:
  bridged pdu encode --to NUMBER [--flash] [--report] [--validity DURATION]
                     [--smsc NUMBER] [--max-parts N] [--ref N] [--language NAME] TEXT
  bridged pdu decode HEX...
  bridged pdu decode -          (one PDU a line on standard input)

encode prints {"encoding", "parts": [{"pdu", "length"}]}: each pdu exactly as
written after the AT+CMGS prompt, and the length AT+CMGS= takes.
decode prints one JSON object a PDU: type, smsc, from/to/recipient, text,
encoding, class, timestamp, concat, message_ref, status.

Encode flags:
  --to NUMBER         destination, +international or national digits (required)
  --flash             message class 0: shown at once, not stored
  --report            request a delivery status report (TP-SRR)
  --validity DURATION relative validity such as 30m, 24h, 7d or 2w
  --smsc NUMBER       service centre; default "00", the SIM's own
  --max-parts N       refuse texts needing more parts (default 10)
  --ref N             concatenation reference 0-255 for multipart texts
  --language NAME     allow a national language shift table (default none)
`
}

func (c *pduCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErrorf("pdu: want \"encode\" or \"decode\" (see \"bridged pdu -h\")")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(c.stdout, c.Usage())
		return flag.ErrHelp
	case "encode":
		return c.encode(args[1:])
	case "decode":
		return c.decode(args[1:])
	}
	return usageErrorf("pdu: unknown subcommand %q (want encode or decode)", args[0])
}

func (c *pduCommand) encode(args []string) error {
	fs := flag.NewFlagSet("pdu encode", flag.ContinueOnError)
	var s pdu.Submit
	var validity, language string
	var ref uint
	fs.StringVar(&s.To, "to", "", "")
	fs.BoolVar(&s.Flash, "flash", false, "")
	fs.BoolVar(&s.StatusReport, "report", false, "")
	fs.StringVar(&validity, "validity", "", "")
	fs.StringVar(&s.SMSC, "smsc", "", "")
	fs.IntVar(&s.MaxParts, "max-parts", pdu.DefaultMaxParts, "")
	fs.UintVar(&ref, "ref", 0, "")
	fs.StringVar(&language, "language", "", "")
	texts, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	switch {
	case s.To == "":
		return usageErrorf("pdu encode: --to NUMBER is required")
	case len(texts) != 1:
		return usageErrorf("pdu encode: want exactly one TEXT argument, got %d (quote the text)", len(texts))
	case ref > 255:
		return usageErrorf("pdu encode: --ref %d is not in 0-255", ref)
	case s.MaxParts < 1:
		return usageErrorf("pdu encode: --max-parts %d must be at least 1", s.MaxParts)
	}
	s.Text, s.Ref = texts[0], uint8(ref)
	if validity != "" {
		if s.Validity, err = config.ParseDuration(validity); err != nil {
			return usageErrorf("pdu encode: --validity: %v", err)
		}
	}
	if s.Language, err = pdu.ParseLanguage(language); err != nil {
		return usageErrorf("pdu encode: --language: %v", err)
	}
	enc, err := s.Encode()
	if err != nil {
		return fmt.Errorf("pdu encode: %w", err)
	}
	return writeJSON(c.stdout, enc)
}

func (c *pduCommand) decode(args []string) error {
	fs := flag.NewFlagSet("pdu decode", flag.ContinueOnError)
	hexes, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	if len(hexes) == 0 {
		return usageErrorf("pdu decode: want a HEX argument, or - to read standard input")
	}
	if len(hexes) == 1 && hexes[0] == "-" {
		hexes = nil
		sc := bufio.NewScanner(c.stdin)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				hexes = append(hexes, line)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("pdu decode: read standard input: %w", err)
		}
	}
	var failed error
	for _, h := range hexes {
		m, err := pdu.Decode(h)
		if err != nil {
			// Keep going so one bad line in a batch does not hide the rest.
			failed = errors.Join(failed, err)
			continue
		}
		if err := writeJSON(c.stdout, m); err != nil {
			return err
		}
	}
	if failed != nil {
		return fmt.Errorf("pdu decode: %w", failed)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

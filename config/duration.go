package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// Duration is a TOML duration: a string in Go syntax ("30s", "1h30m") or
// whole days or weeks ("7d", "2w"), which is how people state how long an
// SMS stays valid. A bare TOML integer is refused by Load, because its unit
// would be a guess.
type Duration time.Duration

// ParseDuration parses what a Duration accepts. It fails with the text
// and an example of the syntax.
func ParseDuration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": day, "w": week} {
		n, ok := strings.CutSuffix(s, suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < 0 || v > int64(time.Duration(1<<63-1)/unit) {
			return 0, fmt.Errorf("invalid duration %q (whole days or weeks: 7d, 2w)", s)
		}
		return time.Duration(v) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 24h, 7d)", s)
	}
	return d, nil
}

// UnmarshalTOML implements toml.Unmarshaler: a string is read with
// ParseDuration; a bare integer only when it is 0, as its unit would be a
// guess (the TOML library would read nanoseconds). Its errors are what
// Load reports.
func (d *Duration) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		p, err := ParseDuration(x)
		if err != nil {
			return err
		}
		*d = Duration(p)
		return nil
	case int64:
		if x != 0 { // zero is zero in any unit
			return fmt.Errorf("%d has no unit: write \"%ds\"", x, x)
		}
		*d = 0
		return nil
	}
	return fmt.Errorf("want %s, got %s", want(durationType), describe(v, false))
}

// String formats d the way a person would write it in the file: "2w",
// "7d", "90s", "2m", "1h30m"; ParseDuration reads it back exactly.
func (d Duration) String() string {
	v := time.Duration(d)
	switch {
	case v == 0:
		return "0s"
	case v%week == 0:
		return strconv.FormatInt(int64(v/week), 10) + "w"
	case v%day == 0:
		return strconv.FormatInt(int64(v/day), 10) + "d"
	}
	s := v.String()
	// time.Duration.String writes "2m0s" and "1h0m0s"; drop the zero
	// units at the end, which ParseDuration does not need.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

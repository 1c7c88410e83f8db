package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the configuration file; empty when the configuration was
	// not read from one.
	File string
	// Line is where the key is in File; 0 when it is not in the file (a
	// default or an environment override) or could not be found.
	Line int
	// Key is the key's path: "http.listen", "modem[1].baud"; empty for a
	// problem with the whole file (TOML syntax).
	Key string
	// Message says what is wrong, with the value, and a hint when there is
	// a likely fix.
	Message string
}

// String formats the problem as compilers do, "FILE:LINE: key: message",
// leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError is every problem Load or Validate found, in file order
// where there is one.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems one a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems; its methods keep the checks short.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

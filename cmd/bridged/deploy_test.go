package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// udevRule is one line of deploy/99-bridged.rules that tells ModemManager
// to ignore a USB product. udev takes "#" as a comment only at the start
// of a line, so a comment after a rule would make the line invalid.
var udevRule = regexp.MustCompile(`^ATTRS\{idVendor\}=="([0-9a-f]{4})", ATTRS\{idProduct\}=="([0-9a-f]{4})", ENV\{ID_MM_DEVICE_IGNORE\}="1"$`)

// TestUdevRules: every line of the rules file is a comment, a blank, the
// guard and label, or a rule of udevRule naming a product not named
// before, with its model in the comment line above it.
func TestUdevRules(t *testing.T) {
	b, err := os.ReadFile("../../deploy/99-bridged.rules")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		switch {
		case line == "" || strings.HasPrefix(line, "# "), line == "#":
		case line == `ACTION!="add|change|move|bind", GOTO="bridged_end"`,
			line == `LABEL="bridged_end"`:
		default:
			m := udevRule.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("line %d is not a rule of the expected form: %q", i+1, line)
				continue
			}
			if id := m[1] + ":" + m[2]; seen[id] {
				t.Errorf("line %d: %s named twice", i+1, id)
			} else {
				seen[id] = true
			}
			if i == 0 || !strings.HasPrefix(lines[i-1], "# ") {
				t.Errorf("line %d: no comment naming the modem above %q", i+1, line)
			}
		}
	}
	if len(seen) < 20 || lines[len(lines)-1] != `LABEL="bridged_end"` {
		t.Errorf("%d rules, last line %q", len(seen), lines[len(lines)-1])
	}
}

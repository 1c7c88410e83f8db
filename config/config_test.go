package config

import (
	"strings"
	"testing"
)

func TestLogger(t *testing.T) {
	tests := []struct {
		name   string
		log    Log
		want   string // what a Debug then a Warn record leave in the output
		absent string
	}{
		{name: "text at info", log: Log{Level: "info", Format: "text"}, want: "level=WARN msg=w", absent: "msg=d"},
		{name: "json at debug", log: Log{Level: "debug", Format: "json"}, want: `"level":"DEBUG","msg":"d"`},
		{name: "error hides warnings", log: Log{Level: "error", Format: "text"}, absent: "msg=w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			l := tt.log.Logger(&b)
			l.Debug("d")
			l.Warn("w")
			if tt.want != "" && !strings.Contains(b.String(), tt.want) {
				t.Errorf("output %q does not contain %q", b.String(), tt.want)
			}
			if tt.absent != "" && strings.Contains(b.String(), tt.absent) {
				t.Errorf("output %q contains %q", b.String(), tt.absent)
			}
		})
	}
}

package config

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		out  string // String of the result; "" for an error
	}{
		{name: "seconds", in: "30s", want: 30 * time.Second, out: "30s"},
		{name: "minutes", in: "120s", want: 2 * time.Minute, out: "2m"},
		{name: "hours and minutes", in: "90m", want: 90 * time.Minute, out: "1h30m"},
		{name: "whole hours", in: "5h", want: 5 * time.Hour, out: "5h"},
		{name: "days", in: "7d", want: 7 * 24 * time.Hour, out: "1w"},
		{name: "day in hours", in: "24h", want: 24 * time.Hour, out: "1d"},
		{name: "weeks", in: "63w", want: 63 * 7 * 24 * time.Hour, out: "63w"},
		{name: "milliseconds", in: "250ms", want: 250 * time.Millisecond, out: "250ms"},
		{name: "zero", in: "0", want: 0, out: "0s"},
		{name: "mixed", in: "1h0m30s", want: time.Hour + 30*time.Second, out: "1h0m30s"},
		{name: "no unit", in: "30", out: ""},
		{name: "words", in: "thirty seconds", out: ""},
		{name: "fractional days", in: "1.5d", out: ""},
		{name: "negative days", in: "-1d", out: ""},
		{name: "days overflow", in: "999999999d", out: ""},
		{name: "empty", in: "", out: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalTOML(tt.in)
			if tt.out == "" {
				if err == nil {
					t.Errorf("%q parsed as %v, want an error", tt.in, time.Duration(d))
				}
				return
			}
			if err != nil || time.Duration(d) != tt.want {
				t.Fatalf("%q: %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
			}
			if d.String() != tt.out {
				t.Errorf("String() = %q, want %q", d.String(), tt.out)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != tt.want {
				t.Errorf("String() %q reads back as %v, %v", d.String(), back, err)
			}
		})
	}
}

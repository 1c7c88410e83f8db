package httpapi

import (
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		name, number, region string
		want                 string // E.164, or a part of the error
		ok                   bool
	}{
		{name: "E.164", number: "+447400123456", region: "", want: "+447400123456", ok: true},
		{name: "spaces and dashes", number: " +44 7400-123 456 ", region: "", want: "+447400123456", ok: true},
		{name: "national GB", number: "07400 123456", region: "GB", want: "+447400123456", ok: true},
		{name: "international prefix 00", number: "00447400123456", region: "GB", want: "+447400123456", ok: true},
		{name: "national CN mobile", number: "138 0013 8000", region: "CN", want: "+8613800138000", ok: true},
		{name: "US with parentheses", number: "(202) 555-0100", region: "US", want: "+12025550100", ok: true},
		{name: "foreign number in another default country", number: "+8613800138000", region: "GB", want: "+8613800138000", ok: true},
		{name: "empty", number: "  ", region: "GB", want: "is empty"},
		{name: "national without a default country", number: "07400123456", region: "", want: "no default country"},
		{name: "too short", number: "+44 12", region: "", want: `"+44 12" is not a valid phone number for region GB`},
		{name: "unknown country code", number: "+999 123456", region: "", want: "known country code"},
		{name: "short code", number: "88088", region: "GB", want: "short code"},
		{name: "alphanumeric", number: "MyBank", region: "GB", want: "alphanumeric"},
		{name: "USSD-like", number: "*100#", region: "GB", want: `'*' is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalise(tt.number, tt.region)
			switch {
			case tt.ok && (err != nil || got != tt.want):
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %q, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestParseValidity(t *testing.T) {
	tests := []struct {
		in   string
		want string // duration, or a part of the error
	}{
		{"24h", "24h0m0s"},
		{"90m", "1h30m0s"},
		{"7d", "168h0m0s"},
		{"1d12h", "36h0m0s"},
		{"441d", "10584h0m0s"},
		{"442d", "63 weeks"},
		{"99999999999d", "63 weeks"},
		{"1.5d", "not a duration"},
		{"0h", "positive"},
		{"-1h", "positive"},
		{"d", "not a duration"},
		{"1w", "not a duration"},
		{"", "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseValidity(tt.in)
			if err != nil && !strings.Contains(err.Error(), tt.want) || err == nil && d.String() != tt.want {
				t.Errorf("got %v, %v; want %s", d, err, tt.want)
			}
		})
	}
}

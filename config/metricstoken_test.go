package config

import (
	"bytes"
	"strings"
	"testing"
)

// TestMetricsToken: [http] metrics_token follows the API tokens' rules, is
// masked when the configuration is printed, and BRIDGED_METRICS_TOKEN (or
// a credential of that name) replaces it.
func TestMetricsToken(t *testing.T) {
	const tok = "mmmmmmmmmmmmmmmmmmmm"
	tests := []struct {
		name, doc string
		env       string // BRIDGED_METRICS_TOKEN
		want      string // the token, or the problem (FILE for the path)
		problem   bool
	}{
		{name: "unset", doc: "", want: ""},
		{name: "from the file", doc: `metrics_token = "` + tok + `"`, want: tok},
		{name: "from the environment", doc: `metrics_token = "` + tok + `"`, env: " nnnnnnnnnnnnnnnnnnnn\n", want: "nnnnnnnnnnnnnnnnnnnn"},
		{name: "too short", doc: `metrics_token = "short"`, problem: true,
			want: "FILE:2: http.metrics_token: a token of 5 characters is too short to be safe; use at least 16 (openssl rand -hex 32 makes one)"},
		{name: "with a space", doc: `metrics_token = "mmmmmmmmmm mmmmmmmmmm"`, problem: true,
			want: "FILE:2: http.metrics_token: a token must not contain spaces or control characters"},
		{name: "too short from the environment", env: "short", problem: true,
			want: "FILE: http.metrics_token: a token of 5 characters is too short to be safe; use at least 16 (openssl rand -hex 32 makes one) (set by BRIDGED_METRICS_TOKEN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvCredentials, "")
			t.Setenv(EnvMetricsToken, tt.env)
			path := writeFile(t, "[http]\n"+tt.doc+"\n\n[[modem]]\ndevice = \"sim\"\n")
			cfg, err := Load(path, testDriver)
			if tt.problem {
				if err == nil || strings.ReplaceAll(err.Error(), path, "FILE") != tt.want {
					t.Fatalf("Load: %v\nwant: %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.HTTP.MetricsToken != tt.want {
				t.Errorf("metrics token %q, want %q", cfg.HTTP.MetricsToken, tt.want)
			}
			var out bytes.Buffer
			if err := cfg.Write(&out); err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (strings.Contains(out.String(), tt.want) || !strings.Contains(out.String(), `metrics_token = "***"`)) {
				t.Errorf("the token is not masked:\n%s", out.String())
			}
		})
	}
}

package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	secretA = "aaaaaaaaaaaaaaaaaaaa-secret"
	secretB = "bbbbbbbbbbbbbbbbbbbb-secret"
)

func TestWebhookDefaultsAndMasking(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	cfg, err := parse("bridged.toml", "[[webhook]]\nurl = \"https://example.com/sms\"\nsecret = \""+secretA+"\"\n\n"+
		"[[webhook]]\nname = \"local\"\nurl = \"http://127.0.0.1:9000/hook\"\nsecrets = [\""+secretB+"\", \""+secretA+"\"]\nevents = [\"message.received\"]\n", testDriver)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultWebhook()
	want.Name, want.URL, want.Secret = "webhook1", "https://example.com/sms", secretA
	if len(cfg.Webhooks) != 2 || !reflect.DeepEqual(cfg.Webhooks[0], want) {
		t.Fatalf("webhooks %+v, want first %+v", cfg.Webhooks, want)
	}
	if w := cfg.Webhooks[0]; time.Duration(w.Timeout) != 10*time.Second || w.MaxAttempts != 12 || time.Duration(w.MaxBackoff) != time.Hour || len(w.Events) != 3 {
		t.Fatalf("defaults %+v", w)
	}
	if got := cfg.Webhooks[1].SigningSecrets(); !reflect.DeepEqual(got, []string{secretB, secretA}) {
		t.Fatalf("signing secrets %v", got)
	}
	var out bytes.Buffer
	if err := cfg.Write(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "-secret") || !strings.Contains(out.String(), "[[webhook]]\nname = \"local\"") ||
		!strings.Contains(out.String(), `secrets = ["***", "***"]`) {
		t.Fatalf("check-config:\n%s", out.String())
	}
	// What check-config prints loads back.
	if _, err := parse("printed", out.String(), testDriver); err == nil || strings.Contains(err.Error(), "-secret") {
		// "***" is too short a secret: the one problem, never the value.
		t.Fatalf("printed config: %v", err)
	}
}

func TestWebhookProblems(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	for _, c := range []struct{ doc, want string }{
		{"url = \"http://192.0.2.1/hook\"\nsecret = \"" + secretA + "\"",
			`webhook[0].url: "http://192.0.2.1/hook" is http:// to another machine: events would cross the network unencrypted; use https://, or set allow_insecure = true`},
		{"url = \"ftp://example.com/\"\nsecret = \"" + secretA + "\"", `webhook[0].url: "ftp://example.com/" is not an http:// or https:// URL`},
		{"url = \"/hook\"\nsecret = \"" + secretA + "\"", `webhook[0].url: "/hook" is not an absolute http:// or https:// URL`},
		{"url = \"https://u:p@example.com/\"\nsecret = \"" + secretA + "\"", `webhook[0].url: must not hold a user or password`},
		{"url = \"https://example.com/\"", "webhook[0].secret: is required"},
		{"url = \"https://example.com/\"\nsecret = \"short-one\"", "webhook[0].secret: a secret of 9 characters is too short to be safe; use at least 16"},
		{"url = \"https://example.com/\"\nsecret = \"" + secretA + "\"\nevents = [\"message.sent\"]", `webhook[0].events[0]: "message.sent" is not one of message.received, message.status, modem.state`},
		{"url = \"https://example.com/\"\nsecret = \"" + secretA + "\"\ntimeout = \"0s\"\nmax_attempts = 0\nmax_backoff = \"100ms\"", "webhook[0].timeout: 0s is not above 0"},
		{"url = \"https://example.com/\"\nsecret = \"" + secretA + "\"\nmax_attempts = 0", "webhook[0].max_attempts: 0 is not from 1 to 100"},
		{"url = \"https://example.com/\"\nsecret = \"" + secretA + "\"\nmax_backoff = \"100ms\"", "webhook[0].max_backoff: 100ms is not from 1s to 1d"},
		{"name = \"a b\"\nurl = \"https://example.com/\"\nsecret = \"" + secretA + "\"", `webhook[0].name: "a b" is not up to 128 letters`},
		{"url = \"https://example.com/\"\nsecret = 1234", "webhook[0].secret: want a string, got an integer (a secret: the value is not shown)"},
	} {
		_, err := parse("bridged.toml", "[[webhook]]\n"+c.doc+"\n", testDriver)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "aaaa") {
			t.Errorf("a problem shows the secret: %v", err)
		}
	}
	if _, err := parse("bridged.toml", "[[webhook]]\nurl = \"http://192.0.2.1/hook\"\nallow_insecure = true\nsecret = \""+secretA+"\"\n\n"+
		"[[webhook]]\nurl = \"http://[::1]:80/\"\nsecret = \""+secretA+"\"\n", testDriver); err != nil {
		t.Errorf("allow_insecure and a loopback http URL: %v", err)
	}
	if _, err := parse("bridged.toml", "[[webhook]]\nname = \"x\"\nurl = \"https://a.example/\"\nsecret = \""+secretA+"\"\n\n"+
		"[[webhook]]\nname = \"x\"\nurl = \"https://b.example/\"\nsecret = \""+secretA+"\"\n", testDriver); err == nil || !strings.Contains(err.Error(), `webhook[1].name: "x" is also the name of webhook[0]`) {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestWebhookSecretFromEnv(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	t.Setenv("BRIDGED_WEBHOOK_SECRET_MY_APP", secretB+", "+secretA)
	if got := WebhookSecretEnv("my-app"); got != "BRIDGED_WEBHOOK_SECRET_MY_APP" {
		t.Fatalf("variable %s", got)
	}
	cfg, err := parse("bridged.toml", "[[webhook]]\nname = \"my-app\"\nurl = \"https://example.com/\"\nsecret = \"short\"\n", testDriver)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Webhooks[0].SigningSecrets(); !reflect.DeepEqual(got, []string{secretB, secretA}) {
		t.Fatalf("secrets %v", got)
	}
	var out bytes.Buffer
	cfg.Write(&out)
	if !strings.Contains(out.String(), "# overridden by BRIDGED_WEBHOOK_SECRET_MY_APP") || strings.Contains(out.String(), "-secret") {
		t.Fatalf("check-config:\n%s", out.String())
	}
	t.Setenv("BRIDGED_WEBHOOK_SECRET_MY_APP", "tiny")
	if _, err := parse("bridged.toml", "[[webhook]]\nname = \"my-app\"\nurl = \"https://example.com/\"\nsecret = \""+secretA+"\"\n", testDriver); err == nil ||
		!strings.Contains(err.Error(), "too short to be safe; use at least 16 (set by BRIDGED_WEBHOOK_SECRET_MY_APP)") || strings.Contains(err.Error(), "tiny") {
		t.Fatalf("short secret from the environment: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/sms":                      "https://example.com/sms",
		"https://example.com/sms?token=abc":            "https://example.com/sms?token=***",
		"https://example.com/sms?token=abc&v=2":        "https://example.com/sms?token=***&v=***",
		"https://example.com/sms?abc":                  "https://example.com/sms?abc=***",
		"https://example.com/sms?":                     "https://example.com/sms?",
		"https://example.com/sms?a=1#frag":             "https://example.com/sms?a=***#***",
		"https://example.com/sms?token=%zz":            "https://example.com/sms?token=***",
		"https://exa mple.com/sms?token=abc":           "https://exa mple.com/sms?***",
		"http://127.0.0.1:9000/hook?key=s3cr3t&key=x2": "http://127.0.0.1:9000/hook?key=***&key=***",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

package config

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook event types, the values [[webhook]] events may list.
var WebhookEvents = []string{"message.received", "message.status", "modem.state"}

// Defaults and bounds of the [[webhook]] keys.
const (
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookMaxAttempts = 12
	DefaultWebhookMaxBackoff  = time.Hour
	MaxWebhookTimeout         = 5 * time.Minute
	MaxWebhookAttempts        = 100
	MaxWebhookBackoff         = 24 * time.Hour
	// MinSecretLength is a webhook secret's shortest: a receiver trusts
	// what it signs.
	MinSecretLength = 16
	// EnvWebhookSecretPrefix, followed by a webhook's name as PINEnv
	// spells an id, holds its secrets, separated by commas (new first):
	// they replace the file's.
	EnvWebhookSecretPrefix = "BRIDGED_WEBHOOK_SECRET_"
)

// Webhook is one [[webhook]] table: an endpoint told of every event its
// filter takes.
type Webhook struct {
	// Name is the endpoint's name in the outbox and the API; default
	// "webhookN" for the Nth, from 1. Renaming one leaves what is queued
	// under the old name undelivered.
	Name string `toml:"name"`
	// URL is https://, or http:// to a loopback address, unless
	// AllowInsecure.
	URL           string `toml:"url" bridged:"url"`
	AllowInsecure bool   `toml:"allow_insecure"`
	// Secret signs each request; Secrets, given while one is rotated
	// (new first), sign it too, one signature each.
	Secret  string   `toml:"secret" bridged:"secret"`
	Secrets []string `toml:"secrets" bridged:"secret"`
	// Events are the types sent; default all of WebhookEvents.
	Events      []string `toml:"events"`
	Timeout     Duration `toml:"timeout"`
	MaxAttempts int      `toml:"max_attempts"`
	MaxBackoff  Duration `toml:"max_backoff"`
}

// DefaultWebhook returns what each [[webhook]] starts from.
func DefaultWebhook() Webhook {
	return Webhook{
		Secrets: []string{}, Events: slices.Clone(WebhookEvents),
		Timeout: Duration(DefaultWebhookTimeout), MaxAttempts: DefaultWebhookMaxAttempts,
		MaxBackoff: Duration(DefaultWebhookMaxBackoff),
	}
}

// SigningSecrets returns the secrets that sign each request, in order:
// Secret, then Secrets, each once.
func (w Webhook) SigningSecrets() []string {
	var out []string
	for _, s := range append([]string{w.Secret}, w.Secrets...) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// WebhookSecretEnv returns the variable that holds the secrets of the
// webhook with this name (webhook "app-1" reads BRIDGED_WEBHOOK_SECRET_APP_1).
func WebhookSecretEnv(name string) string {
	return EnvWebhookSecretPrefix + strings.TrimPrefix(PINEnv(name), EnvPINPrefix)
}

// nameWebhooks gives each webhook without a name its default.
func (c *Config) nameWebhooks() {
	for i := range c.Webhooks {
		if c.Webhooks[i].Name == "" {
			c.Webhooks[i].Name = "webhook" + strconv.Itoa(i+1)
		}
	}
}

// applyWebhookEnv replaces each webhook's secrets with those lookup finds
// for it (see applyEnv).
func (c *Config) applyWebhookEnv(lookup func(name string) (val, from string)) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		v, from := lookup(WebhookSecretEnv(w.Name))
		if from == "" {
			continue
		}
		var secrets []string
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			if s = strings.TrimSpace(s); s != "" {
				secrets = append(secrets, s)
			}
		}
		w.Secret, w.Secrets = "", secrets
		key := "webhook[" + strconv.Itoa(i) + "]"
		c.origin[key+".secret"], c.origin[key+".secrets"] = from, from
		c.overrides = append(c.overrides, from)
	}
}

func (c *Config) validateWebhooks(ps *problems) {
	names := map[string]int{}
	for i, w := range c.Webhooks {
		key := "webhook[" + strconv.Itoa(i) + "]"
		if j, ok := names[w.Name]; ok {
			ps.add(key+".name", "%q is also the name of webhook[%d]; names must be unique", w.Name, j)
		}
		names[w.Name] = i
		if w.Name == "" || len(w.Name) > maxIDLength || strings.Trim(strings.ToLower(w.Name), "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
			ps.add(key+".name", "%q is not up to %d letters, digits, '-', '_' or '.'", w.Name, maxIDLength)
		}
		w.validateURL(ps, key+".url")
		secrets := w.SigningSecrets()
		if len(secrets) == 0 {
			ps.add(key+".secret", "is required: the receiver checks each request's signature with it (openssl rand -hex 32 makes one)")
		}
		for _, s := range secrets {
			if len(s) < MinSecretLength {
				// The secret itself is never printed.
				ps.add(key+".secret", "a secret of %d characters is too short to be safe; use at least %d", len(s), MinSecretLength)
			}
		}
		if len(w.Events) == 0 {
			ps.add(key+".events", "lists no event: remove the [[webhook]] or name at least one of %s", strings.Join(WebhookEvents, ", "))
		}
		for j, e := range w.Events {
			if !slices.Contains(WebhookEvents, e) {
				ps.add(key+".events["+strconv.Itoa(j)+"]", "%q is not one of %s", e, strings.Join(WebhookEvents, ", "))
			}
		}
		if w.Timeout <= 0 || time.Duration(w.Timeout) > MaxWebhookTimeout {
			ps.add(key+".timeout", "%s is not above 0 and at most %s", w.Timeout, Duration(MaxWebhookTimeout))
		}
		if w.MaxAttempts < 1 || w.MaxAttempts > MaxWebhookAttempts {
			ps.add(key+".max_attempts", "%d is not from 1 to %d", w.MaxAttempts, MaxWebhookAttempts)
		}
		if time.Duration(w.MaxBackoff) < time.Second || time.Duration(w.MaxBackoff) > MaxWebhookBackoff {
			ps.add(key+".max_backoff", "%s is not from 1s to %s", w.MaxBackoff, Duration(MaxWebhookBackoff))
		}
	}
}

// validateURL keeps signed events off the open network in the clear: http
// only to this machine unless allow_insecure says otherwise.
func (w Webhook) validateURL(ps *problems, key string) {
	u, err := url.Parse(w.URL)
	shown := RedactURL(w.URL)
	switch {
	case w.URL == "":
		ps.add(key, `is required, e.g. "https://example.com/sms"`)
	case err != nil || u.Host == "" || u.Hostname() == "":
		ps.add(key, "%q is not an absolute http:// or https:// URL", shown)
	case u.User != nil:
		// check-config prints the URL: a password in it would be shown.
		ps.add(key, "must not hold a user or password: the signature authenticates bridged")
	case u.Scheme == "https":
	case u.Scheme == "http" && (loopback(u.Hostname()) || w.AllowInsecure):
	case u.Scheme == "http":
		ps.add(key, "%q is http:// to another machine: events would cross the network unencrypted; use https://, or set allow_insecure = true", shown)
	default:
		ps.add(key, "%q is not an http:// or https:// URL", shown)
	}
}

// RedactURL is a webhook URL as check-config and problems show it: the
// value of every query parameter is Mask, since receivers that take a
// credential in the URL take it there (?token=...). The path is shown:
// it is what tells one endpoint from another. A URL that does not parse
// is shown up to its query.
func RedactURL(s string) string {
	base, query, found := strings.Cut(s, "?")
	if !found {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return base + "?" + Mask
	}
	fragment := ""
	if u.Fragment != "" {
		fragment = "#" + Mask
	}
	query, _, _ = strings.Cut(query, "#")
	var parts []string
	for _, kv := range strings.Split(query, "&") {
		k, _, hasValue := strings.Cut(kv, "=")
		if hasValue || k != "" {
			parts = append(parts, k+"="+Mask)
		}
	}
	return base + "?" + strings.Join(parts, "&") + fragment
}

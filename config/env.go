package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Secrets can come from outside the file, so that the file can be world
// readable and systemd can hand them over (LoadCredential=, or
// Environment= in a drop-in only root reads). Each is looked up first as
// an environment variable, then as a file of that name in
// $CREDENTIALS_DIRECTORY (systemd's LoadCredential=NAME:PATH), and
// replaces what the file says.
const (
	// EnvTokens holds API tokens separated by commas (in a credential
	// file also by newlines); they replace [http] tokens.
	EnvTokens = "BRIDGED_TOKENS"
	// EnvMetricsToken holds the token for GET /metrics; it replaces
	// [http] metrics_token.
	EnvMetricsToken = "BRIDGED_METRICS_TOKEN"
	// EnvPINPrefix, followed by a modem's id as PINEnv spells it, holds
	// that modem's SIM PIN.
	EnvPINPrefix = "BRIDGED_PIN_"
	// EnvCredentials is where systemd puts a service's credentials.
	EnvCredentials = "CREDENTIALS_DIRECTORY"
)

// PINEnv returns the variable that holds the PIN of the modem with this id:
// BRIDGED_PIN_ and the id upper-cased with every character other than a
// letter or digit replaced by "_" (modem "sim-0" reads BRIDGED_PIN_SIM_0).
func PINEnv(id string) string {
	b := []byte(strings.ToUpper(id))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return EnvPINPrefix + string(b)
}

// applyEnv replaces secrets with those the environment or the credentials
// directory holds, and records where each came from. An empty variable
// overrides nothing; one that holds only separators is a problem, since it
// would leave the API without tokens. A PIN variable that names no modem is a problem,
// because the modem it was meant for would otherwise start without its PIN.
func (c *Config) applyEnv() problems {
	var ps problems
	credDir := os.Getenv(EnvCredentials)
	lookup := func(name string) (val, from string) {
		if v := os.Getenv(name); strings.TrimSpace(v) != "" {
			return v, name
		}
		if credDir == "" {
			return "", ""
		}
		b, err := os.ReadFile(filepath.Join(credDir, name))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				ps.add("", "read credential %s: %v", name, err)
			}
			return "", ""
		}
		if strings.TrimSpace(string(b)) == "" {
			return "", ""
		}
		return string(b), "credential " + name
	}
	c.origin = map[string]string{}

	if v, from := lookup(EnvTokens); from != "" {
		tokens := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
		for i := range tokens {
			tokens[i] = strings.TrimSpace(tokens[i])
		}
		tokens = slices.DeleteFunc(tokens, func(t string) bool { return t == "" })
		if len(tokens) == 0 {
			// Only separators (","): whoever set it meant to give tokens,
			// and an empty list would open the API instead of protecting
			// it. The file's tokens stay, so that this is the one problem.
			ps.add("", "%s holds no token, only separators: it would replace [http] tokens with none and leave the API open; give at least one token, or unset it to keep the file's", from)
		} else {
			c.HTTP.Tokens = tokens
			c.origin["http.tokens"] = from
			c.overrides = append(c.overrides, from)
		}
	}

	if v, from := lookup(EnvMetricsToken); from != "" {
		c.HTTP.MetricsToken = strings.TrimSpace(v)
		c.origin["http.metrics_token"] = from
		c.overrides = append(c.overrides, from)
	}
	c.applyWebhookEnv(lookup)

	owners := map[string][]int{}
	for i, m := range c.Modems {
		owners[PINEnv(m.ID)] = append(owners[PINEnv(m.ID)], i)
	}
	for i := range c.Modems {
		m := &c.Modems[i]
		name := PINEnv(m.ID)
		v, from := lookup(name)
		if from == "" {
			continue
		}
		key := "modem[" + strconv.Itoa(i) + "].pin"
		if o := owners[name]; len(o) > 1 {
			ps.add(key, "%s is ambiguous: modems %q and %q both read it; give them ids that differ in letters or digits", name, c.Modems[o[0]].ID, c.Modems[o[1]].ID)
			continue
		}
		m.PIN = strings.TrimSpace(v)
		c.origin[key] = from
		c.overrides = append(c.overrides, from)
	}

	// A PIN for no modem is most likely a typo in a name or an id.
	names := envNames()
	if credDir != "" {
		if entries, err := os.ReadDir(credDir); err == nil {
			for _, e := range entries {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		if strings.HasPrefix(name, EnvPINPrefix) && owners[name] == nil {
			ids := make([]string, len(c.Modems))
			for i, m := range c.Modems {
				ids[i] = PINEnv(m.ID)
			}
			ps.add("", "%s is set but no modem reads it (the PIN variables are %s)", name, strings.Join(ids, ", "))
		}
	}
	return ps
}

func envNames() []string {
	var names []string
	for _, kv := range os.Environ() {
		if name, _, ok := strings.Cut(kv, "="); ok {
			names = append(names, name)
		}
	}
	return names
}

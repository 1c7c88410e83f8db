package config

import (
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"bridged/pdu"
	"bridged/phone"
)

// Limits that Validate enforces.
const (
	// MinTokenLength keeps tokens out of reach of guessing over a LAN:
	// the API does not rate-limit failed attempts.
	MinTokenLength = 16
	MinBodyBytes   = 1 << 10
	MaxBodyBytes   = 64 << 20
	// Upper bounds of [http] max_connections and max_recipients: each
	// connection costs a goroutine and buffers, each recipient a row in one
	// transaction and in the answer.
	MaxMaxConnections = 4096
	MaxMaxRecipients  = 1000
	// MaxValidity is the longest validity an SMS can carry (TS 23.040
	// 9.2.3.12.1, relative format).
	MaxValidity = 63 * week
	maxIDLength = 128
)

// Validate checks every value and returns a *ValidationError listing all
// problems, each with its key and value, or nil. It does not look at the
// system: a device that is not plugged in yet is valid (the driver waits
// for it), and so is a database path whose directory does not exist (the
// store reports that when it opens).
func (c *Config) Validate() error {
	var ps problems
	c.HTTP.validate(&ps)
	if c.Store.Path == "" {
		ps.add("store.path", "must not be empty")
	}
	if r := time.Duration(c.Store.Retention); r != 0 && r < MinRetention {
		ps.add("store.retention", "%s is too short: use 0 (keep forever) or at least %s, as delivery reports come up to 3 days after a send", c.Store.Retention, Duration(MinRetention))
	}
	if len(c.Modems) == 0 {
		ps.add("modem", `no [[modem]]: add one with device = "/dev/serial/by-id/..." or device = "sim"`)
	}
	ids := map[string]int{}
	devices := map[string]int{}
	numbers := map[string]int{}
	for i, m := range c.Modems {
		key := "modem[" + strconv.Itoa(i) + "]"
		m.validate(&ps, key, c.quirks)
		if j, ok := ids[m.ID]; ok && m.ID != "" {
			ps.add(key+".id", "%q is also the id of modem[%d]; ids must be unique", m.ID, j)
		} else {
			ids[m.ID] = i
		}
		if j, ok := devices[m.Device]; ok && !m.IsSim() && m.Device != "" {
			ps.add(key+".device", "%q is also the device of modem[%d] (%s): one port cannot serve two modems", m.Device, j, c.Modems[j].ID)
		} else {
			devices[m.Device] = i
		}
		if m.IsSim() && m.SimNumber != "" {
			if j, ok := numbers[m.SimNumber]; ok {
				ps.add(key+".sim_number", "%q is also the number of modem[%d]", m.SimNumber, j)
			} else {
				numbers[m.SimNumber] = i
			}
		}
	}
	c.SMS.validate(&ps)
	c.Log.validate(&ps)
	c.validateWebhooks(&ps)
	return ps.err()
}

// checkToken adds a problem with token t at key, if it has one, and says
// whether it did. The token itself is a secret: never print it.
func checkToken(ps *problems, key, t string) bool {
	switch {
	case len(t) < MinTokenLength:
		ps.add(key, "a token of %d characters is too short to be safe; use at least %d (openssl rand -hex 32 makes one)", len(t), MinTokenLength)
	case strings.IndexFunc(t, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		ps.add(key, "a token must not contain spaces or control characters")
	default:
		return false
	}
	return true
}

func (h HTTP) validate(ps *problems) {
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		ps.add("http.listen", "%q is not host:port (e.g. \"127.0.0.1:8080\")", h.Listen)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ps.add("http.listen", "%q: port %q is not a number from 0 to 65535", h.Listen, port)
	} else if len(h.Tokens) == 0 && !loopback(host) {
		ps.add("http.listen", "refusing to listen on %s without tokens: set [http] tokens or listen on 127.0.0.1", h.Listen)
	}
	seen := map[string]bool{}
	for i, t := range h.Tokens {
		key := "http.tokens[" + strconv.Itoa(i) + "]"
		switch {
		case checkToken(ps, key, t):
		case seen[t]:
			ps.add(key, "the same token is listed twice")
		}
		seen[t] = true
	}
	if h.MetricsToken != "" {
		checkToken(ps, "http.metrics_token", h.MetricsToken)
	}
	positive(ps, "http", []string{"read_timeout", "write_timeout", "idle_timeout", "shutdown_timeout"},
		h.ReadTimeout, h.WriteTimeout, h.IdleTimeout, h.ShutdownTimeout)
	if h.MaxBodyBytes < MinBodyBytes || h.MaxBodyBytes > MaxBodyBytes {
		ps.add("http.max_body_bytes", "%d is not from %d to %d", h.MaxBodyBytes, MinBodyBytes, MaxBodyBytes)
	}

	positive(ps, "http", []string{"read_header_timeout"}, h.ReadHeaderTimeout)
	if h.MaxConnections < 1 || h.MaxConnections > MaxMaxConnections {
		ps.add("http.max_connections", "%d is not from 1 to %d", h.MaxConnections, MaxMaxConnections)
	}
	if h.MaxRecipients < 1 || h.MaxRecipients > MaxMaxRecipients {
		ps.add("http.max_recipients", "%d is not from 1 to %d", h.MaxRecipients, MaxMaxRecipients)
	}
	hosts := map[string]bool{}
	for i, host := range h.AllowedHosts {
		key := "http.allowed_hosts[" + strconv.Itoa(i) + "]"
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		switch {
		case !hostName(name):
			ps.add(key, "%q is not a host name or IP address without a port, e.g. \"bridged.lan\" or \"192.168.1.20\"", host)
		case hosts[name]:
			ps.add(key, "%q is listed twice", host)
		}
		hosts[name] = true
	}
}

// hostName reports whether s is an IP address (IPv6 with or without
// brackets) or a DNS name: what a Host header gives before its port.
func hostName(s string) bool {
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return true
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

// loopback reports whether host reaches only this machine. An empty host
// is every interface; a name other than localhost may resolve to anything.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (m Modem) validate(ps *problems, key string, quirks []string) {
	switch {
	case m.ID == "" && m.Device != "": // without a device, that is the problem
		ps.add(key+".id", "must not be empty (Load names a modem after its device)")
	case len(m.ID) > maxIDLength:
		ps.add(key+".id", "%q is longer than %d characters", m.ID, maxIDLength)
	case strings.IndexFunc(m.ID, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		ps.add(key+".id", "%q must not contain spaces or control characters", m.ID)
	}
	switch {
	case m.Device == "":
		ps.add(key+".device", `is required: the serial port ("/dev/serial/by-id/...") or "sim" for a simulated modem`)
	case m.Device == PlaceholderDevice:
		ps.add(key+".device", "%q is the placeholder of the packaged configuration: replace it with your modem's /dev/serial/by-id/... name (`bridged modems` lists the ports) or \"sim\"", m.Device)
	case !m.IsSim() && !filepath.IsAbs(m.Device):
		hint := `use the full path, e.g. "/dev/serial/by-id/..."`
		if strings.EqualFold(m.Device, SimDevice) {
			hint = `did you mean "sim"?`
		}
		ps.add(key+".device", "%q is not an absolute path: %s", m.Device, hint)
	}
	if m.Baud <= 0 {
		ps.add(key+".baud", "%d must be positive", m.Baud)
	}
	// The PIN and SMSC go into AT commands between quotes: digits only
	// also keeps a stray quote from ending the command early.
	if m.PIN != "" && (len(m.PIN) < 4 || len(m.PIN) > 8 || !digits(m.PIN)) {
		ps.add(key+".pin", "a SIM PIN is 4 to 8 digits (the value is not shown)")
	}
	if m.SMSC != "" && !number(m.SMSC) {
		ps.add(key+".smsc", "%q is not a phone number: + and up to 20 digits, e.g. \"+447785016005\"", m.SMSC)
	}
	seen := map[string]bool{}
	for i, r := range m.Routes {
		rk := key + ".routes[" + strconv.Itoa(i) + "]"
		switch {
		case !strings.HasPrefix(r, "+") || len(r) < 2 || len(r) > 16 || !digits(r[1:]):
			ps.add(rk, "%q is not a number prefix: + and 1 to 15 digits, e.g. \"+44\"", r)
		case seen[r]:
			ps.add(rk, "%q is listed twice", r)
		}
		seen[r] = true
	}
	if m.RatePerMinute < 0 {
		ps.add(key+".rate_per_minute", "%d must be 0 (no limit) or more", m.RatePerMinute)
	}
	if !slices.Contains(quirks, m.Quirks) {
		ps.add(key+".quirks", "%q is not one of %s", m.Quirks, strings.Join(quirks, ", "))
	}
	if !slices.Contains([]string{"SM", "ME", "MT"}, m.Storage) {
		ps.add(key+".storage", "%q is not SM (the SIM), ME (the modem) or MT (both)", m.Storage)
	}
	if m.CNMI != "" && !cnmi(m.CNMI) {
		ps.add(key+".cnmi", "%q is not AT+CNMI parameters: up to 5 numbers separated by commas, e.g. \"2,1,0,1,0\"", m.CNMI)
	}
	positive(ps, key, []string{"command_timeout", "send_timeout", "health_interval", "sweep_interval", "registration_timeout"},
		m.CommandTimeout, m.SendTimeout, m.HealthInterval, m.SweepInterval, m.RegistrationTimeout)
	if m.IsSim() {
		if m.SimNumber != "" && !number(m.SimNumber) {
			ps.add(key+".sim_number", "%q is not a phone number: + and digits, e.g. \"+12015550101\"", m.SimNumber)
		}
		if m.SimLatency < 0 {
			ps.add(key+".sim_latency", "%s must not be negative", m.SimLatency)
		}
	}
}

func (s SMS) validate(ps *problems) {
	if s.DefaultCountry != "" && !phone.IsRegion(s.DefaultCountry) {
		hint := ` (ISO 3166 two letters, e.g. "GB")`
		up := strings.ToUpper(s.DefaultCountry)
		if up == "UK" { // the United Kingdom's ISO code is GB; UK is only reserved
			up = "GB"
		}
		if phone.IsRegion(up) {
			hint = ": did you mean \"" + up + "\"?"
		}
		ps.add("sms.default_country", "%q is not a country code%s", s.DefaultCountry, hint)
	}
	if s.MaxParts < 1 || s.MaxParts > 255 {
		ps.add("sms.max_parts", "%d is not from 1 to 255", s.MaxParts)
	}
	if s.DefaultValidity < 0 || time.Duration(s.DefaultValidity) > MaxValidity {
		ps.add("sms.default_validity", "%s is not from 0 (none) to 63w, the longest an SMS can carry", s.DefaultValidity)
	}
	if s.InterruptedSend != InterruptedRetry && s.InterruptedSend != InterruptedFail {
		ps.add("sms.interrupted_send", "%q is not %q or %q", s.InterruptedSend, InterruptedRetry, InterruptedFail)
	}
	if _, err := pdu.ParseLanguage(s.Language); err != nil {
		ps.add("sms.language", "%v", err)
	}
}

func (l Log) validate(ps *problems) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, l.Level) {
		ps.add("log.level", "%q is not debug, info, warn or error", l.Level)
	}
	if !slices.Contains([]string{FormatAuto, FormatText, FormatJSON}, l.Format) {
		ps.add("log.format", "%q is not auto, text or json", l.Format)
	}
}

// positive adds a problem for each duration that is not above zero, named
// by the key of table at the same position.
func positive(ps *problems, table string, keys []string, ds ...Duration) {
	for i, d := range ds {
		if d <= 0 {
			ps.add(table+"."+keys[i], "%s must be positive", d)
		}
	}
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// number reports whether s is a phone number as an AT command takes it.
func number(s string) bool {
	n := strings.TrimPrefix(s, "+")
	return len(n) >= 3 && len(n) <= 20 && digits(n)
}

func cnmi(s string) bool {
	parts := strings.Split(s, ",")
	if len(parts) > 5 || !digits(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if p != "" && !digits(p) {
			return false
		}
	}
	return true
}

// Package config reads bridged's TOML configuration strictly and says
// exactly what is wrong with it, where.
//
// The TOML library parses the file and converts each value; config decodes
// key by key (decode.go) so that every problem is reported at once, with
// its key path and line (lines.go), then validates (validate.go), applies
// secrets from the environment (env.go), and prints the effective
// configuration for check-config (write.go). The defaults of the keys the
// modem driver owns come from cmd/bridged as a Driver, so that config
// imports neither modem nor its simulator.
package config

import (
	"io"
	"log/slog"
	"time"
)

// SimDevice is the device of a simulated modem, which the daemon creates on
// a pseudo-terminal of its own instead of opening a serial port.
const SimDevice = "sim"

// PlaceholderDevice is the device of the modem in the configuration the
// .deb installs (/etc/bridged/bridged.toml): a path no modem has, which
// Validate refuses with what to put there, so that the packaged service
// says what to edit instead of waiting for a port that never appears.
const PlaceholderDevice = "/dev/serial/by-id/CHANGE-ME"

// Defaults of the keys that have one; the modem driver's own come from
// Driver.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
	DefaultMaxBodyBytes    = 1 << 20
	DefaultStorePath       = "./bridged.db"
	DefaultSimLatency      = time.Second
	DefaultMaxParts        = 10
	DefaultInterruptedSend = InterruptedRetry
	DefaultLogLevel        = "info"
	DefaultLogFormat       = FormatAuto
)

// Defaults of the [http] limits that keep one client from exhausting the
// daemon.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultMaxConnections    = 64
	DefaultMaxRecipients     = 100
)

// What to do at start-up with a part that was in flight (AT+CMGS written,
// no answer recorded) when bridged stopped.
const (
	// InterruptedRetry sends it again: the recipient may get it twice.
	InterruptedRetry = "retry"
	// InterruptedFail fails the message: the recipient may get nothing.
	InterruptedFail = "fail"
)

// Config is the whole configuration. The toml tags are the file's keys; a
// field tagged bridged:"secret" is masked by Write, one tagged bridged:"sim"
// applies only to simulated modems.
type Config struct {
	HTTP   HTTP    `toml:"http"`
	Store  Store   `toml:"store"`
	Modems []Modem `toml:"modem"`
	SMS    SMS     `toml:"sms"`
	Log    Log     `toml:"log"`
	// Webhooks are the [[webhook]] endpoints (webhook.go).
	Webhooks []Webhook `toml:"webhook"`

	// source and overrides are what Write reports as the origin of the
	// values: the file (empty for the built-in default) and the
	// environment variables or credentials that replaced secrets.
	source    string
	overrides []string
	// origin maps a key an override replaced ("http.tokens") to where
	// its value came from, so that a problem with it is not blamed on
	// the file.
	origin map[string]string
	// quirks are the driver's profiles (Driver.Quirks), which Validate
	// accepts.
	quirks []string
}

// Driver is what config needs from the modem driver and the simulator,
// which own it: the defaults of the [[modem]] keys the driver fills in
// when they are zero (config spells them out, so that check-config shows
// the values the daemon runs with), the quirk profiles the driver knows,
// and the number the simulator gives a modem. cmd/bridged fills it in
// from packages modem and modemsim, which config does not import.
type Driver struct {
	Baud    int
	Storage string
	// The timeouts and intervals, named as in modem.Config.
	CommandTimeout, SendTimeout, HealthInterval, SweepInterval, RegistrationTimeout time.Duration
	// Quirks are the profiles [[modem]] quirks may name, the one an
	// empty name means first.
	Quirks []string
	// SimNumber is the number of the nth simulated modem (from 0) when
	// it has no sim_number.
	SimNumber func(n int) string
}

// HTTP is the [http] table: the API listener.
type HTTP struct {
	// Listen is host:port; a host other than a loopback address requires
	// Tokens, so that the API is never open to a network by accident.
	Listen string `toml:"listen"`
	// Tokens are the accepted bearer tokens; empty means no authentication.
	Tokens          []string `toml:"tokens" bridged:"secret"`
	ReadTimeout     Duration `toml:"read_timeout"`
	WriteTimeout    Duration `toml:"write_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	MaxBodyBytes    int64    `toml:"max_body_bytes"`

	// ReadHeaderTimeout bounds the request line and headers, so that a
	// client sending them slowly does not hold a connection for long.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// MaxConnections bounds the connections served at once; more wait in
	// the kernel's listen queue until one closes.
	MaxConnections int `toml:"max_connections"`
	// MaxRecipients bounds the recipients of one POST /v1/messages.
	MaxRecipients int `toml:"max_recipients"`
	// AllowedHosts are names besides loopback ones that a request's Host
	// may give; see httpapi.Options.AllowedHosts.
	AllowedHosts []string `toml:"allowed_hosts"`
	// MetricsToken is a bearer token accepted for GET /metrics only,
	// besides Tokens, so that a scraper need not hold an API token.
	MetricsToken string `toml:"metrics_token" bridged:"secret"`
}

// Store is the [store] table.
type Store struct {
	// Path is the SQLite database file.
	Path string `toml:"path"`
	// Retention is how long final messages, their events, finished
	// webhook deliveries and received raw parts deleted from the modem
	// are kept; 0 keeps them forever.
	Retention Duration `toml:"retention"`
}

// DefaultRetention is [store] retention's default; MinRetention the
// shortest accepted other than 0: a sent message can still get its
// delivery report for 72 h (queue.DefaultReportWindow).
const (
	DefaultRetention = 30 * day
	MinRetention     = 3 * day
)

// Modem is one [[modem]] table. Its keys are documented in the README's
// "Modem settings" table; cmd/bridged turns it into the driver's Config.
type Modem struct {
	ID     string `toml:"id"`
	Device string `toml:"device"`
	Baud   int    `toml:"baud"`
	PIN    string `toml:"pin" bridged:"secret"`
	SMSC   string `toml:"smsc"`
	// Routes are number prefixes ("+44") this modem is preferred for.
	Routes []string `toml:"routes"`
	// RatePerMinute caps the SMS parts sent per minute; 0 is no limit.
	RatePerMinute       int      `toml:"rate_per_minute"`
	Quirks              string   `toml:"quirks"`
	Storage             string   `toml:"storage"`
	Direct              bool     `toml:"direct"`
	CNMI                string   `toml:"cnmi"`
	CommandTimeout      Duration `toml:"command_timeout"`
	SendTimeout         Duration `toml:"send_timeout"`
	HealthInterval      Duration `toml:"health_interval"`
	SweepInterval       Duration `toml:"sweep_interval"`
	RegistrationTimeout Duration `toml:"registration_timeout"`
	// SimNumber is a simulated modem's own number on the virtual network.
	SimNumber string `toml:"sim_number" bridged:"sim"`
	// SimLatency is how long the virtual network takes to accept a send.
	SimLatency Duration `toml:"sim_latency" bridged:"sim"`
}

// SMS is the [sms] table: defaults for messages the API accepts.
type SMS struct {
	// DefaultCountry (ISO 3166 alpha-2, "GB") reads numbers without a
	// leading +; empty means such numbers are refused.
	DefaultCountry  string `toml:"default_country"`
	MaxParts        int    `toml:"max_parts"`
	DeliveryReports bool   `toml:"delivery_reports"`
	// DefaultValidity is how long the network keeps trying to deliver;
	// 0 leaves it to the network.
	DefaultValidity Duration `toml:"default_validity"`
	// InterruptedSend is InterruptedRetry or InterruptedFail.
	InterruptedSend string `toml:"interrupted_send"`
	// Language names the national language table (pdu.ParseLanguage)
	// texts may use; empty means none.
	Language string `toml:"language"`
}

// Log is the [log] table.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Default returns the built-in configuration, with the driver's defaults:
// the API on 127.0.0.1:8080 without tokens, ./bridged.db, and one
// simulated modem "sim0", so that bridged runs (and a first curl works)
// before any file is written.
func Default(d Driver) *Config {
	m := DefaultModem(d)
	m.ID = "sim0"
	m.Device = SimDevice
	m.SimNumber = d.SimNumber(0)
	return &Config{
		HTTP: HTTP{
			Listen:          DefaultListen,
			Tokens:          []string{},
			ReadTimeout:     Duration(DefaultReadTimeout),
			WriteTimeout:    Duration(DefaultWriteTimeout),
			IdleTimeout:     Duration(DefaultIdleTimeout),
			ShutdownTimeout: Duration(DefaultShutdownTimeout),
			MaxBodyBytes:    DefaultMaxBodyBytes,

			ReadHeaderTimeout: Duration(DefaultReadHeaderTimeout),
			MaxConnections:    DefaultMaxConnections,
			MaxRecipients:     DefaultMaxRecipients,
			AllowedHosts:      []string{},
		},
		Store:  Store{Path: DefaultStorePath, Retention: Duration(DefaultRetention)},
		Modems: []Modem{m},
		SMS: SMS{
			MaxParts:        DefaultMaxParts,
			DeliveryReports: true,
			InterruptedSend: DefaultInterruptedSend,
		},
		Log:      Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Webhooks: []Webhook{},
		quirks:   d.Quirks,
	}
}

// DefaultModem returns what every [[modem]] table starts from: the driver's
// defaults, spelled out so that check-config shows them. ID and Device are
// empty.
func DefaultModem(d Driver) Modem {
	quirks := ""
	if len(d.Quirks) > 0 {
		quirks = d.Quirks[0]
	}
	return Modem{
		Baud:                d.Baud,
		Routes:              []string{},
		Quirks:              quirks,
		Storage:             d.Storage,
		CommandTimeout:      Duration(d.CommandTimeout),
		SendTimeout:         Duration(d.SendTimeout),
		HealthInterval:      Duration(d.HealthInterval),
		SweepInterval:       Duration(d.SweepInterval),
		RegistrationTimeout: Duration(d.RegistrationTimeout),
		SimLatency:          Duration(DefaultSimLatency),
	}
}

// IsSim reports whether the modem is simulated.
func (m Modem) IsSim() bool { return m.Device == SimDevice }

// Source returns the file the configuration was loaded from, or "" for
// the built-in default.
func (c *Config) Source() string { return c.source }

// Logger returns a logger writing to w at the configured level and format
// (FormatAuto: JSON when w is systemd's journal, text otherwise). It
// assumes a validated Log; anything else logs text at Info.
func (l Log) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.resolvedFormat(w) == FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// SlogLevel returns the configured level; Info for an unknown one.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

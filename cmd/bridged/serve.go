package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"bridged/config"
	"bridged/dispatch"
	"bridged/httpapi"
	"bridged/internal/ready"
	"bridged/modem"
	"bridged/modem/modemsim"
	"bridged/pdu"
	"bridged/queue"
	"bridged/webhook"
)

// serveCommand is "bridged serve": the daemon.
type serveCommand struct {
	stdout, stderr io.Writer
}

func (c *serveCommand) Usage() string {
	return `Usage:
  bridged serve [-config FILE] [-ready-file PATH]

Runs the gateway: the HTTP API, the queue and one driver per modem. Without
-config it runs the built-in default: the API on 127.0.0.1:8080 without
tokens, the queue in ./bridged.db, and one simulated modem (nothing reaches a
real network). Stop it with SIGINT or SIGTERM: it stops taking work, lets a
send in flight finish, closes the queue and exits 0.

Flags:
  -config FILE          the TOML configuration (see config.example.toml)
` + readyFileUsage + `
                        ({"pid", "listen"}: the API's host:port)
`
}

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "")
	readyFile := fs.String("ready-file", "", "")
	rest, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("serve: unexpected argument %q", rest[0])
	}
	cfg, err := loadServeConfig(*path)
	if err != nil {
		return err
	}
	log := cfg.Log.Logger(c.stderr)
	if os.Getenv("GOGC") == "" {
		// A Pi has little memory to spare: collecting at half the default
		// heap growth kept the peak under load at 28.7 MB instead of
		// 30.8 MB, for 5,421 instead of 5,755 durable posts a second
		// (bench/load, 2 cores). GOGC in the environment overrides it.
		debug.SetGCPercent(50)
	}
	if *path == "" {
		log.Warn("no -config given: running the built-in default with a simulated modem; nothing reaches a real network")
	}
	return serve(ctx, cfg, log, *readyFile)
}

// loadServeConfig reads the file at path, or the built-in default when
// path is "", with the environment's secrets applied either way: tokens
// given in BRIDGED_TOKENS must never be ignored. check-config and
// modems clear-pin read their -config through it too, so that they see
// the configuration serve runs on.
func loadServeConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.LoadDefault(configDriver())
	}
	return config.Load(path, configDriver())
}

// maxHeaderBytes bounds a request's headers: the API's are a few hundred
// bytes, and net/http's default (1 MB) is a lot to buffer per connection.
const maxHeaderBytes = 64 << 10

// simKeepSent is how many sent parts a simulated network of the daemon or
// of `bridged sim` keeps for `sim ctl sent`: enough to look at, bounded so
// that a simulator left running does not grow without end.
const simKeepSent = 1000

// serve runs the daemon for cfg until ctx ends. Once it takes work it
// writes readyFile (unless "") for tools, and removes it when it returns.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, readyFile string) error {
	written := false // the ready file, removed last: the queue is closed by then
	defer func() {
		if written {
			if err := ready.Remove(readyFile); err != nil {
				log.Warn("remove the ready file", "err", err)
			}
		}
	}()
	interrupted := queue.RetryInterrupted
	if cfg.SMS.InterruptedSend == config.InterruptedFail {
		interrupted = queue.FailInterrupted
	}
	encoding, err := smsEncoding(cfg.SMS)
	if err != nil {
		return err
	}
	hookOutbox, hookEndpoints := webhookEndpoints(cfg)
	// Events show messages as the API does (httpapi.Views).
	store, err := queue.Open(cfg.Store.Path, queue.Options{Interrupted: interrupted, Encoding: encoding, Logger: log,
		Views: httpapi.Views(), WebhookEndpoints: hookOutbox})
	if err != nil {
		return fmt.Errorf("open the queue: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close the queue", "err", err)
		}
	}()
	if err := store.VacuumError(); err != nil {
		log.Warn("the queue works, but its file will not shrink after pruning until a restart with enough free disk space", "err", err)
	}

	sims, err := startSims(cfg, log)
	if err != nil {
		return err
	}
	defer sims.close()

	var mods []*modem.Modem
	var dms []dispatch.Modem
	routes := map[string]dispatch.Route{}
	sendTimeout := time.Duration(0)
	for _, mc := range cfg.Modems {
		dc := driverConfig(mc)
		if mc.IsSim() {
			dc.Device = sims.path(mc.ID)
		}
		dc.Logger = log
		dc.PINJournal = pinJournal{store} // a refused PIN stays refused across restarts
		m := modem.New(dc)
		mods = append(mods, m)
		dms = append(dms, m)
		routes[dc.ID] = dispatch.Route{Prefixes: mc.Routes, PerMinute: mc.RatePerMinute}
		sendTimeout = max(sendTimeout, dc.SendTimeout, modem.DefaultSendTimeout)
	}
	disp := dispatch.New(store, dms, dispatch.Options{
		Routes: routes, Encoding: encoding, SendTimeout: sendTimeout,
		Logger: log, Retention: time.Duration(cfg.Store.Retention), ModemView: httpapi.ModemJSON,
	})

	api, err := newAPI(cfg, encoding, store, mods, log)
	if err != nil {
		return err
	}
	// Listen before anything runs, so that a port in use fails at once.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Listen, err)
	}
	// Bounded connections and a bounded time for headers: one client
	// cannot hold every goroutine or connection by sending slowly.
	ln = httpapi.LimitListener(ln, cfg.HTTP.MaxConnections)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: time.Duration(cfg.HTTP.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(cfg.HTTP.ReadTimeout),
		WriteTimeout:      time.Duration(cfg.HTTP.WriteTimeout),
		IdleTimeout:       time.Duration(cfg.HTTP.IdleTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(api.EndStreams) // Shutdown waits for open event streams
	if len(cfg.HTTP.Tokens) == 0 {
		log.Warn("no API tokens are set: the API is open to anyone who can reach "+ln.Addr().String()+
			"; set [http] tokens or BRIDGED_TOKENS", "listen", ln.Addr().String())
	}

	// The modems and the dispatcher run until work stops; the HTTP server
	// is shut down first so that nothing new is accepted meanwhile.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, m := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Run logs why it stops (a SIM that needs a person) and keeps
			// the reason in the modem's status for the API.
			m.Run(workCtx)
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); disp.Run(workCtx) }()
	if len(hookEndpoints) > 0 {
		// Its own goroutines: an endpoint that hangs holds up no SMS.
		wg.Add(1)
		go func() { defer wg.Done(); webhook.New(store, hookEndpoints, log).Run(workCtx) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("bridged is up", "listen", ln.Addr().String(), "modems", len(mods), "store", cfg.Store.Path)

	var runErr error
	if readyFile != "" {
		// Tools learn the address (listen = ":0") from this file, not from
		// the log line above, which is for people.
		if runErr = ready.Write(readyFile, ready.Serve{PID: os.Getpid(), Listen: ln.Addr().String()}); runErr == nil {
			written = true
		}
	}
	sd := newNotifier(log) // nil without NOTIFY_SOCKET: nothing sent, nothing run
	if runErr == nil {
		sd.ready(mods, disp.Alive)
		select {
		case <-ctx.Done():
			log.Info("stopping: no new work; letting a send in flight finish")
		case err := <-serveErr:
			runErr = fmt.Errorf("http server: %w", err)
		}
	}
	sd.stopping()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(cfg.HTTP.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopWork()
	// A send in flight finishes and is recorded; shutdown_timeout bounds the
	// wait, after which the store is closed anyway and the interrupted-send
	// policy deals with that message at the next start.
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutCtx.Done():
		log.Warn("a send was still in flight at the end of shutdown_timeout; it is dealt with at the next start",
			"shutdown_timeout", time.Duration(cfg.HTTP.ShutdownTimeout))
	}
	log.Info("stopped")
	return runErr
}

// smsEncoding is the one encoding policy: the API estimates, the queue
// stores and the dispatcher sends every text with this value, so that the
// parts a client is told are the parts the network gets.
func smsEncoding(c config.SMS) (pdu.Options, error) {
	lang, err := pdu.ParseLanguage(c.Language)
	if err != nil {
		return pdu.Options{}, fmt.Errorf("sms.language: %w", err)
	}
	return pdu.Options{MaxParts: c.MaxParts, Language: lang}, nil
}

// sims holds the simulated modems of a configuration, on a private network.
type sims struct {
	net   *modemsim.Network
	dir   string
	paths map[string]string
}

func startSims(cfg *config.Config, log *slog.Logger) (*sims, error) {
	s := &sims{paths: map[string]string{}}
	var simCfgs []config.Modem
	for _, m := range cfg.Modems {
		if m.IsSim() {
			simCfgs = append(simCfgs, m)
		}
	}
	if len(simCfgs) == 0 {
		return s, nil
	}
	dir, err := os.MkdirTemp("", "bridged-sim-")
	if err != nil {
		return nil, fmt.Errorf("simulated modems: %w", err)
	}
	s.dir = dir
	s.net = modemsim.NewNetwork(modemsim.Options{Dir: dir, Logger: log.With("component", "sim"), KeepSent: simKeepSent})
	for _, m := range simCfgs {
		sm, err := s.net.AddModem(modemsim.Config{Name: m.ID, Number: m.SimNumber})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("simulated modem %s: %w", m.ID, err)
		}
		sm.SetSendLatency(time.Duration(m.SimLatency))
		s.paths[m.ID] = sm.Path()
		log.Info("simulated modem", "modem", m.ID, "number", sm.Number(), "path", sm.Path(), "echo_phone", modemsim.EchoNumber)
	}
	return s, nil
}

func (s *sims) path(id string) string { return s.paths[id] }

func (s *sims) close() {
	if s.net != nil {
		s.net.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

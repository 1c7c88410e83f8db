// Package metrics exposes bridged in the Prometheus text format, for
// GET /metrics: what the store and the modems say at the moment of the
// scrape, and the counters and histograms the rest of the daemon updates
// in VictoriaMetrics/metrics' default set (the send latency here, the
// webhook sender's bridged_webhook_deliveries_total), with the Go runtime's
// and the process's own.
package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"bridged/modem"
	"bridged/queue"
)

// DefaultCacheFor is how long the store's counts serve scrapes before
// they are read again: a tight scrape loop costs one query per period.
const DefaultCacheFor = 2 * time.Second

// logEvery bounds how often a failing count is logged: a scrape every
// 15 s of a broken store would otherwise log four lines a minute.
const logEvery = time.Minute

// sendLatency is from when a message could first be sent (queued, or its
// send_at) to when the modem confirmed its last part. Buckets from 100 ms
// (a modem sends a part in a second or two) to an hour (retries, a modem
// away).
var sendLatency = vm.NewPrometheusHistogramExt("bridged_send_latency_seconds",
	[]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600})

// MessageSent records the send latency of m, whose last part went out at
// sent: from when it was queued, or its send_at if later, since a message
// scheduled for later was not waiting before. A clock set back counts as
// zero.
func MessageSent(m *queue.Message, sent time.Time) {
	from := m.CreatedAt
	if m.SendAt != nil && m.SendAt.After(from) {
		from = *m.SendAt
	}
	sendLatency.Update(max(sent.Sub(from).Seconds(), 0))
}

// Store is what the exporter reads of the queue (*queue.Store).
type Store interface {
	// Counts returns the messages by status and the pending webhook
	// deliveries.
	Counts(ctx context.Context) (queue.Counts, error)
	// WriteFailures counts writes failed for a storage reason.
	WriteFailures() uint64
}

// Modems reports every configured modem's status.
type Modems interface {
	Statuses() []modem.Status
}

// Build names the running binary in bridged_build_info.
type Build struct {
	Version, Commit, GoVersion string
}

// Options tune an Exporter.
type Options struct {
	Build Build
	// CacheFor is how long the store's counts are reused; 0 means
	// DefaultCacheFor.
	CacheFor time.Duration
	// Logger receives a failing count, at most once a minute; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Exporter writes the metrics. Create it with New; it is an http.Handler
// that does no authentication of its own (httpapi checks the token first,
// so an unauthenticated request costs no query).
type Exporter struct {
	store  Store
	modems Modems
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex // serialises reading the counts: one query at a time
	counts   queue.Counts
	countErr error
	readAt   time.Time // when counts or countErr was read; zero: never
	loggedAt time.Time // when a failing count was last logged
}

// New returns an exporter over store and modems (modems may be nil: no
// modem series).
func New(store Store, modems Modems, opts Options) *Exporter {
	if opts.CacheFor <= 0 {
		opts.CacheFor = DefaultCacheFor
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// TYPE lines let Prometheus tell counters and histograms from gauges.
	vm.ExposeMetadata(true)
	return &Exporter{store: store, modems: modems, opts: opts, log: opts.Logger}
}

// ServeHTTP answers a scrape. The whole answer is built before the first
// byte goes out, so a slow scraper holds no lock.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	e.Write(r.Context(), &b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

// Write writes every metric to w: bridged's own, computed now, then the
// default set's and the Go runtime's and process's. When the store cannot
// be read, its series are left out (and the failure logged) rather than
// the scrape failed, so that the modems' series still arrive.
func (e *Exporter) Write(ctx context.Context, w io.Writer) {
	b := e.opts.Build
	family(w, "bridged_build_info", "gauge", "The running binary: always 1, with its version, commit and Go version.")
	sample(w, "bridged_build_info", labels("version", b.Version, "commit", b.Commit, "goversion", b.GoVersion), 1)

	if c, err := e.readCounts(ctx); err == nil {
		writeCounts(w, c)
	}
	family(w, "bridged_store_write_errors_total", "counter", "Writes to the database that failed for a storage reason (full, read-only, locked, I/O).")
	sample(w, "bridged_store_write_errors_total", "", float64(e.store.WriteFailures()))
	if e.modems != nil {
		writeModems(w, e.modems.Statuses())
	}
	vm.WritePrometheus(w, true)
}

// readCounts returns the store's counts, read at most once per CacheFor.
func (e *Exporter) readCounts(ctx context.Context) (queue.Counts, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	if age := now.Sub(e.readAt); e.readAt.IsZero() || age < 0 || age >= e.opts.CacheFor {
		e.counts, e.countErr = e.store.Counts(ctx)
		e.readAt = now
		if e.countErr != nil && ctx.Err() == nil {
			if e.loggedAt.IsZero() || now.Sub(e.loggedAt) >= logEvery || now.Before(e.loggedAt) {
				e.log.Warn("metrics: the store's counts are left out of the scrape", "err", e.countErr)
				e.loggedAt = now
			}
		}
	}
	return e.counts, e.countErr
}

// statuses are every message status, so that each has a series (0 when
// no message has it) and a rate over it never starts from nothing.
var statuses = []queue.Status{
	queue.StatusQueued, queue.StatusSending, queue.StatusSent, queue.StatusDelivered,
	queue.StatusFailed, queue.StatusExpired, queue.StatusCancelled,
}

func writeCounts(w io.Writer, c queue.Counts) {
	family(w, "bridged_messages", "gauge", "Outgoing messages in the database, by status.")
	for _, s := range statuses {
		sample(w, "bridged_messages", labels("status", string(s)), float64(c.Messages[s]))
	}
	family(w, "bridged_queue_depth_messages", "gauge", "Outgoing messages not yet sent: queued or sending.")
	sample(w, "bridged_queue_depth_messages", "", float64(c.Messages[queue.StatusQueued]+c.Messages[queue.StatusSending]))
	family(w, "bridged_webhook_pending_deliveries", "gauge", "Webhook deliveries neither delivered nor dead.")
	sample(w, "bridged_webhook_pending_deliveries", "", float64(c.WebhooksPending))
}

// states are every modem state, for one bridged_modem_state series each.
var states = []modem.State{
	modem.StateStarting, modem.StateReady, modem.StateNotRegistered,
	modem.StateSIMError, modem.StateDisconnected, modem.StateUnresponsive,
}

// writeModems writes each family for every modem, a family's samples
// together as the text format requires; a family without a sample (no
// modem knows its signal yet) is left out.
func writeModems(out io.Writer, sts []modem.Status) {
	var w bytes.Buffer
	each := func(name, typ, help string, f func(st modem.Status)) {
		w.Reset()
		for _, st := range sts {
			f(st)
		}
		if w.Len() > 0 {
			family(out, name, typ, help)
			out.Write(w.Bytes())
		}
	}
	each("bridged_modem_up", "gauge", "1 when the modem is ready to send, else 0.", func(st modem.Status) {
		sample(&w, "bridged_modem_up", labels("modem", st.ID), bool01(st.State == modem.StateReady))
	})
	each("bridged_modem_state", "gauge", "1 for the modem's current state, 0 for the others.", func(st modem.Status) {
		for _, s := range states {
			sample(&w, "bridged_modem_state", labels("modem", st.ID, "state", string(s)), bool01(st.State == s))
		}
	})
	each("bridged_modem_signal_dbm", "gauge", "Signal strength in dBm (AT+CSQ); absent while unknown.", func(st modem.Status) {
		if st.SignalDBm != nil {
			sample(&w, "bridged_modem_signal_dbm", labels("modem", st.ID), float64(*st.SignalDBm))
		}
	})
	each("bridged_modem_parts_sent_total", "counter", "SMS parts the modem sent (AT+CMGS answered) since bridged started.", func(st modem.Status) {
		sample(&w, "bridged_modem_parts_sent_total", labels("modem", st.ID), float64(st.Sent))
	})
	each("bridged_modem_send_failures_total", "counter", "Parts the modem failed to send since bridged started.", func(st modem.Status) {
		sample(&w, "bridged_modem_send_failures_total", labels("modem", st.ID), float64(st.Failed))
	})
	each("bridged_modem_pdus_received_total", "counter", "PDUs the modem handed over (SMS parts and status reports) since bridged started.", func(st modem.Status) {
		sample(&w, "bridged_modem_pdus_received_total", labels("modem", st.ID), float64(st.Received))
	})
	each("bridged_modem_storage_used_messages", "gauge", "Messages held in the modem's message storage; absent until it was listed.", func(st modem.Status) {
		if st.StorageTotal > 0 {
			sample(&w, "bridged_modem_storage_used_messages", labels("modem", st.ID, "storage", st.Storage), float64(st.StorageUsed))
		}
	})
	each("bridged_modem_storage_capacity_messages", "gauge", "Messages the modem's message storage can hold; absent until it was listed.", func(st modem.Status) {
		if st.StorageTotal > 0 {
			sample(&w, "bridged_modem_storage_capacity_messages", labels("modem", st.ID, "storage", st.Storage), float64(st.StorageTotal))
		}
	})
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// family writes a family's HELP and TYPE lines, once before its samples.
func family(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func sample(w io.Writer, name, labels string, v float64) {
	fmt.Fprintf(w, "%s%s %g\n", name, labels, v)
}

// labelValue escapes what the text format requires escaped in a label
// value: backslash, double quote and line feed.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labels formats name/value pairs as {a="x",b="y"}.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], labelValue.Replace(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

package queue

import (
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"bridged/pdu"
)

// InterruptedPolicy says what Open (and lease expiry) does with a message
// found in StatusSending, whose worker went away mid-send.
type InterruptedPolicy int

const (
	// RetryInterrupted puts the message back in the queue. Parts confirmed
	// sent are kept and never sent again; the first unconfirmed part, which
	// may have been on the air, is sent again: the recipient may see that
	// part twice, but never loses the message.
	RetryInterrupted InterruptedPolicy = iota
	// FailInterrupted fails the message with code CodeMayHaveBeenSent, for
	// applications that prefer a missing SMS to a duplicate one.
	FailInterrupted
)

// Defaults for Options fields left zero.
const (
	DefaultBusyTimeout       = 5 * time.Second
	DefaultMaxBatch          = 256
	DefaultMaxAttempts       = 8
	DefaultBackoffBase       = 10 * time.Second
	DefaultBackoffMax        = 30 * time.Minute
	DefaultReportWindow      = 72 * time.Hour
	DefaultReportHold        = 10 * time.Minute
	DefaultRedeliveryWindow  = 10 * time.Minute
	DefaultReassemblyTimeout = 24 * time.Hour
	DefaultWebhookAttempts   = 12
	DefaultReadConns         = 4
)

// Options tune a Store. The zero value is usable: every zero field takes its
// Default constant.
type Options struct {
	// Interrupted is the policy for messages found mid-send at Open and for
	// claims whose lease expired.
	Interrupted InterruptedPolicy
	// Encoding is how texts are encoded and split, and the most parts one
	// may take (0 means pdu.DefaultMaxParts): the same value the API and
	// the dispatcher are given, so that the encoding and parts recorded at
	// enqueue are what the API answered and what the dispatcher sends.
	Encoding pdu.Options
	// MaxAttempts is how many claims a message gets before Retry fails it.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay: attempt n waits
	// between half and all of min(BackoffBase*2^(n-1), BackoffMax).
	BackoffBase, BackoffMax time.Duration
	// ReportWindow is how long after a part is sent a delivery report can
	// still match it. TP-MR wraps at 256, so an old part must stop matching.
	ReportWindow time.Duration
	// ReportHold is how long a report that matched no part is kept in
	// case its part is recorded late.
	ReportHold time.Duration
	// RedeliveryWindow is how long a direct (+CMT) part with the same raw
	// PDU on the same modem counts as a network redelivery.
	RedeliveryWindow time.Duration
	// ReassemblyTimeout is how long an incomplete multipart message waits
	// for its missing parts before ReleaseIncomplete delivers it as is.
	ReassemblyTimeout time.Duration
	// Views render the data of each event as the API shows the object;
	// see Views.
	Views Views
	// WebhookEndpoints receive a delivery of every event their filter
	// takes, written in the same transaction as the change it reports.
	WebhookEndpoints []WebhookEndpoint
	// WebhookAttempts is how many attempts a webhook delivery gets before it
	// is dead-lettered.
	WebhookAttempts int
	// MaxBatch bounds how many writes share one transaction. 1 disables
	// group commit (one transaction and one fsync per write), which is only
	// useful as a benchmark baseline.
	MaxBatch int
	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection (a backup tool, the sqlite3 shell).
	BusyTimeout time.Duration
	// ReadConns is the size of the read connection pool.
	ReadConns int
	// WriteCheckInterval is how long CheckWritable serves its last
	// successful check before it writes again.
	WriteCheckInterval time.Duration
	// Logger, if set, gets one Info line per committed status change of a
	// message (logstatus.go); nil logs nothing.
	Logger *slog.Logger
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
	// Jitter returns a random duration in [0, d); tests inject one.
	Jitter func(d time.Duration) time.Duration
}

func (o *Options) setDefaults() {
	for _, f := range []struct {
		v *int
		d int
	}{
		{&o.Encoding.MaxParts, pdu.DefaultMaxParts}, {&o.MaxAttempts, DefaultMaxAttempts},
		{&o.MaxBatch, DefaultMaxBatch}, {&o.WebhookAttempts, DefaultWebhookAttempts}, {&o.ReadConns, DefaultReadConns},
	} {
		orDefault(f.v, f.d)
	}
	for _, f := range []struct {
		v *time.Duration
		d time.Duration
	}{
		{&o.BackoffBase, DefaultBackoffBase}, {&o.BackoffMax, DefaultBackoffMax},
		{&o.ReportWindow, DefaultReportWindow}, {&o.ReportHold, DefaultReportHold},
		{&o.RedeliveryWindow, DefaultRedeliveryWindow}, {&o.ReassemblyTimeout, DefaultReassemblyTimeout},
		{&o.BusyTimeout, DefaultBusyTimeout}, {&o.WriteCheckInterval, DefaultWriteCheckInterval},
	} {
		orDefault(f.v, f.d)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return time.Duration(mrand.Int64N(int64(d)))
		}
	}
}

// orDefault sets *v to d when it is zero or negative: an Options field
// left unset.
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

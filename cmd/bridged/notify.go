package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// Named so: the e2e tests of this package have a type daemon.
	systemd "github.com/coreos/go-systemd/v22/daemon"

	"bridged/modem"
)

// notifier tells systemd how serve is doing (sd_notify(3)): READY=1 once
// it takes work, STATUS= with the modems' states, WATCHDOG=1 while the
// dispatcher answers, STOPPING=1 at shutdown. newNotifier returns nil when
// NOTIFY_SOCKET is unset, and a nil notifier does nothing: outside systemd
// no datagram is sent and no goroutine or timer runs.
type notifier struct {
	log    *slog.Logger
	failed atomic.Bool // the last send failed: said once, not every ping
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func newNotifier(log *slog.Logger) *notifier {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	return &notifier{log: log.With("component", "systemd")}
}

// send sends one state. A failure is logged once until a send works
// again: systemd without its socket must not fill the journal.
func (n *notifier) send(state string) {
	_, err := systemd.SdNotify(false, state)
	if err == nil {
		n.failed.Store(false)
		return
	}
	if !n.failed.Swap(true) {
		n.log.Warn("cannot notify systemd", "state", state, "err", err)
	}
}

// ready sends READY=1, then keeps STATUS= up to date as the modems change
// state and, when systemd set a watchdog (WATCHDOG_USEC), pings it at half
// its interval each time alive has answered, until stopping.
func (n *notifier) ready(mods []*modem.Modem, alive func(context.Context) error) {
	if n == nil {
		return
	}
	n.send(systemd.SdNotifyReady)
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.watchModems(ctx, mods)
	interval, err := systemd.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("systemd's watchdog setting is not understood; not pinging it", "err", err)
		return
	}
	if interval > 0 {
		n.wg.Go(func() { n.pingWatchdog(ctx, interval/2, alive) })
	}
}

// stopping ends the status and watchdog goroutines and sends STOPPING=1:
// from here on systemd's stop timeout, not its watchdog, bounds the exit.
func (n *notifier) stopping() {
	if n == nil {
		return
	}
	if n.stop != nil {
		n.stop()
		n.wg.Wait()
	}
	n.send(systemd.SdNotifyStopping)
}

// pingWatchdog sends WATCHDOG=1 after every answer of alive, at most once
// per every. alive that does not answer sends nothing, so systemd
// restarts a wedged daemon after its WatchdogSec.
func (n *notifier) pingWatchdog(ctx context.Context, every time.Duration, alive func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		asked := time.Now()
		if alive(ctx) != nil {
			return // ctx ended: stopping
		}
		if took := time.Since(asked); took > every {
			n.log.Warn("the dispatcher answered the watchdog late", "after", took.Round(time.Millisecond))
		}
		n.send(systemd.SdNotifyWatchdog)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchModems sends STATUS= now and after each change of a modem's state.
func (n *notifier) watchModems(ctx context.Context, mods []*modem.Modem) {
	changed := make(chan struct{}, 1)
	for _, m := range mods {
		// Taken here, before the first status is read, so that a change
		// in between is not missed.
		next := m.Changed()
		n.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-next:
					next = m.Changed()
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	n.wg.Go(func() {
		last := ""
		for {
			if s := modemStates(mods); s != last {
				n.send("STATUS=" + s)
				last = s
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	})
}

// modemStates is the status line systemctl status shows: "sim0 ready,
// usb1 unresponsive".
func modemStates(mods []*modem.Modem) string {
	if len(mods) == 0 {
		return "no modems configured"
	}
	parts := make([]string, len(mods))
	for i, m := range mods {
		parts[i] = m.ID() + " " + string(m.Status().State)
	}
	return strings.Join(parts, ", ")
}

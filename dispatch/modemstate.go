package dispatch

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"bridged/modem"
)

// StateLog is what modem.state events need of the queue; *queue.Store is
// one. A Store that is also a StateLog is told of each modem's state
// whenever it becomes one of ToldStates.
type StateLog interface {
	// ModemState logs a modem.state event with data unless state is the
	// last one logged for modem.
	ModemState(ctx context.Context, modem, state string, data []byte) (bool, error)
}

// ToldStates are the modem states a modem.state event tells of: the modem
// can send again, or cannot until something changes. Passing states
// (starting) are not told.
var ToldStates = []modem.State{modem.StateReady, modem.StateUnresponsive, modem.StateDisconnected,
	modem.StateNotRegistered, modem.StateSIMError}

// logModemStates tells the store of m's state at each change until ctx
// ends. It runs beside the modem, never in its way: a store that cannot
// take the write delays only this loop, which tries again after
// afterError or at the next change, with the state of that moment.
func (d *Dispatcher) logModemStates(ctx context.Context, m Modem) {
	sl, ok := d.store.(StateLog)
	if !ok {
		return
	}
	var retry <-chan time.Time
	last := modem.State("")
	for {
		changed := m.Changed() // before Status: a change in between wakes the select
		st := m.Status()
		retry = nil
		if st.State != last && slices.Contains(ToldStates, st.State) {
			data, err := d.opts.ModemView(st)
			if err == nil {
				_, err = sl.ModemState(ctx, m.ID(), string(st.State), data)
			}
			switch {
			case err == nil:
				last = st.State
			case ctx.Err() != nil:
				return
			default:
				d.log.Error("log the modem's state", "modem", m.ID(), "state", st.State, "err", err)
				retry = time.After(afterError)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry:
		}
	}
}

// modemJSON is Options.ModemView's default.
func modemJSON(s modem.Status) ([]byte, error) { return json.Marshal(s) }

package modem

import (
	"errors"
	"fmt"

	"github.com/warthog618/modem/at"

	"bridged/pdu"
)

// send writes one SMS-SUBMIT after the AT+CMGS prompt (TS 27.005 3.5.1).
func (s *session) send(part pdu.Part) (int, error) {
	st := s.m.Status().State
	if st != StateReady {
		return 0, &SendError{Code: -1, Transient: true, Reason: "modem " + s.m.cfg.ID + " is " + string(st), Err: ErrNotReady}
	}
	c := fmt.Sprintf("+CMGS=%d", part.Length)
	seq := s.w.begin(c, true)
	l, err := s.at.SMSCommand(c, part.PDU, at.WithTimeout(s.m.cfg.SendTimeout))
	pduSent := s.w.end(seq)
	s.answered(c, err, true)
	if !pduSent && (errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed)) {
		// No prompt, so the PDU never went out (the watchdog also refuses
		// its write once it gives up, see watchdog.Write): the message is
		// certainly not on the air and can go again, here or through
		// another modem, without a duplicate.
		why, cause := "gave no prompt for AT+CMGS", fmt.Errorf("%w: %w: %w", ErrNotReady, ErrUnresponsive, err)
		if errors.Is(err, at.ErrClosed) && !s.w.cutOff() {
			why, cause = "was disconnected before it asked for the message", fmt.Errorf("%w: %w", ErrNotReady, err)
		}
		return 0, &SendError{Code: -1, Transient: true, Reason: "modem " + s.m.cfg.ID + " " + why + "; the message was not sent", Err: cause}
	}
	if err != nil {
		return 0, err
	}
	if !pduSent {
		// A final result before the prompt that is no error: the answer
		// to something else, late (see resync). The modem may still prompt
		// and wait for a PDU: re-sync, and say the message did not go.
		s.resync()
		return 0, &SendError{Code: -1, Transient: true,
			Reason: "modem " + s.m.cfg.ID + " answered AT+CMGS without asking for the message; the message was not sent",
			Err:    fmt.Errorf("AT%s: answer %q without a prompt", c, l)}
	}
	mr, err := parseCMGS(l)
	if err != nil {
		return 0, &SendError{Code: -1, Transient: true, Reason: "sent, but the modem's answer had no message reference: " + err.Error(), Err: err}
	}
	return mr, nil
}

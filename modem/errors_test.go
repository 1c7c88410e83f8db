package modem

import (
	"strings"
	"testing"

	"github.com/warthog618/modem/at"
)

// TestLostAnswerMayHaveBeenSent: a send that lost its answer, by a timeout
// or an unplug after the PDU was written, says the message may have gone,
// so that a person (and the duplicate check of the fault matrix) knows a
// retry can repeat it.
func TestLostAnswerMayHaveBeenSent(t *testing.T) {
	for _, err := range []error{at.ErrDeadlineExceeded, at.ErrClosed} {
		se := classifySendErr(err)
		if !se.Transient || !strings.Contains(se.Reason, "may have been sent") {
			t.Errorf("classifySendErr(%v) = %+v", err, se)
		}
	}
}

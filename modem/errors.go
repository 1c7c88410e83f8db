package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/warthog618/modem/at"
)

// SendError is a failed AT+CMGS, classified so that the dispatcher knows
// whether to try again (Transient) or fail the message.
type SendError struct {
	// Code is the +CMS ERROR number, or -1 when the modem gave none (a plain
	// ERROR, a timeout, a lost port).
	Code int
	// Transient is true when the same message may succeed later or through
	// another modem: the network, the modem or the SIM was the problem, not
	// the message.
	Transient bool
	// Reason says what happened in words a person can act on.
	Reason string
	Err    error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Transient {
		kind = "transient"
	}
	if e.Code >= 0 {
		return fmt.Sprintf("send failed (%s, +CMS ERROR %d): %s", kind, e.Code, e.Reason)
	}
	return fmt.Sprintf("send failed (%s): %s", kind, e.Reason)
}

func (e *SendError) Unwrap() error { return e.Err }

// cmsCause is one row of the +CMS ERROR table.
type cmsCause struct {
	transient bool
	reason    string
}

// cmsCauses holds the codes of TS 27.005 3.2.5: 0-127 are the RP causes of
// TS 24.011 E.2, 128-255 the TP-FCS values of TS 23.040 9.2.3.22, 300-340
// the modem's own errors. Causes that blame the destination or the message
// are permanent; causes that blame the network, the SIM or the modem are
// transient, since waiting or another modem may get the message through.
var cmsCauses = map[int]cmsCause{
	1:   {false, "unassigned number: the destination does not exist"},
	8:   {false, "operator determined barring: the network bars this SIM from sending"},
	10:  {false, "call barred: sending to this destination is barred"},
	21:  {false, "short message transfer rejected by the network"},
	27:  {true, "destination out of service"},
	28:  {false, "unidentified subscriber"},
	29:  {false, "facility rejected by the network"},
	30:  {false, "unknown subscriber: the destination is not a valid number"},
	38:  {true, "network out of order"},
	41:  {true, "temporary network failure"},
	42:  {true, "network congestion"},
	47:  {true, "network resources unavailable"},
	50:  {false, "SMS is not part of this SIM's subscription"},
	69:  {false, "requested facility not implemented by the network"},
	81:  {true, "invalid short message transfer reference"},
	95:  {false, "invalid message"},
	96:  {false, "invalid mandatory information in the message"},
	97:  {false, "message type not implemented by the network"},
	98:  {true, "message not compatible with the protocol state"},
	99:  {false, "information element not implemented by the network"},
	111: {true, "protocol error"},
	127: {true, "interworking error"},
	128: {false, "telematic interworking not supported"},
	129: {false, "short message type 0 not supported"},
	130: {false, "cannot replace short message"},
	143: {false, "unspecified TP-PID error"},
	144: {false, "data coding scheme not supported"},
	145: {false, "message class not supported"},
	159: {false, "unspecified TP-DCS error"},
	160: {false, "command cannot be actioned"},
	161: {false, "command unsupported"},
	175: {false, "unspecified TP-Command error"},
	176: {false, "TPDU not supported"},
	192: {true, "service centre busy"},
	193: {false, "no subscription with the service centre"},
	194: {true, "service centre system failure"},
	195: {false, "invalid destination address"},
	196: {false, "destination barred"},
	197: {false, "rejected as a duplicate"},
	198: {false, "validity period format not supported"},
	199: {false, "validity period not supported"},
	208: {true, "SIM SMS storage full"},
	209: {true, "no SMS storage on the SIM"},
	210: {true, "error in the modem"},
	211: {true, "memory capacity exceeded"},
	212: {true, "SIM toolkit busy"},
	213: {true, "SIM data download error"},
	255: {true, "unspecified error"},
	300: {true, "modem failure"},
	301: {true, "SMS service of the modem reserved"},
	302: {true, "operation not allowed in the modem's current state"},
	303: {false, "operation not supported by the modem"},
	304: {false, "invalid PDU mode parameter: the modem rejected the PDU"},
	305: {false, "invalid text mode parameter"},
	310: {true, "no SIM inserted"},
	311: {true, "SIM PIN required"},
	312: {true, "PH-SIM PIN required"},
	313: {true, "SIM failure"},
	314: {true, "SIM busy"},
	315: {true, "wrong SIM"},
	316: {true, "SIM PUK required"},
	317: {true, "SIM PIN2 required"},
	318: {true, "SIM PUK2 required"},
	320: {true, "modem memory failure"},
	321: {true, "invalid memory index"},
	322: {true, "modem memory full"},
	330: {true, "SMSC address unknown: set smsc for this modem"},
	331: {true, "no network service"},
	332: {true, "network timeout"},
	340: {true, "no +CNMA acknowledgement expected"},
	500: {true, "unknown error"},
}

// classifyCMS turns the text after "+CMS ERROR:" into a SendError. Codes
// not in the table (512 and up are manufacturer specific) are transient:
// retrying a message costs little, failing one that could have gone costs a
// lost message. A textual error (AT+CMEE=2) is matched by its words.
func classifyCMS(text string, err error) *SendError {
	text = strings.TrimSpace(text)
	code, convErr := strconv.Atoi(text)
	if convErr != nil {
		return &SendError{Code: -1, Transient: true, Reason: "modem reported: " + text, Err: err}
	}
	if c, ok := cmsCauses[code]; ok {
		return &SendError{Code: code, Transient: c.transient, Reason: c.reason, Err: err}
	}
	switch {
	case code < 128:
		// Unlisted RP causes: TS 24.011 E.2 files 0-127 it does not name
		// under "protocol error, unspecified".
		return &SendError{Code: code, Transient: true, Reason: "network protocol error", Err: err}
	case code < 256:
		return &SendError{Code: code, Transient: true, Reason: "service centre error", Err: err}
	}
	return &SendError{Code: code, Transient: true, Reason: "modem-specific error", Err: err}
}

// classifySendErr classifies any error from a send attempt.
func classifySendErr(err error) *SendError {
	var se *SendError
	var cms at.CMSError
	var cme at.CMEError
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &cms):
		return classifyCMS(string(cms), err)
	case errors.As(err, &cme):
		// Some modems answer +CME ERROR to AT+CMGS (SIM or network state).
		return &SendError{Code: -1, Transient: true, Reason: "modem reported +CME ERROR: " + string(cme), Err: err}
	case errors.Is(err, at.ErrDeadlineExceeded):
		return &SendError{Code: -1, Transient: true, Reason: "no answer from the modem in time; the message may have been sent", Err: err}
	case errors.Is(err, at.ErrClosed):
		// After the prompt (send says "not sent" before it): the network
		// may have taken the message before the answer was read.
		return &SendError{Code: -1, Transient: true, Reason: "modem disconnected during the send; the message may have been sent", Err: err}
	case errors.Is(err, at.ErrError):
		return &SendError{Code: -1, Transient: true, Reason: "modem answered ERROR", Err: err}
	}
	return &SendError{Code: -1, Transient: true, Reason: err.Error(), Err: err}
}

package modemsim

import "fmt"

// CME error codes of TS 27.007 9.2 that the simulator returns.
const (
	cmeNotAllowed     = 3
	cmeNotSupported   = 4
	cmeSIMPINRequired = 11
	cmeSIMPUKRequired = 12
	cmeWrongPassword  = 16
	cmeInvalidIndex   = 21
	cmeNoNetwork      = 30
	cmeBadParameters  = 50
	cmeUnknown        = 100
)

var cmeText = map[int]string{
	cmeNotAllowed:     "operation not allowed",
	cmeNotSupported:   "operation not supported",
	cmeSIMPINRequired: "SIM PIN required",
	cmeSIMPUKRequired: "SIM PUK required",
	cmeWrongPassword:  "incorrect password",
	cmeInvalidIndex:   "invalid index",
	cmeNoNetwork:      "no network service",
	cmeBadParameters:  "incorrect parameters",
	cmeUnknown:        "unknown",
}

// CMS error codes of TS 27.005 3.2.5 (and the TS 24.011 RP causes, 0-127,
// that a network returns for a failed send, such as 38 and 42).
const (
	CMSNetworkOutOfOrder = 38
	CMSCongestion        = 42
	CMSMEFailure         = 300
	CMSNotAllowed        = 302
	CMSNotSupported      = 303
	CMSInvalidPDU        = 304
	CMSSIMPINRequired    = 311
	CMSInvalidIndex      = 321
	CMSMemoryFull        = 322
	CMSNoNetwork         = 331
	CMSNoCNMAExpected    = 340
	CMSUnknown           = 500
)

// failure is how a command ends other than OK.
type failure struct {
	cms  bool // an SMS command's +CMS ERROR rather than +CME ERROR
	code int
}

func (f *failure) Error() string {
	if f.cms {
		return fmt.Sprintf("+CMS ERROR: %d", f.code)
	}
	return fmt.Sprintf("+CME ERROR: %d", f.code)
}

func cmeErr(code int) error { return &failure{code: code} }
func cmsErr(code int) error { return &failure{cms: true, code: code} }

// errPlain is a bare ERROR whatever AT+CMEE says: a syntax error or an
// unknown command (V.250 5.7.1).
var errPlain = &failure{code: -1}

// finalResult renders a command's failure as the modem prints it, per
// AT+CMEE (TS 27.007 9.1): 0 gives ERROR, 1 numeric codes, 2 verbose text
// for +CME ERROR. +CMS ERROR stays numeric in mode 2: modems differ here,
// and a driver decides what to do (retry or not) by the number.
func finalResult(err error, cmee int) string {
	f, ok := err.(*failure)
	if !ok || f == errPlain || f.code < 0 || cmee == 0 {
		return "ERROR"
	}
	if f.cms {
		return fmt.Sprintf("+CMS ERROR: %d", f.code)
	}
	if cmee == 2 {
		if t, ok := cmeText[f.code]; ok {
			return "+CME ERROR: " + t
		}
	}
	return fmt.Sprintf("+CME ERROR: %d", f.code)
}

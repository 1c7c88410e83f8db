package modemsim

// Log attribute keys, one spelling for every log line (STYLE.md: log keys are
// constants). Numbers and AT lines are logged at Debug only: they can hold
// phone numbers and message text.
const (
	logModem  = "modem"
	logPTS    = "pts"
	logLine   = "line"
	logCmd    = "cmd"
	logResult = "result"
	logWhy    = "why"
	logCode   = "code"
	logErr    = "err"
	logFor    = "for"
	logMem    = "mem"
	logFrom   = "from"
	logTo     = "to"
	logMR     = "mr"
	logCount  = "count"
)

package queue

import "strconv"

// Error is why a message failed or was last retried: what GET
// /v1/messages/{id} shows as "error". Code is one of the codes below.
type Error struct {
	Code    string
	Message string
}

// The codes of a message's Error. This is the one place they are
// spelled: every failure a user sees is one of these, and the README's
// API section lists exactly these (a test compares the two). The store
// sets the first three itself; the dispatcher passes the others to Retry
// and Fail.
const (
	// CodeMayHaveBeenSent: a part was in flight when bridged stopped or the
	// modem went away, and the interrupted-send policy is "fail" (or the
	// message was interrupted Options.MaxAttempts times).
	CodeMayHaveBeenSent = "may_have_been_sent"
	// CodeDeliveryFailed: every part went out, and the delivery report of at
	// least one says it was not delivered.
	CodeDeliveryFailed = "delivery_failed"
	// CodeExpired: the validity ended before the message could be sent.
	CodeExpired = "expired"
	// CodeEncode: the text no longer encodes in the parts it was queued
	// with (the language table changed since).
	CodeEncode = "encode"
	// CodeShutdown: bridged stopped between two parts; the rest go after the
	// restart (a retry, not a failure).
	CodeShutdown = "shutdown"
	// CodeModem: the modem failed without a +CMS ERROR code (not ready, no
	// answer, an answer without a message reference).
	CodeModem = "modem"
	// codeCMSPrefix starts the code of a +CMS ERROR: "cms_" and the number
	// (TS 27.005 3.2.5), from CodeCMS.
	codeCMSPrefix = "cms_"
)

// CodeCMS is the code of a send that failed with +CMS ERROR n.
func CodeCMS(n int) string { return codeCMSPrefix + strconv.Itoa(n) }

// errText is an Error as a message's history records it.
func errText(e Error) string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

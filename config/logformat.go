package config

import (
	"io"
	"os"
)

// The [log] formats. FormatAuto is JSON when stderr is systemd's journal
// (the daemon runs as a service, and log shippers read the journal: one
// object a line parses without guessing) and text otherwise (a terminal,
// a pipe, a file).
const (
	FormatAuto = "auto"
	FormatText = "text"
	FormatJSON = "json"
)

// EnvJournalStream is what systemd sets when a service's stdout or stderr
// is connected to the journal: "DEVICE:INODE" of that stream
// (systemd.exec(5)).
const EnvJournalStream = "JOURNAL_STREAM"

// resolvedFormat is FormatText or FormatJSON for a log written to w.
func (l Log) resolvedFormat(w io.Writer) string {
	if l.Format == FormatJSON || l.Format == FormatAuto && toJournal(w) {
		return FormatJSON
	}
	return FormatText
}

// toJournal reports whether w is the stream JOURNAL_STREAM names. The
// variable alone is not enough: a program started from a service's shell
// (bridged check-config in an ExecStartPre, a person's terminal opened
// from a unit) inherits it with another stderr.
func toJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	want := os.Getenv(EnvJournalStream)
	if !ok || want == "" {
		return false
	}
	id, ok := fileID(f)
	return ok && id == want
}

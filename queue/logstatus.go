package queue

// statusChange is one status change of a message, as its history records
// it (wtx.event).
type statusChange struct {
	id     int64
	status Status
	detail string
}

// logCommitted logs the status changes of a write that committed. Every
// change of every message goes through wtx.event, so this is the one place
// where each is logged exactly once, and only once it is durable: a write
// rolled back or a commit that failed logs nothing. The writer logs, after
// the commit and before it answers, so that the lines come in commit order
// (a message claimed at once is not logged "sending" before "queued") and
// a caller whose ctx ended meanwhile does not lose them; a few lines cost
// microseconds against the commit's fsync. The line carries the message
// id, the new status and the system's detail ("attempt 2 on modem usb0", a
// failure's code), never the text or the recipient.
func (s *Store) logCommitted(changes []statusChange) {
	if s.opts.Logger == nil {
		return
	}
	for _, c := range changes {
		if c.detail == "" {
			s.opts.Logger.Info("message status", "message", c.id, "status", string(c.status))
		} else {
			s.opts.Logger.Info("message status", "message", c.id, "status", string(c.status), "detail", c.detail)
		}
	}
}

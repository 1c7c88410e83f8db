package queue

// statusChange is one status change of a message, as its history records
// it (wtx.event).
type statusChange struct {
	id     int64
	status Status
	detail string
}

// logCommitted logs the status changes of a write that committed (err is
// nil) and returns err. Every change of every message goes through
// wtx.event, so this is the one place where each is logged exactly once,
// and only once it is durable: a write rolled back or a commit that failed
// logs nothing. The caller's goroutine logs, not the writer's, so that the
// next commit does not wait for the log. The line carries the message id,
// the new status and the system's detail ("attempt 2 on modem usb0", a
// failure's code), never the text or the recipient. A caller whose ctx
// ended before the answer (an HTTP client gone mid-request) may have
// committed without a line: write cannot tell it.
func (s *Store) logCommitted(o *op, err error) error {
	if err != nil || s.opts.Logger == nil {
		return err
	}
	for _, c := range o.changes {
		if c.detail == "" {
			s.opts.Logger.Info("message status", "message", c.id, "status", string(c.status))
		} else {
			s.opts.Logger.Info("message status", "message", c.id, "status", string(c.status), "detail", c.detail)
		}
	}
	return nil
}

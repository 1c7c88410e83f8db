-- 0004: the earliest due time of queued messages, for NextDue: a
-- dispatcher with nothing to claim sleeps until then instead of polling.
-- Led by status rather than partial on it, so that the planner does not
-- prefer messages_status and a sort of every queued message.
CREATE INDEX messages_due ON messages(status, due_at);

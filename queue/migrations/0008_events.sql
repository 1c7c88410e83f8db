-- 0008: the durable event log: every message status change, every message
-- that reaches the inbox and every modem state change worth telling, each
-- written in the transaction of the change it reports, with the body that
-- webhooks are sent and GET /v1/events streams. An id is never used twice
-- (a client resumes after an id, a receiver drops repeats by it): the
-- writer assigns max(id) + 1, and Prune always keeps the newest event.
-- Neither AUTOINCREMENT nor an index on created_at: each would add a page
-- to every commit's WAL write, and Prune reads the oldest ids instead.
CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	type        TEXT    NOT NULL,
	subject     TEXT    NOT NULL, -- message id, inbox id or modem id
	created_at  INTEGER NOT NULL,
	body        TEXT    NOT NULL  -- {"id", "type", "created_at", "data"}
);
-- The last modem.state written per modem, so that a state is told once
-- however often the modem passes through states that are not told, and
-- however old the event is (Prune removes events, not this).
CREATE TABLE modem_states (
	modem  TEXT PRIMARY KEY,
	state  TEXT NOT NULL,
	at     INTEGER NOT NULL
) WITHOUT ROWID;

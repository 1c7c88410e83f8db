-- 0001: outbox, per-message history, sent parts, idempotency keys, inbox
-- parts and reassembly groups, inbox, webhook deliveries.
-- Times are INTEGER nanoseconds since the Unix epoch, UTC: they sort, they
-- compare in SQL, and PostgreSQL's bigint holds them the same way.

CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	to_number       TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	encoding        TEXT    NOT NULL,
	parts           INTEGER NOT NULL,
	priority        INTEGER NOT NULL DEFAULT 0,
	flash           INTEGER NOT NULL DEFAULT 0,
	report          INTEGER NOT NULL DEFAULT 0,
	modem           TEXT,             -- only this modem may send it; NULL: any
	status          TEXT    NOT NULL,
	send_at         INTEGER,          -- not-before time the caller asked for
	due_at          INTEGER NOT NULL, -- earliest claim: send_at, then each retry's next attempt
	expires_at      INTEGER,
	attempts        INTEGER NOT NULL DEFAULT 0,
	claimed_by      TEXT,
	lease_until     INTEGER,
	error_code      TEXT,
	error_message   TEXT,
	idem_key        TEXT,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	sent_at         INTEGER,
	delivered_at    INTEGER
);
-- Claim order (priority, then age) after status, so that the planner never
-- prefers messages_status and a sort of the whole backlog; due_at rides
-- along so that not-yet-due rows are skipped without reading the table.
CREATE INDEX messages_claim ON messages(status, priority DESC, id, due_at);
CREATE INDEX messages_lease ON messages(lease_until) WHERE status = 'sending';
CREATE INDEX messages_expiry ON messages(expires_at) WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX messages_status ON messages(status, id);
CREATE INDEX messages_to ON messages(to_number, id);
CREATE INDEX messages_idem ON messages(idem_key, id) WHERE idem_key IS NOT NULL;

CREATE TABLE idempotency_keys (
	key         TEXT PRIMARY KEY,
	body_hash   BLOB    NOT NULL,
	created_at  INTEGER NOT NULL
);

CREATE TABLE message_events (
	id          INTEGER PRIMARY KEY,
	message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	status      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX message_events_message ON message_events(message_id, id);

-- One row per part confirmed sent (+CMGS answered): a part without a row was
-- never confirmed, which is what the interrupted-send policy relies on.
CREATE TABLE message_parts (
	message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	modem           TEXT    NOT NULL,
	ref             INTEGER NOT NULL, -- TP-MR from +CMGS, 0-255
	recipient       TEXT    NOT NULL, -- digits only, for report matching
	sent_at         INTEGER NOT NULL,
	report_status   INTEGER,          -- raw TP-ST of the latest report
	report_outcome  TEXT,             -- delivered | pending | failed
	reported_at     INTEGER,
	PRIMARY KEY (message_id, seq)
);
CREATE INDEX message_parts_ref ON message_parts(modem, ref, sent_at);

CREATE TABLE inbox (
	id           INTEGER PRIMARY KEY,
	modem        TEXT    NOT NULL,
	sender       TEXT    NOT NULL,
	body         TEXT    NOT NULL,
	data         BLOB,
	encoding     TEXT    NOT NULL,
	class        INTEGER,
	parts        INTEGER NOT NULL,
	incomplete   INTEGER NOT NULL DEFAULT 0,
	missing      TEXT    NOT NULL DEFAULT '',
	sent_at      INTEGER,          -- service-centre time stamp of the first part
	received_at  INTEGER NOT NULL
);
CREATE INDEX inbox_sender ON inbox(sender, id);
CREATE INDEX inbox_received ON inbox(received_at);

CREATE TABLE inbound_groups (
	id        INTEGER PRIMARY KEY,
	modem     TEXT    NOT NULL,
	sender    TEXT    NOT NULL,
	ref       INTEGER NOT NULL,
	total     INTEGER NOT NULL,
	first_at  INTEGER NOT NULL,
	state     TEXT    NOT NULL, -- open | done
	inbox_id  INTEGER
);
CREATE UNIQUE INDEX inbound_groups_open ON inbound_groups(modem, sender, ref, total) WHERE state = 'open';
CREATE INDEX inbound_groups_age ON inbound_groups(first_at) WHERE state = 'open';

CREATE TABLE inbound_parts (
	id            INTEGER PRIMARY KEY,
	modem         TEXT    NOT NULL,
	storage       TEXT    NOT NULL DEFAULT '',
	slot          INTEGER,          -- index in modem storage; NULL for a direct +CMT
	pdu           TEXT    NOT NULL, -- upper-case hex as the modem printed it
	pdu_hash      BLOB    NOT NULL,
	received_at   INTEGER NOT NULL,
	decode_error  TEXT,
	group_id      INTEGER REFERENCES inbound_groups(id),
	inbox_id      INTEGER
);
CREATE INDEX inbound_parts_dedupe ON inbound_parts(modem, pdu_hash, received_at);
CREATE INDEX inbound_parts_group ON inbound_parts(group_id) WHERE group_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
	id               INTEGER PRIMARY KEY,
	endpoint         TEXT    NOT NULL,
	event            TEXT    NOT NULL,
	payload          TEXT    NOT NULL,
	state            TEXT    NOT NULL, -- pending | delivered | dead
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER NOT NULL,
	last_error       TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);
CREATE INDEX webhook_due ON webhook_deliveries(endpoint, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_state ON webhook_deliveries(state, id);

-- 0003: delivery reports that arrived before their part was recorded. With
-- a fast network (or a simulated modem) +CDS can come in before the
-- dispatcher's PartSent has committed; such a report is held for a while
-- and applied when the part is recorded.
CREATE TABLE held_reports (
	id           INTEGER PRIMARY KEY,
	modem        TEXT    NOT NULL,
	ref          INTEGER NOT NULL,
	recipient    TEXT    NOT NULL, -- digits only
	status       INTEGER NOT NULL,
	outcome      TEXT    NOT NULL,
	discharge    INTEGER,
	received_at  INTEGER NOT NULL
);
CREATE INDEX held_reports_ref ON held_reports(modem, ref, received_at);
CREATE INDEX held_reports_received ON held_reports(received_at);

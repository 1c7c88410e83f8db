-- 0008: the count of messages in each status, kept by triggers in the
-- transaction of every write that adds, changes or removes a message
-- (enqueue, claim, send, report, expiry, cancel, prune alike), so that
-- GET /metrics reads seven rows instead of counting the messages: that
-- took 124 ms a scrape with a million of them (BenchmarkCountsWith1M).
CREATE TABLE message_counts (
	status TEXT    PRIMARY KEY,
	n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO message_counts (status, n) SELECT status, count(*) FROM messages GROUP BY status;
CREATE TRIGGER message_counts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO message_counts (status, n) VALUES (new.status, 1)
		ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER message_counts_update AFTER UPDATE OF status ON messages
WHEN old.status IS NOT new.status BEGIN
	UPDATE message_counts SET n = n - 1 WHERE status = old.status;
	INSERT INTO message_counts (status, n) VALUES (new.status, 1)
		ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER message_counts_delete AFTER DELETE ON messages BEGIN
	UPDATE message_counts SET n = n - 1 WHERE status = old.status;
END;

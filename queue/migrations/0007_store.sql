-- 0007: when a received part was last deleted from the modem (+CMGD) or
-- acknowledged (+CNMA), so that Prune removes a raw part only once it can no
-- longer be read again: a part still on a SIM must stay to be recognised as
-- a duplicate. Parts stored before this version were deleted right after
-- their commit, so they count as acknowledged then; one read again later
-- (its delete had failed) loses the mark and gets it back with its next
-- acknowledgement.
ALTER TABLE inbound_parts ADD COLUMN acked_at INTEGER;
UPDATE inbound_parts SET acked_at = received_at;
CREATE INDEX inbound_parts_acked ON inbound_parts(acked_at);
-- Prune no longer selects parts by receipt time.
DROP INDEX inbound_parts_received;

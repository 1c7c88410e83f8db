-- 0005: received PDUs that did not decode, listed by ListUndecoded so that
-- they are reported rather than only kept.
CREATE INDEX inbound_parts_undecoded ON inbound_parts(id) WHERE decode_error IS NOT NULL;

-- 0002: indexes for Prune, so that removing old history reads only what it
-- removes, however large the history has grown.
CREATE INDEX messages_final ON messages(updated_at)
	WHERE status IN ('sent', 'delivered', 'failed', 'expired', 'cancelled');
CREATE INDEX webhook_final ON webhook_deliveries(updated_at) WHERE state IN ('delivered', 'dead');
CREATE INDEX inbound_parts_received ON inbound_parts(received_at);
CREATE INDEX inbound_groups_done ON inbound_groups(first_at) WHERE state = 'done';
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

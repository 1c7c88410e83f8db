-- 0008: what a webhook delivery is about (one message's status changes,
-- one modem's states), so that an endpoint gets a subject's events in the
-- order they happened: a delivery waits while an earlier one of its
-- subject is pending. NULL (deliveries queued before this version) orders
-- with nothing.
ALTER TABLE webhook_deliveries ADD COLUMN subject TEXT;
CREATE INDEX webhook_subject ON webhook_deliveries(endpoint, subject, id) WHERE state = 'pending';

package queue

// The package's SQL. Every statement that reads rows by a condition is
// listed in queryPlans, and a test checks with EXPLAIN QUERY PLAN that none
// scans a table or sorts in a temporary b-tree.
//
// In the claim, "+due_at" keeps the planner from answering "due_at <= ?"
// with messages_due and then sorting every due message by priority (the
// test caught that).
const (
	qInsertMessage = `INSERT INTO messages (to_number, body, encoding, parts, priority, flash, report, modem,
	status, send_at, due_at, expires_at, idem_key, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`
	qInsertEvent = `INSERT INTO message_events (message_id, status, at, detail) VALUES (?, ?, ?, ?)`
	// A delivery queued while an earlier one of its subject to the same
	// endpoint is pending waits (next_attempt_at ?5, webhookBlocked);
	// otherwise it is due now (?6). One statement, not a look and an
	// insert: it runs for every event.
	qInsertWebhook = `INSERT INTO webhook_deliveries (endpoint, event, payload, subject, state, next_attempt_at, created_at, updated_at)
	SELECT ?1, ?2, ?3, ?4, 'pending', CASE WHEN ?4 IS NOT NULL AND EXISTS (SELECT 1 FROM webhook_deliveries
		WHERE endpoint = ?1 AND subject = ?4 AND state = 'pending') THEN ?5 ELSE ?6 END, ?6, ?6
	RETURNING next_attempt_at`

	qIdemGet      = `SELECT body_hash FROM idempotency_keys WHERE key = ?`
	qIdemInsert   = `INSERT INTO idempotency_keys (key, body_hash, created_at) VALUES (?, ?, ?)`
	qIdemMessages = `SELECT ` + messageColumns + ` FROM messages WHERE idem_key = ? ORDER BY id`

	qGetMessage    = `SELECT ` + messageColumns + ` FROM messages WHERE id = ?`
	qGetEvents     = `SELECT status, at, detail FROM message_events WHERE message_id = ? ORDER BY id`
	qGetParts      = `SELECT seq, ref, modem, sent_at, report_outcome, report_status, reported_at FROM message_parts WHERE message_id = ? ORDER BY seq`
	qListAll       = `SELECT ` + messageColumns + ` FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`
	qListStatus    = `SELECT ` + messageColumns + ` FROM messages WHERE status = ? AND id < ? ORDER BY id DESC LIMIT ?`
	qListTo        = `SELECT ` + messageColumns + ` FROM messages WHERE to_number = ? AND id < ? ORDER BY id DESC LIMIT ?`
	qListToStat    = `SELECT ` + messageColumns + ` FROM messages WHERE to_number = ? AND status = ? AND id < ? ORDER BY id DESC LIMIT ?`
	qLeaseCheck    = `SELECT status, claimed_by, attempts, parts, to_number FROM messages WHERE id = ?`
	qClaimable     = `SELECT ` + messageColumns + ` FROM messages WHERE status = 'queued' AND +due_at <= ? AND (modem IS NULL OR modem = ?) AND (expires_at IS NULL OR expires_at > ?)`
	qClaimOrder    = ` ORDER BY priority DESC, id LIMIT ?`
	qClaimUpdate   = `UPDATE messages SET status = 'sending', claimed_by = ?, lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`
	qLeaseExpired  = `SELECT id FROM messages WHERE status = 'sending' AND lease_until < ?`
	qAllSending    = `SELECT id FROM messages WHERE status = 'sending'`
	qExpireDue     = `SELECT id FROM messages WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?`
	qSetExpired    = `UPDATE messages SET status = 'expired', error_code = ?, error_message = ?, lease_until = NULL, updated_at = ? WHERE id = ?`
	qInsertPart    = `INSERT INTO message_parts (message_id, seq, modem, ref, recipient, sent_at) VALUES (?, ?, ?, ?, ?, ?)`
	qSetSent       = `UPDATE messages SET status = 'sent', sent_at = ?, lease_until = NULL, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?`
	qRenew         = `UPDATE messages SET lease_until = ?, updated_at = ? WHERE id = ?`
	qRequeue       = `UPDATE messages SET status = 'queued', due_at = ?, lease_until = NULL, modem = ?, attempts = attempts + ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?`
	qSetFailed     = `UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, lease_until = NULL, updated_at = ? WHERE id = ?`
	qSetCancelled  = `UPDATE messages SET status = 'cancelled', updated_at = ? WHERE id = ?`
	qModemOf       = `SELECT modem FROM messages WHERE id = ?`
	qInterruptInfo = `SELECT parts, attempts, claimed_by FROM messages WHERE id = ?`
	qNextDue       = `SELECT due_at FROM messages WHERE status = 'queued' AND due_at > ? AND (modem IS NULL OR modem = ?)`
	qNextDueOrder  = ` ORDER BY due_at LIMIT 1`
	// When time alone next changes something: a queued message's validity
	// ends, a claim's lease runs out, an incomplete multipart message is due
	// for release (its first part's time plus the reassembly timeout).
	qNextDeadline = `SELECT
	(SELECT min(expires_at) FROM messages WHERE status = 'queued' AND expires_at IS NOT NULL),
	(SELECT min(lease_until) FROM messages WHERE status = 'sending'),
	(SELECT min(first_at) FROM inbound_groups WHERE state = 'open')`
	qStatusOf = `SELECT status FROM messages WHERE id = ?`
	qSentSeqs = `SELECT seq FROM message_parts WHERE message_id = ? ORDER BY seq`

	qReportCandidates = `SELECT message_id, seq, recipient FROM message_parts WHERE modem = ? AND ref = ? AND sent_at >= ? ORDER BY sent_at DESC`
	qReportSet        = `UPDATE message_parts SET report_status = ?, report_outcome = ?, reported_at = ? WHERE message_id = ? AND seq = ?`
	qDeliveredParts   = `SELECT count(*) FROM message_parts WHERE message_id = ? AND report_outcome = 'delivered'`
	qSetDelivered     = `UPDATE messages SET status = 'delivered', delivered_at = ?, updated_at = ? WHERE id = ?`
	qHoldReport       = `INSERT INTO held_reports (modem, ref, recipient, status, outcome, discharge, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qHeldFor          = `SELECT id, recipient, status, outcome, discharge FROM held_reports WHERE modem = ? AND ref = ? AND received_at >= ? ORDER BY received_at`
	qDeleteHeld       = `DELETE FROM held_reports WHERE id = ?`
	qPruneHeldIDs     = `SELECT id FROM held_reports WHERE received_at < ? LIMIT ?`
	qReportMessage    = `SELECT status, parts FROM messages WHERE id = ?`

	qDedupe          = `SELECT id, storage, slot, pdu, received_at FROM inbound_parts WHERE modem = ? AND pdu_hash = ?`
	qInsertInPart    = `INSERT INTO inbound_parts (modem, storage, slot, pdu, pdu_hash, received_at, decode_error) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qOpenGroup       = `SELECT id, first_at FROM inbound_groups WHERE modem = ? AND sender = ? AND ref = ? AND total = ? AND state = 'open'`
	qInsertGroup     = `INSERT INTO inbound_groups (modem, sender, ref, total, first_at, state) VALUES (?, ?, ?, ?, ?, 'open')`
	qPartGroup       = `UPDATE inbound_parts SET group_id = ? WHERE id = ?`
	qGroupParts      = `SELECT id, pdu, received_at FROM inbound_parts WHERE group_id = ? ORDER BY id`
	qCloseGroup      = `UPDATE inbound_groups SET state = 'done', inbox_id = ? WHERE id = ?`
	qStaleGroups     = `SELECT id, modem FROM inbound_groups WHERE state = 'open' AND first_at <= ?`
	qInsertInbox     = `INSERT INTO inbox (modem, sender, body, data, encoding, class, parts, incomplete, missing, sent_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qPartInbox       = `UPDATE inbound_parts SET inbox_id = ? WHERE id = ?`
	qGroupPartsInbox = `UPDATE inbound_parts SET inbox_id = ? WHERE group_id = ?`
	qGetInbox        = `SELECT ` + inboxColumns + ` FROM inbox WHERE id = ?`
	qDeleteInbox     = `DELETE FROM inbox WHERE id = ?`
	qInboxAll        = `SELECT ` + inboxColumns + ` FROM inbox WHERE id > ? ORDER BY id LIMIT ?`
	qInboxFrom       = `SELECT ` + inboxColumns + ` FROM inbox WHERE sender = ? AND id > ? ORDER BY id LIMIT ?`
	qInboxSinceID    = `SELECT id FROM inbox WHERE received_at >= ? ORDER BY received_at LIMIT 1`

	qPruneMessageIDs = `SELECT id FROM messages WHERE status IN ('sent', 'delivered', 'failed', 'expired', 'cancelled') AND updated_at < ? LIMIT ?`
	qDeleteMessage   = `DELETE FROM messages WHERE id = ?`
	qPruneWebhookIDs = `SELECT id FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND updated_at < ? LIMIT ?`
	qDeleteWebhook   = `DELETE FROM webhook_deliveries WHERE id = ?`
	qPrunePartIDs    = `SELECT id FROM inbound_parts WHERE acked_at < ? AND (inbox_id IS NOT NULL OR decode_error IS NOT NULL) LIMIT ?`
	qDeleteInPart    = `DELETE FROM inbound_parts WHERE id = ?`
	qPruneGroupIDs   = `SELECT id FROM inbound_groups g WHERE state = 'done' AND first_at < ? AND NOT EXISTS (SELECT 1 FROM inbound_parts p WHERE p.group_id = g.id) LIMIT ?`
	qDeleteGroup     = `DELETE FROM inbound_groups WHERE id = ?`
	qPruneKeyIDs     = `SELECT key FROM idempotency_keys k WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.idem_key = k.key) LIMIT ?`
	qDeleteKey       = `DELETE FROM idempotency_keys WHERE key = ?`

	// A delivery queued while an earlier one of its subject to the same
	// endpoint is pending waits with next_attempt_at = webhookBlocked
	// (qInsertWebhook), until that one is delivered or dead
	// (qWebhookUnblock): one message's events reach an endpoint in order,
	// and claiming reads only what is due.
	qWebhookDue     = `SELECT ` + webhookColumns + ` FROM webhook_deliveries WHERE endpoint = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`
	qWebhookNext    = `SELECT next_attempt_at FROM webhook_deliveries WHERE endpoint = ? AND state = 'pending' AND next_attempt_at < ? ORDER BY next_attempt_at LIMIT 1`
	qWebhookUnblock = `UPDATE webhook_deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = (SELECT id FROM webhook_deliveries
	WHERE endpoint = ? AND subject = ? AND state = 'pending' ORDER BY id LIMIT 1) AND next_attempt_at = ?`
	qWebhookClaim   = `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ? WHERE id = ?`
	qWebhookGet     = `SELECT ` + webhookColumns + ` FROM webhook_deliveries WHERE id = ?`
	qWebhookDone    = `UPDATE webhook_deliveries SET state = 'delivered', updated_at = ? WHERE id = ? AND state = 'pending' RETURNING endpoint, subject`
	qWebhookRetry   = `UPDATE webhook_deliveries SET next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`
	qWebhookDead    = `UPDATE webhook_deliveries SET state = 'dead', last_error = ?, updated_at = ? WHERE id = ? RETURNING endpoint, subject`
	qWebhookRelease = `UPDATE webhook_deliveries SET attempts = max(attempts - 1, 0), next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'pending'`
	qWebhookRevive  = `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'`
	qWebhookByState = `SELECT ` + webhookColumns + ` FROM webhook_deliveries WHERE state = ? AND id > ? ORDER BY id LIMIT ?`
)

// The event log (events.go).
const (
	qLastEventID   = `SELECT coalesce(max(id), 0) FROM events`
	qInsertLogged  = `INSERT INTO events (id, type, subject, created_at, body) VALUES (?, ?, ?, ?, ?)`
	qModemStateOf  = `SELECT state FROM modem_states WHERE modem = ?`
	qSetModemState = `INSERT INTO modem_states (modem, state, at) VALUES (?, ?, ?)
		ON CONFLICT (modem) DO UPDATE SET state = excluded.state, at = excluded.at`
	qEventsAfter = `SELECT id, type, subject, created_at, body FROM events WHERE id > ?`
	qEventsOrder = ` ORDER BY id LIMIT ?`
	// The oldest ids first (ids follow commit time), at most a batch read,
	// the newest event kept: it is where the next id comes from.
	qPruneEventIDs = `SELECT id FROM (SELECT id, created_at FROM events ORDER BY id LIMIT ?2)
		WHERE created_at < ?1 AND id < (SELECT max(id) FROM events)`
	qDeleteEvent = `DELETE FROM events WHERE id = ?`
)

// queryPlans are the reading statements the EXPLAIN QUERY PLAN test checks.
var queryPlans = map[string]string{
	"idemGet": qIdemGet, "idemMessages": qIdemMessages,
	"getMessage": qGetMessage, "getEvents": qGetEvents, "getParts": qGetParts,
	"listAll": qListAll, "listStatus": qListStatus, "listTo": qListTo, "listToStatus": qListToStat,
	"leaseCheck": qLeaseCheck, "claim": qClaimable + qClaimOrder, "leaseExpired": qLeaseExpired,
	"claimPrefixes": qClaimable + " AND (substr(to_number, 1, ?) = ? OR substr(to_number, 1, ?) = ?)" + qClaimOrder,
	"claimPeers":    qClaimable + claimPeersExample + qClaimOrder,
	"allSending":    qAllSending, "expireDue": qExpireDue, "sentSeqs": qSentSeqs,
	"reportCandidates": qReportCandidates, "deliveredParts": qDeliveredParts, "reportMessage": qReportMessage,
	"dedupe": qDedupe, "openGroup": qOpenGroup, "groupParts": qGroupParts, "staleGroups": qStaleGroups,
	"getInbox": qGetInbox, "inboxAll": qInboxAll, "inboxFrom": qInboxFrom, "inboxSinceID": qInboxSinceID,
	"groupPartsInbox": qGroupPartsInbox, "deleteInbox": qDeleteInbox,
	"webhookDue": qWebhookDue, "webhookNext": qWebhookNext, "insertWebhook": qInsertWebhook, "webhookGet": qWebhookGet, "webhookByState": qWebhookByState,
	"statusOf":      qStatusOf,
	"nextDue":       qNextDue + qNextDueOrder,
	"nextDeadline":  qNextDeadline,
	"pruneMessages": qPruneMessageIDs, "pruneWebhooks": qPruneWebhookIDs, "pruneParts": qPrunePartIDs,
	"pruneGroups": qPruneGroupIDs, "pruneKeys": qPruneKeyIDs, "heldFor": qHeldFor, "pruneHeld": qPruneHeldIDs,
	"deleteMessage": qDeleteMessage, "deleteWebhook": qDeleteWebhook, "deleteInPart": qDeleteInPart,
	"deleteGroup": qDeleteGroup, "deleteKey": qDeleteKey,
	"modemStateOf": qModemStateOf, "eventsAfter": qEventsAfter + qEventsOrder,
	"eventsAfterTypes": qEventsAfter + " AND type IN (?, ?)" + qEventsOrder,
	"deleteEvent":      qDeleteEvent, // pruneEvents scans by id, at most a batch
}

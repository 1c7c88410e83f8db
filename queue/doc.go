// Package queue is bridged's durable store: the outbox of messages to send,
// the inbox of received ones, delivery reports and webhook deliveries, in one
// SQLite database.
//
// # Durability
//
// Every write returns only after its transaction has committed with
// journal_mode=WAL and synchronous=FULL, so a message the API answered for,
// or a part the modem is then allowed to delete, survives a crash or a power
// cut. (With WAL, NORMAL would skip the fsync at commit and could lose the
// last transactions on power loss.) The cost of an fsync per commit (5-20 ms
// on a Raspberry Pi's SD card) is shared: one writer goroutine commits every
// write waiting at that moment in one transaction (group commit), each
// write under its own savepoint so that one failing write does not undo the
// others. Reads use a separate pool of read-only connections; WAL lets them
// run while the writer commits. Other pragmas: busy_timeout (another process
// such as the sqlite3 shell may hold a lock for a moment), foreign_keys=on,
// and BEGIN IMMEDIATE for writes. The schema is created and upgraded by
// migrations embedded in the binary (PRAGMA user_version); a database from a
// newer bridged is refused with ErrSchemaTooNew.
//
// # Outbox
//
// Enqueue stores messages (recipient, text, priority, not-before time,
// validity, flash, delivery report wanted, modem restriction), recording the
// encoding and number of parts pdu.Estimate gives with Options.Encoding,
// the one encoding policy the API and the dispatcher are given too, so that
// those are the parts the API answers with and the dispatcher sends. A
// failure a user sees carries one of the codes of failure.go (Error,
// CodeExpired, ...). An idempotency key makes a
// repeated request return the original messages; the same key with another
// body is ErrIdempotencyConflict. A dispatcher Claims due messages for a
// modem under a lease (higher priority first, then older first), records each
// part with PartSent as +CMGS answers it, and ends the claim with Retry
// (exponential backoff with jitter, failed after Options.MaxAttempts), Fail or
// Release. A message is sent when its last part is confirmed. Cancel works
// only while a message is queued. Every status change is appended to the
// message's history (Event) in the same transaction, and logged at Info
// (Options.Logger) once committed.
//
// A dispatcher never polls: Subscribe gives a channel that receives a value
// after every commit that made a message claimable, and NextDue says when
// the next not-yet-due message (not-before time, retry backoff) falls due.
// An idle dispatcher Parks its claim: the commit that makes a message
// claimable claims it in the same transaction, so that the send begins
// without a commit (an fsync) of its own.
// CheckWritable, for /healthz, commits a real write at most once per
// Options.WriteCheckInterval and serves its answer in between.
//
// # Interrupted sends
//
// A message found in StatusSending at Open, or whose lease expired, was
// interrupted mid-send. Parts confirmed by PartSent are never sent again. The
// first unconfirmed part may have been on the air (so also when the modem
// disconnected mid-send, which the dispatcher reports with Interrupted at
// once); Options.Interrupted decides: RetryInterrupted (the default) queues the message again, so that
// part is sent again and the recipient may see it twice; FailInterrupted
// fails the message with CodeMayHaveBeenSent. A message is never dropped nor
// left in sending. A message of which some parts were sent is kept on the
// same modem, since a phone joins parts only from one sender number, and
// ConcatRef stays the same across attempts.
//
// # Delivery reports
//
// Report matches a status report to the most recently sent part with the
// same modem, message reference and recipient (compared by digits, so
// "+447700900123" matches "07700900123") sent within Options.ReportWindow:
// references wrap at 256, so an old part must stop matching. A message is
// delivered when all its parts are reported delivered, failed when one is
// reported failed; a pending report leaves it sent. A failed report that
// arrives while parts are still to be sent is recorded on its part only:
// the worker keeps its lease and sends the rest (a message that started
// always goes out whole), and the message fails with CodeDeliveryFailed,
// naming the failed parts, when its last part is recorded. Reported parts
// are confirmed parts, so a retry never sends them again. A report that matches
// no part is held for Options.ReportHold and applied by PartSent if its
// part is recorded meanwhile: on a fast network +CDS can arrive before the
// dispatcher's PartSent has committed.
//
// # Inbox
//
// Receive stores each received part (a pdu.Received, decoded once by the
// modem driver and not again here), raw PDU included, and returns only after
// the commit: the modem driver deletes (+CMGD) or acknowledges (+CNMA) the
// part after that. The dedupe key is (modem, raw PDU, place): the same PDU
// from the same storage slot is one part (read again after a crash between
// commit and delete), and so is the same PDU by direct +CMT within
// Options.RedeliveryWindow (the network redelivers when the acknowledgement
// came late). The raw PDU carries the service-centre time stamp, so two
// identical texts sent at different moments are two messages, and the same
// PDU in two slots at once is kept twice. Multipart messages are joined with
// pdu.Reassemble when the last part arrives, in any order, per (modem,
// sender, reference, total); ReleaseIncomplete delivers what has waited
// longer than Options.ReassemblyTimeout, marked incomplete. A PDU that does
// not decode is stored raw, with the reason in its DecodeErr, so that the
// modem may delete it.
//
// # Events
//
// Every message status change, every message that reaches the inbox and
// every modem state change the dispatcher reports (ModemState, logged only
// when the state differs from the last one logged for that modem) is
// appended to a durable event log in the transaction of the change it
// reports (events.go): a change and its event are both stored or neither.
// An event's body is {"id", "type", "created_at", "data"}, data being the
// object as the API shows it at that moment, rendered by Options.Views.
// Ids grow in commit order and are never reused (Prune keeps the newest
// event, from which the next id is counted), so that a
// follower resumes with EventsAfter its last id; SubscribeEvents wakes it
// after each commit that wrote an event, and LastEventID says where "from
// now on" starts.
//
// # Webhooks
//
// With Options.WebhookEndpoints set, each event's body also queues one
// delivery per endpoint whose filter takes it, in the same transaction (a
// transactional outbox). SettleWebhooks drives them (it records a round's
// answers and claims the next, in one write), SubscribeWebhooks and
// WebhookSeq tell a sender when to claim; after the endpoint's MaxAttempts
// failures a delivery is dead, and RequeueWebhook makes it pending again.
// A delivery is claimed only once every earlier one of its subject (one
// message's status changes) to that endpoint is delivered or dead.
//
// # Retention
//
// Prune removes, in small batches, final messages last changed before a
// time (with their history and parts), events logged before it, delivered
// and dead webhook deliveries, raw inbound parts already in the inbox that the modem deleted
// (Acked) before that time, and idempotency keys whose messages are gone.
// A part still on a modem is never pruned, so reading it again is always
// recognised as a duplicate. Inbox messages stay until the application
// deletes them. The database uses auto_vacuum=INCREMENTAL (Open converts an
// older file once, with a VACUUM), and Prune ends by giving the freed pages
// back in 1 MiB steps, so the file shrinks. The daemon decides when to call
// it and with what age (PruneOlder).
//
// # One process per database
//
// Open holds an exclusive flock on the file LockPath(path) beside the
// database until Close; a second Open, in any process, fails with an
// InUseError naming the holder's pid. flock ends with its process, so a
// lock file left by a crash is no lock. Other programs may still read the
// database: the lock is bridged's, not SQLite's.
//
// # Listing
//
// List (newest first) and ListInbox (oldest first, a feed to poll) page with
// opaque cursors. Every query is served by an index; a test checks the plans.
//
// # Choices where the issue is silent
//
//   - Ids are int64, growing in insertion order. Times are stored as UTC
//     nanoseconds since the epoch and returned in UTC.
//   - Idempotency keys are global to the store and kept as long as the
//     messages; an HTTP layer with several clients prefixes keys with the
//     client. The body compared is every field of every NewMessage, in order.
//   - Enqueue of several messages (one request, several recipients) is one
//     write: all are stored or none.
//   - A message's Modem, when set, is a restriction, not a preference. Prefix
//     routing is a claim filter: the dispatcher passes the claiming modem's
//     routes and the other modems that can send now, and ClaimRequest's one
//     rule decides what the modem may take (failover included).
//   - Retry backoff: attempt n waits between half and all of
//     min(BackoffBase*2^(n-1), BackoffMax), 10 s and 30 min by default; 8
//     claims at most. Release (a modem going down before sending) does not
//     count as an attempt; an interrupted send does.
//   - Expiry ends only queued messages; a message being sent is the worker's
//     to finish (the network gets the rest of the validity as TP-VP).
//   - Delivery reports: window 72 h, hold 10 min; a report still unmatched
//     after the hold is dropped by Prune. A failed report fails a message
//     even if other parts were delivered (the recipient cannot read half a
//     message).
//   - Inbox: redelivery window 10 min, reassembly timeout 24 h. A part whose
//     sequence number is already in an open group with a different text
//     starts a new message (the sender reused the reference) and releases
//     the old one incomplete. Deleting an inbox message keeps its raw parts
//     for dedupe.
//   - List pages newest first; ListInbox pages oldest first and always
//     returns a cursor to poll from.
//   - Webhook payloads are event bodies; a receiver dedupes on the
//     event's id. One subject's deliveries to an endpoint are in order,
//     whatever the retries; different subjects' are not ordered with each
//     other, and a dead delivery replayed comes after the later events of
//     its subject that went on meanwhile.
//
// # SQLite only
//
// SQLite is the only backend: the SQL is written in its form and sent as
// written. Callers use the concrete *Store (or their own small interfaces
// over it, defined where they are used), and nothing SQLite-specific
// appears in its API. What a second backend (PostgreSQL, for several nodes
// sharing one outbox) would have to replace is in few places: sqlite.go
// (driver, connection string, pragmas), migrate.go (PRAGMA user_version),
// errors.go (storageError), the inserts that read LastInsertId, and one rule:
// Open recovers every message in sending because one SQLite file has one
// bridged.
//
// # Files
//
// A message out goes through enqueue.go (Enqueue, Cancel), claim.go
// (Claim and its routing rule), park.go (a claim run in the commit that
// queues), lease.go (PartSent, Retry, Release, Fail),
// expire.go (Interrupted, lease and validity expiry, recovery at Open) and
// is read back through list.go (Get, List); failure.go has its error
// codes. An SMS in goes through receive.go (Receive, dedupe, reassembly,
// Acked), inbox.go (ListInbox, GetInbox, DeleteInbox) and reports.go
// (delivery reports). events.go is the event log, webhook.go the webhook
// outbox. options.go holds Options and their defaults, store.go Open and
// the group commit writer, wtx.go what every write shares, queries.go the
// SQL.
package queue

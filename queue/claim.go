package queue

// Claiming: which due messages a modem may take now (the routing rule on
// ClaimRequest), under a lease.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ClaimRequest asks for due messages for one modem.
//
// Routing is decided here, from the claiming modem's routes and the other
// modems that can send now (Peers), by one rule. A modem is allowed to send
// a message that is not restricted to another modem when it has a route
// (prefix) matching the recipient, when it has no routes at all, or when no
// modem that can send now has a matching route. Among the allowed, a
// message routed to a peer is left to that peer, so that routes are
// preferences, with one exception: once the message's last attempt failed
// on that peer, a modem without routes may take it (failover). A modem
// leaves its own failed attempts to a peer allowed to send them, so that a
// transient error is retried elsewhere when there is an elsewhere. A
// message pinned to one modem (by the caller, or by parts already sent:
// a phone joins parts only from one sender) goes to that modem only.
type ClaimRequest struct {
	// Modem is the claiming modem's id; messages restricted to another
	// modem are not claimed.
	Modem string
	// Limit is the most messages to claim; 0 means 1.
	Limit int
	// Lease is how long the claim lasts without a PartSent; after
	// that the message is recovered like an interrupted send. It must
	// exceed the modem's send timeout.
	Lease time.Duration
	// Routes are the claiming modem's recipient prefixes ("+44"); none
	// means it sends anything.
	Routes []string
	// Prefixes, when not empty, limits the claim to recipients starting
	// with one of them: a modem with routes asks for those first.
	Prefixes []string
	// Peers are the other modems that can send now, with their routes.
	// A modem that cannot send now (not ready, or waiting for its rate
	// limit) is not a peer: it holds nothing back.
	Peers []Peer
	// After is for NextDue only: the time of the claim that found nothing,
	// so that a message falling due between that claim and NextDue is
	// reported too instead of waiting for the next wake. Zero means now.
	After time.Time
}

// Peer is another modem that can send now, and its routes.
type Peer struct {
	Modem  string
	Routes []string
}

// Claim moves up to req.Limit due messages (queued, not-before time and
// retry time passed, not expired, routable to req.Modem) to StatusSending
// under a lease and returns them, highest priority first, then oldest. With
// several requests it runs them in turn, in one write, until one claims
// something (a modem with routes asks for its own recipients first). In
// the same transaction it recovers claims whose lease expired (by
// Options.Interrupted) and expires queued messages past their validity.
func (s *Store) Claim(ctx context.Context, reqs ...ClaimRequest) ([]*Message, error) {
	reqs, err := checkClaims(reqs)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	var out []*Message
	err = s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.claimFirstOf(reqs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// checkClaims returns reqs checked and defaulted as every claim takes them
// (a modem and a lease required, Limit at least 1), in a copy of its own.
func checkClaims(reqs []ClaimRequest) ([]ClaimRequest, error) {
	if len(reqs) == 0 {
		return nil, fmt.Errorf("no claim: %w", ErrInvalid)
	}
	reqs = slices.Clone(reqs)
	for i := range reqs {
		if reqs[i].Modem == "" || reqs[i].Lease <= 0 {
			return nil, fmt.Errorf("modem and lease are required: %w", ErrInvalid)
		}
		reqs[i].Limit = max(reqs[i].Limit, 1)
	}
	return reqs, nil
}

// claimFirstOf is Claim's work inside a write, for writes that claim
// beside something else in the same transaction: reqs in turn until one
// claims something. reqs are checked (checkClaims).
func (w *wtx) claimFirstOf(reqs []ClaimRequest) ([]*Message, error) {
	for _, req := range reqs {
		if ms, err := w.claim(req); err != nil || len(ms) > 0 {
			return ms, err
		}
	}
	return nil, nil
}

// claim is one request's claim inside a write.
func (w *wtx) claim(req ClaimRequest) ([]*Message, error) {
	if _, err := w.timedOut(); err != nil {
		return nil, err
	}
	filter, prefixArgs := claimFilter(req)
	args := append([]any{nanos(w.now), req.Modem, nanos(w.now)}, prefixArgs...)
	args = append(args, req.Limit)
	rows, err := w.Query(qClaimable+filter+qClaimOrder, args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, err
	}
	until := w.now.Add(req.Lease)
	for _, m := range out {
		if _, err := w.Exec(qClaimUpdate, req.Modem, nanos(until), nanos(w.now), m.ID); err != nil {
			return nil, err
		}
		m.Status, m.ClaimedBy, m.UpdatedAt = StatusSending, req.Modem, w.now
		m.Attempts++
		m.Lease = &Lease{ID: m.ID, Modem: req.Modem, Attempt: m.Attempts, Until: until, Duration: req.Lease}
		// Parts confirmed by an earlier attempt are never sent again.
		if m.SentParts, err = w.sentParts(m.ID); err != nil {
			return nil, err
		}
		if err := w.claimed(m, fmt.Sprintf("attempt %d on modem %s", m.Attempts, req.Modem)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// claimPeersExample is a claim filter with routes and peers of both kinds,
// for the query-plan test.
var claimPeersExample, _ = claimFilter(ClaimRequest{Modem: "a", Routes: []string{"+44"},
	Peers: []Peer{{Modem: "b", Routes: []string{"+86", "+852"}}, {Modem: "c"}}})

// claimFilter narrows the claimable messages to what req may take, by the
// rule on ClaimRequest.
func claimFilter(req ClaimRequest) (string, []any) {
	var (
		q    string
		args []any
	)
	// match is an SQL condition that holds for recipients starting with
	// one of prefixes; "" when there are none (it would never hold).
	match := func(prefixes []string) string {
		var or []string
		for _, p := range prefixes {
			or = append(or, "substr(to_number, 1, ?) = ?")
			args = append(args, len(p), p)
		}
		if len(or) == 0 {
			return ""
		}
		return "(" + strings.Join(or, " OR ") + ")"
	}
	if m := match(req.Prefixes); m != "" {
		q += " AND " + m
	}
	// A failed attempt on modem ? that another modem may now retry: only
	// messages that can go anywhere, not those pinned to one modem.
	const failedOn = "(modem IS NULL AND claimed_by = ? AND error_code IS NOT NULL)"
	var (
		peerRoutes []string
		general    bool // a peer without routes may send anything
	)
	for _, p := range req.Peers {
		peerRoutes = append(peerRoutes, p.Routes...)
		if len(p.Routes) == 0 {
			general = true
			continue
		}
		if len(req.Routes) == 0 {
			// Left to the peer the recipient is routed to, unless it just
			// failed there: this modem, without routes, may retry it.
			q += " AND NOT (modem IS NULL AND " + match(p.Routes) + " AND NOT " + failedOn + ")"
			args = append(args, p.Modem)
		}
	}
	if len(req.Routes) > 0 && len(peerRoutes) > 0 {
		// Left to the peers the recipient is routed to, unless it is one
		// of this modem's own routes too. One condition for all peers:
		// the exception does not depend on the peer.
		q += " AND NOT (modem IS NULL AND " + match(peerRoutes) + " AND NOT " + match(req.Routes) + ")"
	}
	switch {
	case general:
		// A peer without routes is allowed to send anything.
		q += " AND NOT " + failedOn
		args = append(args, req.Modem)
	case len(req.Peers) > 0:
		// A peer with routes is allowed to send what matches them, and
		// what matches no ready modem's route (neither this modem's nor
		// any peer's).
		// Without routes of its own, everything of this modem's is one or
		// the other.
		q += " AND NOT (" + failedOn
		args = append(args, req.Modem)
		if len(req.Routes) > 0 {
			q += " AND (" + match(peerRoutes) + " OR NOT " + match(req.Routes) + ")"
		}
		q += ")"
	}
	return q, args
}

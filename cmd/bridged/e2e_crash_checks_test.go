package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"bridged/internal/testutil"
	"bridged/pdu"
	"bridged/queue"
)

// The crash harness's checks: after each kill the database's integrity,
// and after each batch's drain what became of every message the clients
// were answered 202 for and of every SMS the network delivered.

// checkIntegrity runs PRAGMA integrity_check on the database while no
// daemon has it open.
func (w *crashWorld) checkIntegrity() {
	w.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+w.db+"?_busy_timeout=5000")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		w.t.Fatalf("integrity_check: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	if len(out) != 1 || out[0] != "ok" {
		w.t.Errorf("PRAGMA integrity_check after a kill: %v", out)
		return
	}
	w.checksOK++
}

var mayHaveBeenSentRE = regexp.MustCompile(`part (\d+) of \d+ may have been sent`)

// drain waits until every message is final and every report and inbound
// SMS is in, then checks everything against what the clients were told
// and what the network saw.
func (w *crashWorld) drain(d *daemon, tot *crashTotals) {
	t := w.t
	w.mu.Lock()
	reqs := make([]*crashRequest, 0, len(w.requests))
	for _, r := range w.requests {
		reqs = append(reqs, r)
	}
	injected := len(w.injected)
	w.mu.Unlock()
	slices.SortFunc(reqs, func(a, b *crashRequest) int { return int(a.id - b.id) })

	// Final: neither queued nor sending, and delivered when a report was
	// asked for and the network delivers. Polled as a client would. A
	// loaded machine drains a backlog slowly, so what fails is a drain that
	// stops: a minute without a message becoming final.
	final := map[int64]apiMessage{}
	const stall = time.Minute
	progress := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		var last apiMessage
		for _, r := range reqs {
			if _, ok := final[r.id]; ok {
				continue
			}
			var m apiMessage
			if code := d.do("GET", fmt.Sprintf("/v1/messages/%d", r.id), nil, &m); code != http.StatusOK {
				t.Fatalf("GET message %d: %d", r.id, code)
			}
			done := m.Status == "delivered" || m.Status == "failed" || m.Status == "sent" && !m.Report
			if done {
				final[r.id] = m
				progress = time.Now()
			} else {
				pending++
				last = m
			}
		}
		if pending == 0 {
			break
		}
		if time.Since(progress) > stall {
			// Not fatal: the inbox is still worth checking.
			var modems json.RawMessage
			d.do("GET", "/v1/modems", nil, &modems)
			t.Errorf("%d of %d messages not final (or delivered when a report was asked for), none became final for %v, e.g. %+v; modems: %s",
				pending, len(reqs), stall, last, modems)
			break
		}
		<-tick.C
	}

	// No message the clients were not answered for, and none twice.
	var listed []apiMessage
	for cursor := ""; ; {
		var page struct {
			Messages   []apiMessage `json:"messages"`
			NextCursor string       `json:"next_cursor"`
		}
		d.do("GET", "/v1/messages?limit=1000&cursor="+cursor, nil, &page)
		listed = append(listed, page.Messages...)
		if page.NextCursor == "" || len(page.Messages) == 0 {
			break
		}
		cursor = page.NextCursor
	}
	if len(listed) != len(reqs) {
		t.Errorf("the store has %d messages, the clients were answered 202 for %d", len(listed), len(reqs))
	}

	if err := w.syncSent(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	sent := append([]sentPart(nil), w.sent...)
	kills := append([]killMark(nil), w.killAt...)
	w.mu.Unlock()
	byTo := map[string][]sentPart{}
	for _, p := range sent {
		byTo[p.To] = append(byTo[p.To], p)
	}
	known := map[string]*crashRequest{}
	for _, r := range reqs {
		known[r.to] = r
	}
	for to, ps := range byTo {
		if known[to] == nil {
			t.Errorf("%d parts left the network to %s, for which no client was answered 202", len(ps), to)
		}
	}

	for _, r := range reqs {
		tot.accepted++
		tot.parts += r.parts
		m, ok := final[r.id]
		if !ok {
			continue // reported above
		}
		if m.To != r.to || m.Text != r.text || m.Parts != r.parts {
			t.Errorf("message %d is %q to %s in %d parts, the client posted %q to %s (%d parts)", r.id, m.Text, m.To, m.Parts, r.text, r.to, r.parts)
			continue
		}
		// How many times the policy allows each part out: once, plus once
		// for each interrupted send that named it as the part in flight.
		allowed := map[int]int{}
		for _, e := range m.Events {
			if sm := mayHaveBeenSentRE.FindStringSubmatch(e.Detail); sm != nil {
				n, _ := strconv.Atoi(sm[1])
				allowed[n]++
			}
		}
		copies := map[int][]sentPart{}
		for _, p := range byTo[r.to] {
			seq := 1
			if c := p.Message.Concat; c != nil {
				seq = c.Seq
			}
			copies[seq] = append(copies[seq], p)
		}
		tot.partsOnNetwork += len(byTo[r.to])
		switch {
		case m.Status == "failed" && m.Error != nil && m.Error.Code == "may_have_been_sent":
			// The policy's last word, but only after MaxAttempts claims:
			// a kill aimed at a send hits, after the restart, the very
			// message it interrupted, since the oldest goes first.
			tot.failedMaybeSent++
			if m.Attempts < queue.DefaultMaxAttempts {
				t.Errorf("message %d failed as may_have_been_sent after %d attempts, under retry = %d (events %+v)", r.id, m.Attempts, queue.DefaultMaxAttempts, m.Events)
			}
		case m.Status == "sent" || m.Status == "delivered":
			if m.Status == "delivered" {
				tot.delivered++
			}
			missing := false
			for seq := 1; seq <= r.parts; seq++ {
				if len(copies[seq]) == 0 {
					t.Errorf("message %d (%s) is %s, but its part %d of %d never left the network (events %+v)", r.id, r.to, m.Status, seq, r.parts, m.Events)
					missing = true
					tot.lost++
				}
			}
			if !missing && !phoneReads(copies, r.parts, r.text) {
				t.Errorf("message %d (%s): no sender sent all %d parts under one reference giving the posted text %q (events %+v)", r.id, r.to, r.parts, r.text, m.Events)
			}
		default:
			t.Errorf("message %d (%s) ended %s %+v; events %+v", r.id, r.to, m.Status, m.Error, m.Events)
		}
		for seq, cs := range copies {
			if seq < 1 || seq > r.parts {
				t.Errorf("message %d: part %d of %d left the network", r.id, seq, r.parts)
			}
			if extra := len(cs) - 1; extra > 0 {
				tot.duplicates += extra
				if extra > allowed[seq] {
					t.Errorf("message %d (%s): part %d left the network %d times, but only %d interrupted sends named it (events %+v)",
						r.id, r.to, seq, len(cs), allowed[seq], m.Events)
				}
				// The kill that caused it: the last one before the second copy.
				if km := killBefore(kills, cs[1].Time); km == killInSend {
					tot.dupByKillInSend += extra
				} else {
					tot.dupByOtherKill += extra
				}
			}
		}
	}

	// Every injected SMS in the inbox, once, whole.
	var inbox []struct {
		Text       string `json:"text"`
		Incomplete bool   `json:"incomplete"`
	}
	// Not fatal when it times out: the checks below say what is missing.
	testutil.UntilEvery(60*time.Second, 50*time.Millisecond, func() bool {
		inbox = inbox[:0]
		for cursor := ""; ; {
			var page struct {
				Messages []struct {
					Text       string `json:"text"`
					Incomplete bool   `json:"incomplete"`
				} `json:"messages"`
				NextCursor string `json:"next_cursor"`
			}
			d.do("GET", "/v1/inbox?limit=1000&cursor="+cursor, nil, &page)
			inbox = append(inbox, page.Messages...)
			if len(page.Messages) == 0 {
				break
			}
			cursor = page.NextCursor
		}
		return len(inbox) >= injected
	})
	seen := map[string]int{}
	for _, m := range inbox {
		seen[m.Text]++
		if m.Incomplete {
			t.Errorf("inbox: %q is incomplete", m.Text)
		}
	}
	w.mu.Lock()
	for text := range w.injected {
		if seen[text] != 1 {
			t.Errorf("inbox: %q is there %d times, want once", text, seen[text])
		}
	}
	for text, n := range seen {
		if w.injected[text] == 0 {
			t.Errorf("inbox: %q (%d times) was never injected", text, n)
		}
	}
	tot.injected += len(w.injected)
	tot.injectedParts += w.injParts
	tot.redundantReads += w.reread
	tot.unmatched += w.unmatched
	w.mu.Unlock()
	tot.stored += len(inbox)
	t.Logf("batch %d: kills %v; %d messages accepted, %d parts on the network; %d inbound injected, %d in the inbox",
		w.batch, w.killsBy, len(reqs), len(sent), injected, len(inbox))
}

// phoneReads says whether the recipient's phone can show text from the
// parts that reached it: a phone joins the parts of one sender with one
// reference, so one sender must have sent every part under one reference
// (a message no part of which was confirmed may move to another modem).
func phoneReads(copies map[int][]sentPart, parts int, text string) bool {
	type key struct {
		from string
		ref  int
	}
	groups := map[key]map[int]*pdu.Message{}
	for seq, cs := range copies {
		for _, c := range cs {
			k := key{from: c.From}
			if cc := c.Message.Concat; cc != nil {
				k.ref = cc.Ref
			}
			if groups[k] == nil {
				groups[k] = map[int]*pdu.Message{}
			}
			groups[k][seq] = c.Message
		}
	}
	for _, g := range groups {
		if len(g) != parts {
			continue
		}
		var ms []*pdu.Message
		for seq := 1; seq <= parts; seq++ {
			ms = append(ms, g[seq])
		}
		if r, err := pdu.Reassemble(ms); err == nil && r.Complete && r.Text == text {
			return true
		}
	}
	return false
}

// killBefore returns the mode of the last kill before t (the simulator
// runs on the same clock).
func killBefore(kills []killMark, t time.Time) string {
	mode := ""
	for _, k := range kills {
		if k.at.Before(t) {
			mode = k.mode
		}
	}
	return mode
}

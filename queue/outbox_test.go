package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bridged/pdu"
)

var ctx = context.Background()

func TestEnqueueRecordsEncodingPartsAndHistory(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	tests := []struct {
		name     string
		text     string
		encoding pdu.Encoding
		parts    int
	}{
		{"gsm7 single", "Hello €uro", pdu.GSM7, 1},
		{"gsm7 two parts", strings.Repeat("a", 161), pdu.GSM7, 2},
		{"ucs2 chinese three parts", strings.Repeat("短信", 100), pdu.UCS2, 3},
		{"emoji", "ok 👍", pdu.UCS2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: tt.text, Report: true, Flash: true})
			m := MustGet(t, s, ms[0].ID)
			if m.Encoding != tt.encoding || m.Parts != tt.parts {
				t.Errorf("encoding %s parts %d, want %s %d", m.Encoding, m.Parts, tt.encoding, tt.parts)
			}
			if m.Status != StatusQueued || m.Text != tt.text || !m.Report || !m.Flash || m.To != "+447700900123" {
				t.Errorf("stored %+v", m)
			}
			if !m.CreatedAt.Equal(clk.Now()) {
				t.Errorf("created %v, want %v", m.CreatedAt, clk.Now())
			}
			if len(m.Events) != 1 || m.Events[0].Status != StatusQueued || !m.Events[0].At.Equal(clk.Now()) {
				t.Errorf("events %+v", m.Events)
			}
		})
	}
}

func TestEnqueueRejects(t *testing.T) {
	s, _, _ := MustOpen(t, Options{Encoding: pdu.Options{MaxParts: 2}})
	tests := []struct {
		name string
		msg  NewMessage
		want error
	}{
		{"empty recipient", NewMessage{To: " ", Text: "x"}, ErrInvalid},
		{"empty text", NewMessage{To: "+1555", Text: ""}, pdu.ErrEmptyText},
		{"negative validity", NewMessage{To: "+1555", Text: "x", ValidFor: -time.Second}, ErrInvalid},
		{"unknown priority", NewMessage{To: "+1555", Text: "x", Priority: 7}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Enqueue(ctx, "", tt.msg); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("too many parts", func(t *testing.T) {
		_, err := s.Enqueue(ctx, "", NewMessage{To: "+1555", Text: strings.Repeat("a", 400)})
		var tm *pdu.TooManyPartsError
		if !errors.As(err, &tm) || tm.Needed != 3 || tm.Max != 2 {
			t.Fatalf("err %v, want TooManyPartsError 3 > 2", err)
		}
	})
	if p, _ := s.List(ctx, Filter{}); len(p.Messages) != 0 {
		t.Fatalf("rejected messages were stored: %d", len(p.Messages))
	}
}

func TestIdempotency(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	body := []NewMessage{{To: "+8613800138000", Text: "你好"}, {To: "+447700900123", Text: "你好"}}
	first, err := s.Enqueue(ctx, "key-1", body...)
	if err != nil || first.Replayed || len(first.Messages) != 2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	// A message changes state between the two requests: the replay shows
	// the original messages as they are now.
	if err := s.Cancel(ctx, first.Messages[1].ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Enqueue(ctx, "key-1", body...)
	if err != nil || !again.Replayed {
		t.Fatalf("replay: %+v %v", again, err)
	}
	if len(again.Messages) != 2 || again.Messages[0].ID != first.Messages[0].ID || again.Messages[1].ID != first.Messages[1].ID {
		t.Fatalf("replay returned other messages: %+v", again.Messages)
	}
	if again.Messages[1].Status != StatusCancelled {
		t.Errorf("replay status %s, want cancelled", again.Messages[1].Status)
	}
	changed := append([]NewMessage(nil), body...)
	changed[1].Text = "hello"
	if _, err := s.Enqueue(ctx, "key-1", changed...); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("different body: %v, want ErrIdempotencyConflict", err)
	}
	if _, err := s.Enqueue(ctx, "key-1", body[0]); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("subset of the body: %v, want ErrIdempotencyConflict", err)
	}
	if p, _ := s.List(ctx, Filter{}); len(p.Messages) != 2 {
		t.Fatalf("%d messages stored, want 2", len(p.Messages))
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	const n = 32
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Enqueue(ctx, "same", NewMessage{To: "+1555000111", Text: "once"})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- res.Messages[0].ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d distinct messages for one key, want 1", len(seen))
	}
}

func TestClaimOrderNotBeforeAndRouting(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	low1 := MustEnqueue(t, s, NewMessage{To: "+441", Text: "low 1"})[0]
	clk.Advance(time.Second)
	later := MustEnqueue(t, s, NewMessage{To: "+442", Text: "later", Priority: PriorityHigh, SendAt: clk.Now().Add(time.Hour)})[0]
	low2 := MustEnqueue(t, s, NewMessage{To: "+443", Text: "low 2"})[0]
	high := MustEnqueue(t, s, NewMessage{To: "+444", Text: "high", Priority: PriorityHigh})[0]
	onB := MustEnqueue(t, s, NewMessage{To: "+445", Text: "only b", Priority: PriorityHigh, Modem: "b"})[0]
	china := MustEnqueue(t, s, NewMessage{To: "+8613800138000", Text: "cn"})[0]

	got := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 10})
	want := []int64{high.ID, low1.ID, low2.ID, china.ID}
	if ids := idsOf(got); fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("claimed %v, want %v (high first, then oldest; not-before and modem b excluded)", ids, want)
	}
	for _, m := range got {
		if m.Status != StatusSending || m.Lease == nil || m.Lease.Attempt != 1 || m.Attempts != 1 || m.ClaimedBy != "a" {
			t.Errorf("claimed message %+v", m)
		}
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "b", Limit: 10, Prefixes: []string{"+86"}}); len(got) != 0 {
		t.Fatalf("prefix +86 claimed %v for b", idsOf(got))
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "b", Limit: 10}); fmt.Sprint(idsOf(got)) != fmt.Sprint([]int64{onB.ID}) {
		t.Fatalf("b claimed %v, want only %d", idsOf(got), onB.ID)
	}
	clk.Advance(time.Hour)
	if got := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(got) != 1 || got[0].ID != later.ID {
		t.Fatalf("after not-before: %v, want %d", idsOf(got), later.ID)
	}
}

func TestClaimPrefixRouting(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	uk := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "uk"})[0]
	cn := MustEnqueue(t, s, NewMessage{To: "+8613800138000", Text: "cn"})[0]
	got := MustClaim(t, s, ClaimRequest{Modem: "china", Limit: 5, Prefixes: []string{"+86", "+852"}})
	if len(got) != 1 || got[0].ID != cn.ID {
		t.Fatalf("claimed %v, want %d", idsOf(got), cn.ID)
	}
	got = MustClaim(t, s, ClaimRequest{Modem: "any", Limit: 5})
	if len(got) != 1 || got[0].ID != uk.ID {
		t.Fatalf("claimed %v, want %d", idsOf(got), uk.ID)
	}
}

func idsOf(ms []*Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestPartSentToSentAndHistory(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("x", 300)})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if m.Parts != 2 || fmt.Sprint(m.Pending()) != "[1 2]" {
		t.Fatalf("parts %d pending %v", m.Parts, m.Pending())
	}
	l := *m.Lease
	clk.Advance(time.Second)
	if err := s.PartSent(ctx, l, 1, 200); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, id); got.Status != StatusSending || len(got.SentParts) != 1 || got.SentParts[0].Ref != 200 {
		t.Fatalf("after part 1: %s %+v", got.Status, got.SentParts)
	}
	if err := s.PartSent(ctx, l, 1, 201); !errors.Is(err, ErrInvalid) {
		t.Fatalf("part 1 again: %v, want ErrInvalid", err)
	}
	if err := s.PartSent(ctx, l, 3, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("part 3 of 2: %v, want ErrInvalid", err)
	}
	if err := s.PartSent(ctx, l, 2, 201); err != nil {
		t.Fatal(err)
	}
	got := MustGet(t, s, id)
	if got.Status != StatusSent || got.SentAt == nil || !got.SentAt.Equal(clk.Now()) || got.Lease != nil {
		t.Fatalf("after part 2: %+v", got)
	}
	if want := "[queued sending sent]"; fmt.Sprint(statuses(got.Events)) != want {
		t.Fatalf("history %v, want %s", statuses(got.Events), want)
	}
	if err := s.PartSent(ctx, l, 2, 201); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("after sent: %v, want ErrLeaseLost", err)
	}
}

func statuses(es []Event) []Status {
	var out []Status
	for _, e := range es {
		out = append(out, e.Status)
	}
	return out
}

func TestLeaseExpiryReturnsClaim(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("x", 200)})[0].ID
	first := MustClaim(t, s, ClaimRequest{Modem: "a", Lease: time.Minute})[0]
	if got := MustClaim(t, s, ClaimRequest{Modem: "b"}); len(got) != 0 {
		t.Fatalf("claimed twice: %v", idsOf(got))
	}
	clk.Advance(59 * time.Second)
	if got := MustClaim(t, s, ClaimRequest{Modem: "b"}); len(got) != 0 {
		t.Fatalf("claimed before the lease ended: %v", idsOf(got))
	}
	// A part sent renews the claim past its first end.
	l := *first.Lease
	if err := s.PartSent(ctx, l, 1, 7); err != nil {
		t.Fatal(err)
	}
	// From here on only modem a may claim it (part 1 went out there), so
	// a's claims are the ones that would take a lease that ran out.
	clk.Advance(59 * time.Second)
	if got := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(got) != 0 {
		t.Fatalf("claimed a renewed lease: %v", idsOf(got))
	}
	clk.Advance(2 * time.Second)
	got := MustClaim(t, s, ClaimRequest{Modem: "a"})
	if len(got) != 1 || got[0].ID != id || got[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v", got)
	}
	if err := s.PartSent(ctx, l, 2, 8); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old worker: %v, want ErrLeaseLost", err)
	}
	if err := s.Retry(ctx, l, Error{Message: "x"}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old worker retry: %v, want ErrLeaseLost", err)
	}
	if err := s.PartSent(ctx, *got[0].Lease, 2, 8); err != nil {
		t.Fatal(err)
	}
	m := MustGet(t, s, id)
	if m.Status != StatusSent {
		t.Fatalf("status %s", m.Status)
	}
	if d := m.Events[2].Detail; m.Events[2].Status != StatusQueued || !strings.Contains(d, "lease expired") ||
		!strings.Contains(d, "part 2 of 2 may have been sent (parts 1 confirmed)") {
		t.Fatalf("recovery event %+v", m.Events[2])
	}
}

func TestRetryBackoffAndAttempts(t *testing.T) {
	var jitter time.Duration // what the injected jitter returns, capped by its range
	s, clk, _ := MustOpen(t, Options{
		MaxAttempts: 3, BackoffBase: 10 * time.Second, BackoffMax: time.Minute,
		Jitter: func(d time.Duration) time.Duration { return min(jitter, d-1) },
	})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "hi"})[0].ID
	steps := []struct {
		jitter  time.Duration
		wait    time.Duration // the backoff the rule gives for this attempt and jitter
		attempt int
	}{
		{0, 5 * time.Second, 1},          // 10 s: half, plus no jitter
		{time.Hour, 20 * time.Second, 2}, // 20 s: half plus all of the other half (less 1 ns)
	}
	for _, st := range steps {
		jitter = st.jitter
		m := MustClaim(t, s, ClaimRequest{Modem: "a"})
		if len(m) != 1 || m[0].Attempts != st.attempt {
			t.Fatalf("attempt %d: claimed %+v", st.attempt, m)
		}
		if err := s.Retry(ctx, *m[0].Lease, Error{Code: "cms_38", Message: "network out of order"}); err != nil {
			t.Fatal(err)
		}
		got := MustGet(t, s, id)
		want := clk.Now().Add(st.wait)
		if st.jitter > 0 {
			want = want.Add(-time.Nanosecond)
		}
		if got.Status != StatusQueued || !got.NextAttemptAt.Equal(want) || got.Error == nil || got.Error.Code != "cms_38" {
			t.Fatalf("after retry %d: %s next %v (want %v) error %+v", st.attempt, got.Status, got.NextAttemptAt, want, got.Error)
		}
		clk.Advance(st.wait - time.Second)
		if m := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(m) != 0 {
			t.Fatalf("claimed during backoff")
		}
		clk.Advance(time.Second)
	}
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})
	if len(m) != 1 || m[0].Attempts != 3 {
		t.Fatalf("third attempt: %+v", m)
	}
	if err := s.Retry(ctx, *m[0].Lease, Error{Code: "cms_38", Message: "network out of order"}); err != nil {
		t.Fatal(err)
	}
	got := MustGet(t, s, id)
	if got.Status != StatusFailed || got.Error == nil || !strings.Contains(got.Error.Message, "after 3 attempts") {
		t.Fatalf("after the last attempt: %s %+v", got.Status, got.Error)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	s := &Store{opts: Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second, Jitter: func(d time.Duration) time.Duration { return d - 1 }}}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		got := s.backoff(i + 1)
		if got != w-1 {
			t.Errorf("attempt %d: max backoff %v, want %v", i+1, got, w-1)
		}
	}
	s.opts.Jitter = func(time.Duration) time.Duration { return 0 }
	if got := s.backoff(100); got != 5*time.Second {
		t.Errorf("attempt 100, no jitter: %v, want 5s", got)
	}
}

func TestFailAndRelease(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	a := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "a"})[0].ID
	b := MustEnqueue(t, s, NewMessage{To: "+447700900124", Text: "b"})[0].ID
	ms := MustClaim(t, s, ClaimRequest{Modem: "m", Limit: 2})
	if err := s.Fail(ctx, *ms[0].Lease, Error{Code: "cms_1", Message: "unassigned number"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, *ms[1].Lease); err != nil {
		t.Fatal(err)
	}
	if m := MustGet(t, s, a); m.Status != StatusFailed || m.Error.Code != "cms_1" {
		t.Fatalf("failed: %+v", m)
	}
	m := MustGet(t, s, b)
	if m.Status != StatusQueued || m.Attempts != 0 {
		t.Fatalf("released: %s attempts %d, want queued 0", m.Status, m.Attempts)
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "other"}); len(got) != 1 || got[0].ID != b {
		t.Fatalf("released message not claimable elsewhere: %v", idsOf(got))
	}
}

func TestCancel(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	q := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "q"})[0].ID
	if err := s.Cancel(ctx, q); err != nil {
		t.Fatal(err)
	}
	if m := MustGet(t, s, q); m.Status != StatusCancelled || fmt.Sprint(statuses(m.Events)) != "[queued cancelled]" {
		t.Fatalf("cancelled: %s %v", m.Status, statuses(m.Events))
	}
	if got := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(got) != 0 {
		t.Fatal("claimed a cancelled message")
	}
	if err := s.Cancel(ctx, q); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancel twice: %v", err)
	}
	// Waiting for a retry is still queued, hence cancellable.
	r := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "r"})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.Retry(ctx, *m.Lease, Error{Message: "busy"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, r); err != nil {
		t.Fatalf("cancel during backoff: %v", err)
	}
	sending := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "s"})[0].ID
	clk.Advance(time.Hour)
	MustClaim(t, s, ClaimRequest{Modem: "a"})
	if err := s.Cancel(ctx, sending); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancel while sending: %v, want ErrNotCancellable", err)
	}
	if err := s.Cancel(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown: %v, want ErrNotFound", err)
	}
}

func TestExpiry(t *testing.T) {
	s, clk, _ := MustOpen(t, Options{})
	short := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "a", ValidFor: time.Hour, SendAt: clk.Now().Add(2 * time.Hour)})[0].ID
	other := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "b", ValidFor: time.Hour})[0].ID
	forever := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "c"})[0].ID
	clk.Advance(time.Hour)
	if n, err := s.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("expire: %d %v, want 2", n, err)
	}
	for _, id := range []int64{short, other} {
		if m := MustGet(t, s, id); m.Status != StatusExpired || m.Error == nil || m.Error.Code != CodeExpired {
			t.Fatalf("message %d: %s %+v", id, m.Status, m.Error)
		}
	}
	clk.Advance(2 * time.Hour)
	got := MustClaim(t, s, ClaimRequest{Modem: "a", Limit: 5})
	if len(got) != 1 || got[0].ID != forever {
		t.Fatalf("claimed %v, want only %d", idsOf(got), forever)
	}
	// Claim expires by itself too.
	late := MustEnqueue(t, s, NewMessage{To: "+1555", Text: "d", ValidFor: time.Minute})[0].ID
	clk.Advance(time.Minute)
	if got := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(got) != 0 {
		t.Fatalf("claimed an expired message")
	}
	if m := MustGet(t, s, late); m.Status != StatusExpired {
		t.Fatalf("status %s, want expired", m.Status)
	}
}

func TestInterruptedSendRetryPolicy(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: strings.Repeat("y", 400)})[0].ID
	idle := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "untouched"})[0].ID
	m := MustClaim(t, s, ClaimRequest{Modem: "a"})[0]
	if err := s.PartSent(ctx, *m.Lease, 1, 10); err != nil {
		t.Fatal(err)
	}
	// bridged stops here, with part 2 possibly on the air.
	s = MustReopen(t, s, path, Options{Now: clk.Now})
	got := MustGet(t, s, id)
	if got.Status != StatusQueued || got.Modem != "a" || fmt.Sprint(got.Pending()) != "[2 3]" {
		t.Fatalf("after restart: %s modem %q pending %v", got.Status, got.Modem, got.Pending())
	}
	last := got.Events[len(got.Events)-1]
	if !strings.Contains(last.Detail, "part 2 of 3 may have been sent") || !strings.Contains(last.Detail, "parts 1 confirmed") {
		t.Fatalf("event %+v", last)
	}
	if MustGet(t, s, idle).Status != StatusQueued {
		t.Fatal("untouched message changed")
	}
	// Parts already sent went out through modem a: only a may finish it.
	if c := MustClaim(t, s, ClaimRequest{Modem: "b", Limit: 5}); len(c) != 1 || c[0].ID != idle {
		t.Fatalf("b claimed %v, want only %d", idsOf(c), idle)
	}
	c := MustClaim(t, s, ClaimRequest{Modem: "a"})
	if len(c) != 1 || c[0].ID != id || fmt.Sprint(c[0].Pending()) != "[2 3]" || c[0].ConcatRef() != m.ConcatRef() {
		t.Fatalf("a claimed %+v", c)
	}
	for _, seq := range c[0].Pending() {
		if err := s.PartSent(ctx, *c[0].Lease, seq, 10+seq); err != nil {
			t.Fatal(err)
		}
	}
	if got := MustGet(t, s, id); got.Status != StatusSent || len(got.SentParts) != 3 {
		t.Fatalf("finished: %s %d parts", got.Status, len(got.SentParts))
	}
}

func TestInterruptedSendFailPolicy(t *testing.T) {
	s, clk, path := MustOpen(t, Options{})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "one part"})[0].ID
	MustClaim(t, s, ClaimRequest{Modem: "a"})
	s = MustReopen(t, s, path, Options{Now: clk.Now, Interrupted: FailInterrupted})
	got := MustGet(t, s, id)
	if got.Status != StatusFailed || got.Error == nil || got.Error.Code != CodeMayHaveBeenSent ||
		!strings.Contains(got.Error.Message, "part 1 of 1 may have been sent") {
		t.Fatalf("after restart: %s %+v", got.Status, got.Error)
	}
	p, err := s.List(ctx, Filter{Status: StatusSending})
	if err != nil || len(p.Messages) != 0 {
		t.Fatalf("left in sending: %d %v", len(p.Messages), err)
	}
}

func TestList(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	var all []int64
	for i := range 25 {
		to := "+1555000" + fmt.Sprint(i%2)
		all = append(all, MustEnqueue(t, s, NewMessage{To: to, Text: fmt.Sprint(i)})[0].ID)
	}
	for _, id := range all[:5] {
		if err := s.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(f Filter) []int64 {
		var ids []int64
		for {
			p, err := s.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, idsOf(p.Messages)...)
			if p.NextCursor == "" {
				return ids
			}
			f.Cursor = p.NextCursor
		}
	}
	got := walk(Filter{Limit: 10})
	if len(got) != 25 || got[0] != all[24] || got[24] != all[0] {
		t.Fatalf("all, newest first: %v", got)
	}
	if got := walk(Filter{Limit: 4, Status: StatusCancelled}); len(got) != 5 {
		t.Fatalf("cancelled: %v", got)
	}
	if got := walk(Filter{Limit: 3, To: "+15550001"}); len(got) != 12 {
		t.Fatalf("to +15550001: %d messages, want 12", len(got))
	}
	if got := walk(Filter{To: "+15550000", Status: StatusCancelled}); len(got) != 3 {
		t.Fatalf("to and status: %v", got)
	}
	if _, err := s.List(ctx, Filter{Cursor: "%%%"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := s.List(ctx, Filter{Status: "lost"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := s.Get(ctx, 12345); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

func TestInterruptedSendOutOfAttemptsFails(t *testing.T) {
	s, clk, path := MustOpen(t, Options{MaxAttempts: 2})
	id := MustEnqueue(t, s, NewMessage{To: "+447700900123", Text: "poison"})[0].ID
	// A message that takes bridged down every time it is sent must not
	// loop forever: the second interrupted attempt fails it.
	for attempt := 1; attempt <= 2; attempt++ {
		if c := MustClaim(t, s, ClaimRequest{Modem: "a"}); len(c) != 1 {
			t.Fatalf("attempt %d: claimed %d", attempt, len(c))
		}
		s = MustReopen(t, s, path, Options{Now: clk.Now, MaxAttempts: 2})
	}
	m := MustGet(t, s, id)
	if m.Status != StatusFailed || m.Error == nil || m.Error.Code != CodeMayHaveBeenSent {
		t.Fatalf("after two interrupted attempts: %s %+v", m.Status, m.Error)
	}
}

func TestConcurrentWorkersClaimEachMessageOnce(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	const n = 300
	var want []NewMessage
	for i := range n {
		want = append(want, NewMessage{To: "+447700900123", Text: fmt.Sprint("m", i)})
	}
	if _, err := s.Enqueue(ctx, "", want...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	claimed := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			modem := fmt.Sprint("m", w)
			for ref := 0; ; ref++ {
				ms, err := s.Claim(ctx, ClaimRequest{Modem: modem, Limit: 3, Lease: time.Minute})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				for _, m := range ms {
					mu.Lock()
					if prev, dup := claimed[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, modem)
					}
					claimed[m.ID] = modem
					mu.Unlock()
					if err := s.PartSent(ctx, *m.Lease, 1, ref%256); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d messages claimed, want %d", len(claimed), n)
	}
	p, err := s.List(ctx, Filter{Status: StatusSent, Limit: MaxPageSize})
	if err != nil || len(p.Messages) != n {
		t.Fatalf("%d sent (%v), want %d", len(p.Messages), err, n)
	}
}

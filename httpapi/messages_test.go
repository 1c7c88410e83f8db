package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

var clock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPostMessages(t *testing.T) {
	chinese := strings.Repeat("你好世界短信测试", 25) // 200 characters
	tests := []struct {
		name     string
		body     string
		wantTo   []string
		encoding string
		parts    int
	}{
		{name: "national number in the default country", body: `{"to":"07400 123456","text":"hello"}`,
			wantTo: []string{"+447400123456"}, encoding: "gsm7", parts: 1},
		{name: "international number", body: `{"to":"+86 138 0013 8000","text":"hello"}`,
			wantTo: []string{"+8613800138000"}, encoding: "gsm7", parts: 1},
		{name: "160 GSM characters fit one part", body: `{"to":"+447400123456","text":"` + strings.Repeat("a", 160) + `"}`,
			wantTo: []string{"+447400123456"}, encoding: "gsm7", parts: 1},
		{name: "161 GSM characters take two", body: `{"to":"+447400123456","text":"` + strings.Repeat("a", 161) + `"}`,
			wantTo: []string{"+447400123456"}, encoding: "gsm7", parts: 2},
		{name: "200 Chinese characters take three UCS-2 parts", body: `{"to":"+8613800138000","text":"` + chinese + `"}`,
			wantTo: []string{"+8613800138000"}, encoding: "ucs2", parts: 3},
		{name: "one emoji makes it UCS-2", body: `{"to":"+447400123456","text":"on my way 🚲"}`,
			wantTo: []string{"+447400123456"}, encoding: "ucs2", parts: 1},
		{name: "35 emoji are 70 UTF-16 units: one part", body: `{"to":"+447400123456","text":"` + strings.Repeat("😀", 35) + `"}`,
			wantTo: []string{"+447400123456"}, encoding: "ucs2", parts: 1},
		{name: "36 emoji take two parts", body: `{"to":"+447400123456","text":"` + strings.Repeat("😀", 36) + `"}`,
			wantTo: []string{"+447400123456"}, encoding: "ucs2", parts: 2},
		{name: "several recipients, one message each", body: `{"to":["+447400123456","07400 123457","+12025550100"],"text":"hi all"}`,
			wantTo: []string{"+447400123456", "+447400123457", "+12025550100"}, encoding: "gsm7", parts: 1},
		{name: "every option", body: `{"to":["+447400123456"],"text":"x","priority":"high","send_at":"2026-03-01T13:00:00+01:00",
			"valid_for":"1d12h","flash":true,"report":false,"modem":"m1"}`,
			wantTo: []string{"+447400123456"}, encoding: "gsm7", parts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustServe(t, Options{DefaultCountry: "gb", Now: func() time.Time { return clock }}, queue.Options{})
			e.modems.set(modem.Status{ID: "m1", State: modem.StateReady})
			r := e.must(http.StatusAccepted, "POST", "/v1/messages", tt.body)
			got := messages(r)
			if len(got) != len(tt.wantTo) {
				t.Fatalf("%d messages, want %d: %s", len(got), len(tt.wantTo), r.raw)
			}
			if keys(r.body) != "messages" {
				t.Errorf("202 body has %s", keys(r.body))
			}
			for i, m := range got {
				if k := keys(m); k != "encoding,id,parts,status,to" {
					t.Errorf("a 202 message has %s", k)
				}
				if m["to"] != tt.wantTo[i] || m["status"] != "queued" || m["encoding"] != tt.encoding || m["parts"] != float64(tt.parts) {
					t.Errorf("message %d = %v, want to %s, queued, %s, %d parts", i, m, tt.wantTo[i], tt.encoding, tt.parts)
				}
				// What the 202 promised is stored.
				stored, err := e.store.Get(context.Background(), int64(m["id"].(float64)))
				if err != nil {
					t.Fatalf("get %v: %v", m["id"], err)
				}
				if stored.To != tt.wantTo[i] || string(stored.Encoding) != tt.encoding || stored.Parts != tt.parts {
					t.Errorf("stored %+v", stored)
				}
			}
			if n := e.wake(t); n != len(tt.wantTo) {
				t.Errorf("wake saw %d stored messages, want %d", n, len(tt.wantTo))
			}
			if len(got) == 1 && r.header.Get("Location") != fmt.Sprintf("/v1/messages/%d", int64(got[0]["id"].(float64))) {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
		})
	}
}

func TestPostMessageOptionsStored(t *testing.T) {
	e := MustServe(t, Options{DeliveryReports: true, DefaultValidity: 24 * time.Hour, Now: func() time.Time { return clock }}, queue.Options{})
	e.modems.set(modem.Status{ID: "m1", State: modem.StateReady})
	ids := e.send(`{"to":"+447400123456","text":"defaults"}`)
	ids = append(ids, e.send(`{"to":"+447400123456","text":"set","priority":"high","send_at":"2026-03-01T13:00:00+01:00",
		"valid_for":"7d","flash":true,"report":false,"modem":"m1"}`)...)
	def, _ := e.store.Get(context.Background(), ids[0])
	set, _ := e.store.Get(context.Background(), ids[1])
	if !def.Report || def.Priority != queue.PriorityNormal || def.Flash || def.Modem != "" || def.SendAt != nil ||
		def.ExpiresAt == nil || def.ExpiresAt.Sub(def.CreatedAt) != 24*time.Hour {
		t.Errorf("defaults stored as %+v", def)
	}
	if set.Report || set.Priority != queue.PriorityHigh || !set.Flash || set.Modem != "m1" ||
		set.SendAt == nil || !set.SendAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) ||
		set.ExpiresAt == nil || set.ExpiresAt.Sub(set.CreatedAt) != 7*24*time.Hour {
		t.Errorf("options stored as %+v", set)
	}
}

func TestPostMessageErrors(t *testing.T) {
	long := strings.Repeat("a", 153*10+1)
	tests := []struct {
		name    string
		body    string
		header  []string
		status  int
		code    string
		field   string
		message string // a part of the message
	}{
		{name: "not JSON", body: `{"to":`, status: 400, code: CodeInvalidJSON, message: "ends in the middle"},
		{name: "syntax error", body: `{"to" "x"}`, status: 400, code: CodeInvalidJSON, message: "not valid JSON at byte"},
		{name: "array body", body: `[1]`, status: 400, code: CodeInvalidJSON, message: "must be a JSON object"},
		{name: "two objects", body: `{"to":"+447400123456","text":"a"}{}`, status: 400, code: CodeInvalidJSON, message: "after the JSON object"},
		{name: "unknown field", body: `{"to":"+447400123456","text":"a","sendat":"x"}`, status: 400, code: CodeInvalidField, field: "sendat", message: "not a known field"},
		{name: "wrong type", body: `{"to":"+447400123456","text":5}`, status: 400, code: CodeInvalidField, field: "text", message: "must be a string, not a number"},
		{name: "to of the wrong type", body: `{"to":5,"text":"a"}`, status: 400, code: CodeInvalidField, field: "to", message: "phone number or an array"},
		{name: "no to", body: `{"text":"a"}`, status: 400, code: CodeInvalidField, field: "to", message: "required"},
		{name: "empty to list", body: `{"to":[],"text":"a"}`, status: 400, code: CodeInvalidField, field: "to", message: "required"},
		{name: "invalid second number", body: `{"to":["+447400123456","+44 12"],"text":"a"}`, status: 400, code: CodeInvalidField,
			field: "to[1]", message: `to[1]: "+44 12" is not a valid phone number for region GB`},
		{name: "invalid national number", body: `{"to":"0740","text":"a"}`, status: 400, code: CodeInvalidField,
			field: "to", message: `"0740" is not a valid phone number for region GB`},
		{name: "unknown country code", body: `{"to":"+999 1234 5678","text":"a"}`, status: 400, code: CodeInvalidField,
			field: "to", message: "known country code"},
		{name: "short code", body: `{"to":"88088","text":"a"}`, status: 400, code: CodeInvalidField, field: "to", message: "short code"},
		{name: "alphanumeric", body: `{"to":"VODAFONE","text":"a"}`, status: 400, code: CodeInvalidField, field: "to", message: "alphanumeric"},
		{name: "same number twice", body: `{"to":["+447400123456","07400123456"],"text":"a"}`, status: 400, code: CodeInvalidField,
			field: "to[1]", message: "same number as to[0]"},
		{name: "empty text", body: `{"to":"+447400123456","text":""}`, status: 400, code: CodeInvalidField, field: "text", message: "empty"},
		{name: "no text", body: `{"to":"+447400123456"}`, status: 400, code: CodeInvalidField, field: "text", message: "required"},
		{name: "priority", body: `{"to":"+447400123456","text":"a","priority":"urgent"}`, status: 400, code: CodeInvalidField, field: "priority"},
		{name: "send_at", body: `{"to":"+447400123456","text":"a","send_at":"tomorrow"}`, status: 400, code: CodeInvalidField, field: "send_at", message: "RFC 3339"},
		{name: "send_at after validity", body: `{"to":"+447400123456","text":"a","send_at":"2026-03-03T12:00:00Z","valid_for":"24h"}`,
			status: 400, code: CodeInvalidField, field: "send_at", message: "longer valid_for"},
		{name: "valid_for", body: `{"to":"+447400123456","text":"a","valid_for":"a week"}`, status: 400, code: CodeInvalidField, field: "valid_for"},
		{name: "valid_for zero", body: `{"to":"+447400123456","text":"a","valid_for":"0s"}`, status: 400, code: CodeInvalidField, field: "valid_for", message: "positive"},
		{name: "valid_for too long", body: `{"to":"+447400123456","text":"a","valid_for":"500d"}`, status: 400, code: CodeInvalidField, field: "valid_for", message: "63 weeks"},
		{name: "unknown modem", body: `{"to":"+447400123456","text":"a","modem":"m9"}`, status: 400, code: CodeInvalidField, field: "modem", message: "choose one of m1"},
		{name: "empty idempotency key", body: `{"to":"+447400123456","text":"a"}`, header: []string{"Idempotency-Key", ""},
			status: 400, code: CodeInvalidField, field: "Idempotency-Key"},
		{name: "too many parts", body: `{"to":"+447400123456","text":"` + long + `"}`, status: 422, code: CodeTooManyParts,
			field: "text", message: "text: needs 11 parts, more than the 10 allowed"},
		{name: "body too large", body: `{"to":"+447400123456","text":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413,
			code: CodeBodyTooLarge, message: "larger than 65536 bytes"},
		{name: "no content type", body: `{}`, header: []string{"Content-Type", "<none>"}, status: 415, code: CodeUnsupportedMedia},
		{name: "form content type", body: `to=x`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: CodeUnsupportedMedia},
		{name: "latin-1 charset", body: `{}`, header: []string{"Content-Type", "application/json; charset=iso-8859-1"}, status: 415, code: CodeUnsupportedMedia, message: "charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustServe(t, Options{DefaultCountry: "GB", Now: func() time.Time { return clock }}, queue.Options{})
			e.modems.set(modem.Status{ID: "m1", State: modem.StateReady})
			r := e.do("POST", "/v1/messages", tt.body, tt.header...)
			if r.status != tt.status || r.errorField("code") != tt.code || r.errorField("field") != tt.field ||
				!strings.Contains(r.errorField("message"), tt.message) {
				t.Errorf("got %d %s, want %d code %s field %q message containing %q", r.status, r.raw, tt.status, tt.code, tt.field, tt.message)
			}
			// All or nothing: a refused request stores no message.
			p, err := e.store.List(context.Background(), queue.Filter{})
			if err != nil || len(p.Messages) != 0 {
				t.Errorf("stored after a refusal: %d messages, %v", len(p.Messages), err)
			}
			if e.log.String() != "" {
				t.Errorf("a client error was logged above Debug: %s", e.log)
			}
		})
	}
}

func TestPostNeedsCountryForNationalNumbers(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	r := e.must(400, "POST", "/v1/messages", `{"to":"07400123456","text":"a"}`)
	if !strings.Contains(r.errorField("message"), "no default country") {
		t.Errorf("message %q", r.errorField("message"))
	}
	e.send(`{"to":"+447400123456","text":"a"}`)
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	tests := []struct {
		name string
		opts Options
		deps Deps
	}{
		{name: "no store", opts: Options{}, deps: Deps{Health: e.h.health}},
		{name: "no write check", opts: Options{}, deps: Deps{Store: e.h.store}},
		{name: "unknown country", opts: Options{DefaultCountry: "XX"}, deps: Deps{Store: e.h.store, Health: e.h.health}},
		{name: "empty token", opts: Options{Tokens: []string{"a", ""}}, deps: Deps{Store: e.h.store, Health: e.h.health}},
		{name: "validity too long", opts: Options{DefaultValidity: 64 * 7 * 24 * time.Hour}, deps: Deps{Store: e.h.store, Health: e.h.health}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts, tt.deps); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	body := `{"to":["+447400123456","+447400123457"],"text":"once"}`
	first := e.send(body, "Idempotency-Key", "order-17")
	if n := e.wake(t); n != 2 {
		t.Fatalf("wake saw %d messages", n)
	}
	r := e.must(http.StatusAccepted, "POST", "/v1/messages", body, "Idempotency-Key", "order-17")
	again := messages(r)
	if len(again) != 2 || int64(again[0]["id"].(float64)) != first[0] || int64(again[1]["id"].(float64)) != first[1] {
		t.Errorf("replay gave %s, want ids %v", r.raw, first)
	}
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	// The same numbers written another way are the same body.
	e.send(`{"to":["+44 7400 123456","+44 7400 123457"],"text":"once"}`, "Idempotency-Key", "order-17")
	r = e.must(http.StatusConflict, "POST", "/v1/messages", `{"to":"+447400123456","text":"twice"}`, "Idempotency-Key", "order-17")
	if r.errorField("code") != CodeIdempotencyConflict {
		t.Errorf("conflict: %s", r.raw)
	}
	if e.woken() {
		t.Errorf("a replay or a conflict woke the dispatcher")
	}
	other := e.send(body, "Idempotency-Key", "order-18")
	if other[0] == first[0] {
		t.Error("another key returned the same messages")
	}
	if n := e.wake(t); n != 4 {
		t.Errorf("wake saw %d messages, want 4", n)
	}
}

func TestGetMessage(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	ids := e.send(`{"to":"+8613800138000","text":"你好","report":true}`)
	r := e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), "")
	m := r.body
	for k, want := range map[string]any{"id": float64(ids[0]), "to": "+8613800138000", "text": "你好", "status": "queued",
		"encoding": "ucs2", "parts": float64(1), "attempts": float64(0), "error": nil, "modem": nil, "sent_at": nil,
		"delivered_at": nil, "report": true, "priority": "normal"} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if k := keys(m); k != "attempts,created_at,delivered_at,encoding,error,events,expires_at,flash,id,modem,parts,parts_detail,priority,report,send_at,sent_at,status,text,to" {
		t.Errorf("a message has %s", k)
	}
	if _, err := time.Parse(time.RFC3339, m["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}
	evs := m["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["status"] != "queued" || evs[0].(map[string]any)["at"] == nil {
		t.Errorf("events %v", evs)
	}

	// A failed message shows its error and its history.
	ctx := context.Background()
	claimed, err := e.store.Claim(ctx, queue.ClaimRequest{Modem: "m1", Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := e.store.Fail(ctx, *claimed[0].Lease, queue.Error{Code: "cms_21", Message: "short message transfer rejected"}); err != nil {
		t.Fatalf("fail: %v", err)
	}
	m = e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), "").body
	if m["status"] != "failed" || m["modem"] != "m1" || m["attempts"] != float64(1) {
		t.Errorf("failed message %v", m)
	}
	if er := m["error"].(map[string]any); er["code"] != "cms_21" || er["message"] != "short message transfer rejected" {
		t.Errorf("error %v", er)
	}
	var statuses []string
	for _, ev := range m["events"].([]any) {
		statuses = append(statuses, ev.(map[string]any)["status"].(string))
	}
	if strings.Join(statuses, ",") != "queued,sending,failed" {
		t.Errorf("events %v", statuses)
	}

	// A delivered message has its times.
	ids = e.send(`{"to":"+447400123456","text":"delivered","report":true}`)
	claimed, err = e.store.Claim(ctx, queue.ClaimRequest{Modem: "m2", Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := e.store.PartSent(ctx, *claimed[0].Lease, 1, 42); err != nil {
		t.Fatal(err)
	}
	m = e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), "").body
	if m["status"] != "sent" || m["sent_at"] == nil || m["delivered_at"] != nil {
		t.Errorf("sent message %v", m)
	}
	if _, err := e.store.Report(ctx, queue.Report{Modem: "m2", Ref: 42, Recipient: "447400123456", Outcome: pdu.OutcomeDelivered}); err != nil {
		t.Fatal(err)
	}
	m = e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), "").body
	if m["status"] != "delivered" || m["delivered_at"] == nil || m["modem"] != "m2" {
		t.Errorf("delivered message %v", m)
	}

	for _, p := range []string{"/v1/messages/999", "/v1/messages/abc", "/v1/messages/-1"} {
		r := e.must(404, "GET", p, "")
		if r.errorField("code") != CodeNotFound || !strings.Contains(r.errorField("message"), "no message with id") {
			t.Errorf("%s: %s", p, r.raw)
		}
	}
}

func TestListMessages(t *testing.T) {
	e := MustServe(t, Options{DefaultCountry: "GB"}, queue.Options{})
	var ids []int64
	for i := range 7 {
		ids = append(ids, e.send(fmt.Sprintf(`{"to":"+44740012345%d","text":"n%d"}`, i%2, i))...)
	}
	if err := e.store.Cancel(context.Background(), ids[2]); err != nil {
		t.Fatal(err)
	}
	// Walk every page: newest first, each message once.
	var seen []int64
	cursor := ""
	for page := 0; ; page++ {
		r := e.must(200, "GET", "/v1/messages?limit=3&cursor="+cursor, "")
		ms := messages(r)
		if page < 2 && len(ms) != 3 || page == 2 && len(ms) != 1 || page > 2 {
			t.Fatalf("page %d has %d messages: %s", page, len(ms), r.raw)
		}
		for _, m := range ms {
			seen = append(seen, int64(m["id"].(float64)))
			if _, ok := m["events"]; ok {
				t.Error("a list shows events")
			}
		}
		cursor = r.body["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("pages gave %v", seen)
	}

	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{name: "status", query: "status=cancelled", want: []int64{ids[2]}},
		{name: "to in national form", query: "to=07400123451", want: []int64{ids[5], ids[3], ids[1]}},
		{name: "to and status", query: "to=%2B447400123450&status=queued", want: []int64{ids[6], ids[4], ids[0]}},
		{name: "nothing matches", query: "status=delivered", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(200, "GET", "/v1/messages?"+tt.query, "")
			var got []int64
			for _, m := range messages(r) {
				got = append(got, int64(m["id"].(float64)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || r.body["next_cursor"] != "" {
				t.Errorf("got %v, want %v: %s", got, tt.want, r.raw)
			}
		})
	}

	bad := []struct {
		name, query, field string
	}{
		{name: "bad status", query: "status=lost", field: "status"},
		{name: "bad number", query: "to=12", field: "to"},
		{name: "limit zero", query: "limit=0", field: "limit"},
		{name: "limit too big", query: "limit=1001", field: "limit"},
		{name: "limit not a number", query: "limit=ten", field: "limit"},
		{name: "bad cursor", query: "cursor=%21%21", field: "cursor"},
		{name: "unknown parameter", query: "stauts=queued", field: "stauts"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(400, "GET", "/v1/messages?"+tt.query, "")
			if r.errorField("code") != CodeInvalidField || r.errorField("field") != tt.field {
				t.Errorf("%s", r.raw)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	ctx := context.Background()
	ids := e.send(`{"to":["+447400123456","+447400123457","+447400123458"],"text":"x"}`)
	// The oldest is claimed (sending), the next sent.
	claimed, err := e.store.Claim(ctx, queue.ClaimRequest{Modem: "m1", Lease: time.Minute, Limit: 2})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := e.store.PartSent(ctx, *claimed[1].Lease, 1, 7); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      int64
		status  int
		message string
	}{
		{name: "queued", id: ids[2], status: 200},
		{name: "already cancelled", id: ids[2], status: 409, message: "is cancelled"},
		{name: "sending", id: ids[0], status: 409, message: "is sending"},
		{name: "sent", id: ids[1], status: 409, message: "is sent"},
		{name: "unknown", id: 99, status: 404, message: "no message with id 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(tt.status, "DELETE", fmt.Sprintf("/v1/messages/%d", tt.id), "")
			if tt.status == 200 {
				if r.body["status"] != "cancelled" {
					t.Errorf("%s", r.raw)
				}
				return
			}
			if !strings.Contains(r.errorField("message"), tt.message) {
				t.Errorf("%s", r.raw)
			}
		})
	}
	if m, _ := e.store.Get(ctx, ids[0]); m.Status != queue.StatusSending {
		t.Errorf("a refused cancel changed the message: %s", m.Status)
	}
}

func TestEstimate(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	tests := []struct {
		name      string
		text      string
		encoding  string
		parts     int
		remaining int
	}{
		{name: "short GSM", text: "hello", encoding: "gsm7", parts: 1, remaining: 155},
		{name: "euro takes two septets", text: "5€", encoding: "gsm7", parts: 1, remaining: 157},
		{name: "two GSM parts", text: strings.Repeat("a", 200), encoding: "gsm7", parts: 2, remaining: 106},
		{name: "Chinese", text: strings.Repeat("测", 70), encoding: "ucs2", parts: 1, remaining: 0},
		{name: "200 Chinese in parts of 67", text: strings.Repeat("测", 200), encoding: "ucs2", parts: 3, remaining: 1},
		{name: "emoji counts two units", text: "hi 👋", encoding: "ucs2", parts: 1, remaining: 65},
		{name: "beyond the part limit is still estimated", text: strings.Repeat("a", 2000), encoding: "gsm7", parts: 14, remaining: 142},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(200, "POST", "/v1/estimate", fmt.Sprintf(`{"text":%q}`, tt.text))
			if r.body["encoding"] != tt.encoding || r.body["parts"] != float64(tt.parts) || r.body["remaining"] != float64(tt.remaining) {
				t.Errorf("got %s, want %s %d parts %d remaining", r.raw, tt.encoding, tt.parts, tt.remaining)
			}
		})
	}
	r := e.must(400, "POST", "/v1/estimate", `{"text":""}`)
	if r.errorField("field") != "text" {
		t.Errorf("%s", r.raw)
	}
	e.must(400, "POST", "/v1/estimate", `{"text":"a","to":"x"}`)
	e.must(415, "POST", "/v1/estimate", `{"text":"a"}`, "Content-Type", "text/plain")
}

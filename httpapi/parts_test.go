package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"bridged/pdu"
	"bridged/queue"
)

// TestGetMessagePartsDetail: GET /v1/messages/{id} shows each part's state.
// A failed report on part 1 while parts 2 and 3 are still to be sent
// leaves the message sending; once all are sent it is failed, naming the
// part, and the parts show failed, sent, then delivered as reports come.
func TestGetMessagePartsDetail(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	ids := e.send(fmt.Sprintf(`{"to":"+447400123456","text":%q,"report":true}`, strings.Repeat("p", 400)))
	path := fmt.Sprintf("/v1/messages/%d", ids[0])
	type part struct {
		Seq        int        `json:"seq"`
		Status     string     `json:"status"`
		Reference  *int       `json:"reference"`
		ReportedAt *time.Time `json:"reported_at"`
	}
	get := func() (map[string]any, []part) {
		t.Helper()
		r := e.must(200, "GET", path, "")
		var v struct {
			Parts []part `json:"parts_detail"`
		}
		if err := json.Unmarshal([]byte(r.raw), &v); err != nil {
			t.Fatal(err)
		}
		return r.body, v.Parts
	}
	states := func(ps []part) string {
		var s []string
		for _, p := range ps {
			ref, rep := "-", "-"
			if p.Reference != nil {
				ref = fmt.Sprint(*p.Reference)
			}
			if p.ReportedAt != nil {
				rep = "r"
			}
			s = append(s, fmt.Sprintf("%d:%s:%s:%s", p.Seq, p.Status, ref, rep))
		}
		return strings.Join(s, " ")
	}
	if _, ps := get(); states(ps) != "1:pending:-:- 2:pending:-:- 3:pending:-:-" {
		t.Fatalf("queued: %s", states(ps))
	}
	ctx := context.Background()
	claimed, err := e.store.Claim(ctx, queue.ClaimRequest{Modem: "m1", Lease: time.Minute})
	if err != nil || len(claimed) != 1 || claimed[0].Parts != 3 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	l := *claimed[0].Lease
	if err := e.store.PartSent(ctx, l, 1, 10); err != nil {
		t.Fatal(err)
	}
	report := func(ref, st int, o pdu.Outcome) {
		t.Helper()
		if _, err := e.store.Report(ctx, queue.Report{Modem: "m1", Ref: ref, Recipient: "+447400123456", Status: st, Outcome: o}); err != nil {
			t.Fatal(err)
		}
	}
	report(10, 0x41, pdu.OutcomeFailed)
	if m, ps := get(); m["status"] != "sending" || states(ps) != "1:failed:10:r 2:pending:-:- 3:pending:-:-" {
		t.Fatalf("after part 1's failed report: %v, %s", m["status"], states(ps))
	}
	for seq, ref := range map[int]int{2: 11, 3: 12} {
		if err := e.store.PartSent(ctx, l, seq, ref); err != nil {
			t.Fatalf("part %d: %v", seq, err)
		}
	}
	report(11, 0x00, pdu.OutcomeDelivered)
	m, ps := get()
	if states(ps) != "1:failed:10:r 2:delivered:11:r 3:sent:12:-" {
		t.Errorf("after the send: %s", states(ps))
	}
	er, _ := m["error"].(map[string]any)
	if m["status"] != "failed" || er["code"] != "delivery_failed" || er["message"] != "part 1 of 3 not delivered: status 0x41" {
		t.Errorf("message %v, error %v", m["status"], er)
	}
	// Lists leave the parts out, as they leave out the history.
	if l := messages(e.must(200, "GET", "/v1/messages", "")); len(l) != 1 || l[0]["parts_detail"] != nil {
		t.Errorf("list: %v", l)
	}
}

package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bridged/queue"
)

var _ Webhooks = (*queue.Store)(nil)

func TestWebhookDeliveries(t *testing.T) {
	const token = "tttttttttttttttttttttttt"
	e := MustServe(t, Options{Tokens: []string{token}}, queue.Options{
		WebhookEndpoints: []queue.WebhookEndpoint{{Name: "app", MaxAttempts: 1}},
	})
	e.send(`{"to": "+447400123456", "text": "one"}`)
	e.send(`{"to": "+447400123457", "text": "two"}`)

	r := e.must(http.StatusOK, "GET", "/v1/webhooks/deliveries?state=pending&limit=1", "")
	ds, _ := r.body["deliveries"].([]any)
	if len(ds) != 1 || r.body["next_cursor"] == "" {
		t.Fatalf("first page: %s", r.raw)
	}
	d := ds[0].(map[string]any)
	if d["endpoint"] != "app" || d["event"] != queue.EventMessageStatus || d["state"] != "pending" || d["next_attempt_at"] == nil ||
		d["attempts"] != 0.0 || d["payload"] != nil || d["created_at"] == nil {
		t.Fatalf("delivery %s", r.raw)
	}
	r = e.must(http.StatusOK, "GET", "/v1/webhooks/deliveries?state=pending&limit=1&cursor="+r.body["next_cursor"].(string), "")
	if ds, _ := r.body["deliveries"].([]any); len(ds) != 1 || ds[0].(map[string]any)["id"] == d["id"] {
		t.Fatalf("second page: %s", r.raw)
	}

	// The first fails its one attempt: a dead letter, listed by default.
	ctx := context.Background()
	round, err := e.store.SettleWebhooks(ctx, "app", nil, 1, time.Minute)
	claimed := round.Claimed
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim %d %v", len(claimed), err)
	}
	failed, err := e.store.SettleWebhooks(ctx, "app", []queue.WebhookOutcome{{ID: claimed[0].ID, Failure: "HTTP 500"}}, 0, 0)
	if err != nil || failed.Settled[0].Err != nil || !failed.Settled[0].Dead {
		t.Fatalf("failed: %+v %v", failed.Settled, err)
	}
	id := strconv.FormatInt(claimed[0].ID, 10)
	r = e.must(http.StatusOK, "GET", "/v1/webhooks/deliveries", "")
	if ds, _ := r.body["deliveries"].([]any); len(ds) != 1 || ds[0].(map[string]any)["last_error"] != "HTTP 500" ||
		ds[0].(map[string]any)["next_attempt_at"] != nil || ds[0].(map[string]any)["attempts"] != 1.0 {
		t.Fatalf("dead letters: %s", r.raw)
	}

	r = e.must(http.StatusAccepted, "POST", "/v1/webhooks/deliveries/"+id+"/retry", "")
	if r.body["state"] != "pending" {
		t.Fatalf("retry: %s", r.raw)
	}
	round, err = e.store.SettleWebhooks(ctx, "app", nil, 10, time.Minute)
	again := round.Claimed
	if err != nil || !slices.ContainsFunc(again, func(d *queue.WebhookDelivery) bool { return d.ID == claimed[0].ID }) {
		t.Fatalf("after the retry the delivery is not due: %d %v", len(again), err)
	}
	r = e.must(http.StatusConflict, "POST", "/v1/webhooks/deliveries/"+id+"/retry", "")
	if r.errorField("code") != CodeNotDead {
		t.Fatalf("retry of a pending delivery: %s", r.raw)
	}
	e.must(http.StatusNotFound, "POST", "/v1/webhooks/deliveries/999/retry", "")
	e.must(http.StatusNotFound, "POST", "/v1/webhooks/deliveries/x/retry", "")
	if r := e.must(http.StatusBadRequest, "GET", "/v1/webhooks/deliveries?state=lost", ""); r.errorField("field") != "state" {
		t.Fatalf("bad state: %s", r.raw)
	}
	e.must(http.StatusUnauthorized, "GET", "/v1/webhooks/deliveries", "", "Authorization", "<none>")
	e.must(http.StatusUnauthorized, "POST", "/v1/webhooks/deliveries/"+id+"/retry", "", "Authorization", "<none>")
	if strings.Contains(e.log.String(), token) {
		t.Fatal("the token is in the log")
	}
}

package main

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// TestE2EMetrics scrapes a real daemon's /metrics, parsed with Prometheus'
// own text parser, as one message goes through: held queued by a modem
// off the network, then sent, delivered, and answered by the echo phone.
// /metrics takes the API token or the metrics token and nothing else.
func TestE2EMetrics(t *testing.T) {
	const (
		apiToken     = "e2e-api-token-0123456789"
		metricsToken = "e2e-metrics-token-0123456789"
	)
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := strings.Replace(w.config(""), "[http]\n",
		"[http]\ntokens = [\""+apiToken+"\"]\nmetrics_token = \""+metricsToken+"\"\n", 1)
	d := startDaemon(t, cfg)
	d.token = apiToken
	url := "http://" + d.addr + "/metrics"

	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token: %s", resp.Status)
	}
	testutil.Scrape(t, url, apiToken)

	// scrapeUntil scrapes (every 100 ms: the store's counts are cached for
	// 2 s) until every sample has its value.
	scrapeUntil := func(what string, want map[string]float64, labels map[string][]string) testutil.Metrics {
		t.Helper()
		var m testutil.Metrics
		var last string
		if !testutil.UntilEvery(20*time.Second, 100*time.Millisecond, func() bool {
			m = testutil.Scrape(t, url, metricsToken)
			for key, v := range want {
				got, ok := m.Value(strings.Fields(key)[0], labels[key]...)
				if !ok || got != v {
					last = key
					return false
				}
			}
			return true
		}) {
			v, ok := m.Value(strings.Fields(last)[0], labels[last]...)
			t.Fatalf("%s: %s is %v (present %v), want %v", what, last, v, ok, want[last])
		}
		return m
	}
	modem := []string{"modem", "m0"}
	labels := map[string][]string{
		"bridged_modem_up":                   modem,
		"bridged_modem_state ready":          {"modem", "m0", "state", "ready"},
		"bridged_modem_state not-registered": {"modem", "m0", "state", "not-registered"},
		"bridged_messages queued":            {"status", "queued"},
		"bridged_messages delivered":         {"status", "delivered"},
		"bridged_modem_parts_sent_total":     modem,
		"bridged_queue_depth_messages":       nil,
		"bridged_send_latency_seconds":       nil,
	}
	m := scrapeUntil("modem ready", map[string]float64{"bridged_modem_up": 1, "bridged_modem_state ready": 1}, labels)
	latency0 := m.Must(t, "bridged_send_latency_seconds")
	if m.Must(t, "bridged_build_info", "goversion", runtime.Version()) != 1 {
		t.Error("bridged_build_info is not 1")
	}

	w.sims[0].SetRegistration(modemsim.RegSearching)
	scrapeUntil("modem off the network", map[string]float64{"bridged_modem_up": 0, "bridged_modem_state not-registered": 1}, labels)
	msg := d.send(map[string]any{"to": modemsim.EchoNumber, "text": "metrics", "report": true})[0]
	scrapeUntil("message held", map[string]float64{"bridged_messages queued": 1, "bridged_queue_depth_messages": 1}, labels)

	w.sims[0].SetRegistration(modemsim.RegHome)
	d.waitStatus(msg.ID, "delivered")
	m = scrapeUntil("message delivered", map[string]float64{
		"bridged_messages queued": 0, "bridged_queue_depth_messages": 0, "bridged_messages delivered": 1,
		"bridged_modem_parts_sent_total": 1, "bridged_send_latency_seconds": latency0 + 1,
	}, labels)
	// The status report, then the echo phone's answer.
	testutil.UntilEvery(20*time.Second, 100*time.Millisecond, func() bool {
		m = testutil.Scrape(t, url, metricsToken)
		return m.Must(t, "bridged_modem_pdus_received_total", modem...) >= 2
	})
	if got := m.Must(t, "bridged_modem_pdus_received_total", modem...); got < 2 {
		t.Errorf("PDUs received by m0: %v, want the report and the answer", got)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

package testutil

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is a scrape of GET /metrics as Prometheus' own text parser reads
// it, by family name.
type Metrics map[string]*dto.MetricFamily

// Scrape GETs url (a /metrics endpoint) with the bearer token (none when
// ""), and parses the answer with Prometheus' text parser. It fails the
// test unless the answer is 200 and parses.
func Scrape(tb testing.TB, url, token string) Metrics {
	tb.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("scrape %s: %s %s", url, resp.Status, body)
	}
	m, err := ParseMetrics(resp.Body)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	return m
}

// ParseMetrics reads the Prometheus text format with Prometheus' parser.
func ParseMetrics(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse the text format: %w", err)
	}
	return Metrics(fams), nil
}

// Value returns the value of the sample of family name whose labels
// include the pairs given (name, value, name, value...): a gauge's, a
// counter's or an untyped sample's, a histogram's sample count. ok is
// false when there is no such sample.
func (m Metrics) Value(name string, labels ...string) (v float64, ok bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
	for _, s := range f.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case s.Gauge != nil:
			return s.Gauge.GetValue(), true
		case s.Counter != nil:
			return s.Counter.GetValue(), true
		case s.Histogram != nil:
			return float64(s.Histogram.GetSampleCount()), true
		case s.Untyped != nil:
			return s.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// Must is Value failing the test when there is no such sample.
func (m Metrics) Must(tb testing.TB, name string, labels ...string) float64 {
	tb.Helper()
	v, ok := m.Value(name, labels...)
	if !ok {
		tb.Fatalf("no sample %s%v in the scrape", name, labels)
	}
	return v
}

func hasLabels(s *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

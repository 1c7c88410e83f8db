package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"bridged/queue"
)

// BenchmarkPostMessage measures durable POST /v1/messages over real HTTP
// on 127.0.0.1 with 64 concurrent clients per CPU, whose writes the store
// commits together: the API's share of the 5,000 posts a second.
func BenchmarkPostMessage(b *testing.B) {
	st, err := queue.Open(filepath.Join(b.TempDir(), "bridged.db"), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := New(Options{DefaultCountry: "GB"}, Deps{Store: st, Health: st})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 1024
	body := `{"to":"07400 123456","text":"benchmark"}`
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := srv.Client()
		for pb.Next() {
			res, err := c.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchmarkPostManyRecipients posts the 1 MB body of 61,000 valid
// recipients, which used to be accepted (a daemon's peak RSS 13.1 -> 72.3
// MB, a 4.87 MB answer, 61,000 messages queued) and is now refused with
// 422 before any number is parsed or stored (peak RSS 12.7 -> 21.8 MB):
// B/op is what one such request costs.
func BenchmarkPostManyRecipients(b *testing.B) {
	st, err := queue.Open(filepath.Join(b.TempDir(), "bridged.db"), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := New(Options{DefaultCountry: "GB", MaxBodyBytes: 1 << 20}, Deps{Store: st, Health: st})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var sb strings.Builder
	sb.WriteString(`{"text":"a","to":[`)
	for i := range 61000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"+447400%06d"`, i)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := srv.Client().Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnprocessableEntity {
			b.Fatalf("status %d", res.StatusCode)
		}
		b.ReportMetric(float64(n), "answer_bytes")
	}
	b.ReportMetric(float64(len(body)), "body_bytes")
}

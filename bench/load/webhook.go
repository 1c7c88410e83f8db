package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// hookReceiver is the webhook endpoint of -webhook runs: it answers 204 at
// once and notes when each received SMS's event arrived, by its text.
type hookReceiver struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	got  map[string]time.Time
	n    int
	wake chan struct{} // closed and replaced at each request
}

func startHookReceiver() *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	h := &hookReceiver{url: "http://" + ln.Addr().String() + "/hook", got: map[string]time.Time{}, wake: make(chan struct{})}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go h.srv.Serve(ln)
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.WriteHeader(http.StatusNoContent)
	// Today's payload has the text at the top, the event body in data.
	var p struct {
		Text string `json:"text"`
		Data struct {
			Text string `json:"text"`
		} `json:"data"`
	}
	json.Unmarshal(body, &p)
	text := p.Text + p.Data.Text
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	if r.Header.Get("X-Bridged-Event") == "message.received" {
		if _, ok := h.got[text]; !ok {
			h.got[text] = at
		}
	}
	close(h.wake)
	h.wake = make(chan struct{})
}

// waitReceived returns when the event of the SMS with text arrived.
func (h *hookReceiver) waitReceived(ctx context.Context, text string) (time.Time, error) {
	for {
		h.mu.Lock()
		at, ok := h.got[text]
		wake := h.wake
		h.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no webhook for %q: %w", text, ctx.Err())
		}
	}
}

// waitRequests returns once n requests have come.
func (h *hookReceiver) waitRequests(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		got, wake := h.n, h.wake
		h.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d webhook requests: %w", got, n, ctx.Err())
		}
	}
}

func (h *hookReceiver) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// webhookTable is the [[webhook]] of a -webhook run.
func (h *hookReceiver) webhookTable() string {
	return fmt.Sprintf("[[webhook]]\nurl = %q\nsecret = \"bench-secret-0123456789abcdef\"\n", h.url)
}

// inbound measures an SMS in: from the network handing it to an idle
// modem to its message.received webhook at the receiver, 200 one at a
// time.
func inbound(bin string) {
	hooks := startHookReceiver()
	defer hooks.srv.Close()
	r := startWith(bin, 1, 0, 30*time.Second, hooks.webhookTable())
	defer r.stop()
	var lat []time.Duration
	for i := range 200 {
		text := fmt.Sprintf("inbound %d", i)
		at := time.Now()
		if err := r.mods[0].Deliver("+447700900999", text); err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, err := hooks.waitReceived(ctx, text)
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		lat = append(lat, got.Sub(at))
	}
	slices.Sort(lat)
	fmt.Printf("inbound: SMS at an idle simulated modem to its webhook received, 200 messages: p50 %v, p90 %v, p99 %v, max %v (%d webhook requests)\n",
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), hooks.requests())
}

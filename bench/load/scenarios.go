package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The scenarios that measure one thing each: the API alone, the latency
// of one message, the throughput of one or four modems, an idle daemon.

func post(bin string) {
	// The modem never answers a send in time: what is measured is the API
	// and the store, with a worker claiming and retrying alongside.
	r := start(bin, 1, time.Hour, 2*time.Second)
	defer r.stop()
	var ok, bad atomic.Int64
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				code, err := postMessage(r.addr, map[string]any{"to": "+447400123456", "text": fmt.Sprintf("load %d/%d", c, i)})
				if err == nil && code == http.StatusAccepted {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	_, peak := r.rss()
	fmt.Printf("post: %d clients, %v: %.0f durable POST /v1/messages per second (%d accepted, %d failed); peak RSS %.1f MB\n",
		*clients, *duration, float64(ok.Load())/duration.Seconds(), ok.Load(), bad.Load(), peak)
}

func latency(bin string) {
	r := start(bin, 1, 0, 30*time.Second)
	defer r.stop()
	var lat []time.Duration
	for i := range 200 {
		before := len(r.net.Sent())
		code, err := postMessage(r.addr, map[string]any{"to": "+447400123456", "text": fmt.Sprintf("latency %d", i)})
		accepted := time.Now()
		if err != nil || code != http.StatusAccepted {
			log.Fatalf("post: %d %v", code, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sent, err := r.net.WaitSent(ctx, before+1)
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		lat = append(lat, sent[len(sent)-1].Time.Sub(accepted))
		time.Sleep(*gap)
	}
	slices.Sort(lat)
	fmt.Printf("latency: 202 to the SMS at an idle simulated modem, 200 messages, gap %v: p50 %v, p90 %v, p99 %v, max %v\n", *gap,
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}

func throughput(bin string, modems int, lat time.Duration, n int) {
	r := start(bin, modems, lat, 30*time.Second)
	defer r.stop()
	if n == 0 {
		n = modems * 40
	}
	startT := time.Now()
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += 8 {
				if code, err := postMessage(r.addr, map[string]any{"to": "+447400123456", "text": fmt.Sprintf("through %d", i)}); err != nil || code != http.StatusAccepted {
					log.Fatalf("post: %d %v", code, err)
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := r.net.WaitSent(ctx, n); err != nil {
		log.Fatal(err)
	}
	el := time.Since(startT)
	rate := float64(n) / el.Seconds()
	_, peak := r.rss()
	if lat == 0 {
		fmt.Printf("one modem, no network latency: %d messages in %v: %.0f messages/s (%.2f ms each); peak RSS %.1f MB; daemon CPU %v\n", n, el.Round(time.Millisecond), rate, 1000/rate, peak, r.cpu())
		if r.hooks != nil {
			// Each message's queued, sending and sent events: how far the
			// webhook sender was behind the modem, and when it caught up.
			at := r.hooks.requests()
			if err := r.hooks.waitRequests(ctx, 3*n); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("webhook: %d of %d events delivered at the last SMS, all %v after the first post\n", at, 3*n, time.Since(startT).Round(time.Millisecond))
		}
		if *after > 0 {
			time.Sleep(*after)
			m := r.memory()
			fmt.Printf("after those messages, %v idle: RSS %.2f MB (%.2f anonymous, %.2f of files)\n", *after, m["VmRSS:"], m["RssAnon:"], m["RssFile:"])
		}
		return
	}
	limit := float64(modems) / lat.Seconds()
	fmt.Printf("%d modems, %v network latency: %d messages in %v: %.2f messages/s, %.1f%% of the %.0f/s limit; peak RSS %.1f MB\n",
		modems, lat, n, el.Round(time.Millisecond), rate, 100*rate/limit, limit, peak)
}

func idle(bin string) {
	r := start(bin, 1, 0, 30*time.Second)
	defer r.stop()
	time.Sleep(2 * time.Second) // let start-up finish
	before := r.at.n.Load()
	rssStart, _ := r.rss()
	// Sampled every 10 s: a creep shows as a rising maximum.
	highest := rssStart
	sample := time.NewTicker(10 * time.Second)
	defer sample.Stop()
	end := time.NewTimer(*idleFor)
	defer end.Stop()
	for idling := true; idling; {
		select {
		case <-sample.C:
		case <-end.C:
			idling = false
		}
		cur, _ := r.rss()
		highest = max(highest, cur)
	}
	n := r.at.n.Load() - before
	m := r.memory()
	fmt.Printf("idle: %d AT commands in %v (%.2f a minute); RSS %.2f MB after start (%.0f kB), %.2f MB after idling (%.0f kB; %.2f anonymous, %.2f of files), at most %.2f MB while idle\n",
		n, *idleFor, float64(n)/idleFor.Minutes(), rssStart, rssStart*1024, m["VmRSS:"], m["VmRSS:"]*1024, m["RssAnon:"], m["RssFile:"], highest)
}

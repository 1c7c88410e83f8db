package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bridged/internal/testutil"
)

// mixed posts n messages (one in ten of two parts, one in four with a
// delivery report) through four modems without network latency while the
// network delivers SMS to them (one in three of two parts), and measures
// the time until every message is final (sent, or delivered when a report
// was asked for) and every inbound SMS is in the inbox.
func mixed(bin string, n int) {
	const modems = 4
	r := start(bin, modems, 0, 30*time.Second)
	defer r.stop()
	sims := r.net.Modems()
	var posted, parts, reports atomic.Int64
	injected := map[string]bool{}
	var injMu sync.Mutex
	stopInject := make(chan struct{})
	injDone := make(chan struct{})
	startT := time.Now()
	go func() {
		// About one inbound SMS per ten outbound, spread over the posting.
		defer close(injDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopInject:
				return
			case <-tick.C:
			}
			text := fmt.Sprintf("inbound %d", i)
			if i%3 == 1 {
				text += strings.Repeat(" a long inbound message", 10)
			}
			if err := sims[i%modems].Deliver(fmt.Sprintf("+4477009%05d", i%1000), text); err != nil {
				log.Fatal(err)
			}
			injMu.Lock()
			injected[text] = true
			injMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	const clients = 16
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += clients {
				text := fmt.Sprintf("mixed %d", i)
				p := 1
				if i%10 == 3 {
					text += strings.Repeat(" two parts", 20)
					p = 2
				}
				report := i%4 == 0
				code, err := postMessage(r.addr, map[string]any{"to": fmt.Sprintf("+44741%07d", i), "text": text, "report": report})
				if err != nil {
					log.Fatalf("post: %v", err)
				}
				if code != http.StatusAccepted {
					log.Fatalf("post: %d", code)
				}
				posted.Add(1)
				parts.Add(int64(p))
				if report {
					reports.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	postT := time.Since(startT)
	close(stopInject)
	<-injDone
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if _, err := r.net.WaitSent(ctx, int(parts.Load())); err != nil {
		log.Fatal(err)
	}
	sentT := time.Since(startT)
	// Then final by the API: nothing queued or sending, and no message
	// that asked for a report still waiting for it.
	if !testutil.UntilEvery(5*time.Minute, 20*time.Millisecond, func() bool {
		if count(r.addr, "queued") > 0 || count(r.addr, "sending") > 0 || total(r.addr, "/v1/messages?limit=1000&status=delivered") < int(reports.Load()) {
			return false
		}
		return total(r.addr, "/v1/inbox?limit=1000") >= len(injected)
	}) {
		log.Fatal("mixed: messages not final 5 minutes after the last part left")
	}
	el := time.Since(startT)
	_, peak := r.rss()
	cpu := r.cpu()
	// Every inbound SMS once, whole.
	seen := map[string]int{}
	for cursor := ""; ; {
		var page struct {
			Messages []struct {
				Text       string `json:"text"`
				Incomplete bool   `json:"incomplete"`
			} `json:"messages"`
			NextCursor string `json:"next_cursor"`
		}
		getJSON(r.addr, "/v1/inbox?limit=1000&cursor="+cursor, &page)
		if len(page.Messages) == 0 {
			break
		}
		for _, m := range page.Messages {
			if m.Incomplete {
				log.Fatalf("mixed: inbound %q incomplete", m.Text)
			}
			seen[m.Text]++
		}
		cursor = page.NextCursor
	}
	for text := range injected {
		if seen[text] != 1 {
			log.Fatalf("mixed: inbound %q in the inbox %d times", text, seen[text])
		}
	}
	if len(seen) != len(injected) {
		log.Fatalf("mixed: %d texts in the inbox, %d injected", len(seen), len(injected))
	}
	fmt.Printf("mixed: %d messages (%d parts, %d with a report) through %d modems without network latency, %d inbound SMS alongside: "+
		"posted in %v, every part out in %v, all final in %v: %.0f messages/s end to end; %d inbound each in the inbox once; peak RSS %.1f MB; daemon CPU %v (%.0f%% of one core)\n",
		posted.Load(), parts.Load(), reports.Load(), modems, len(injected), postT.Round(time.Millisecond), sentT.Round(time.Millisecond), el.Round(time.Millisecond),
		float64(posted.Load())/el.Seconds(), len(injected), peak, cpu.Round(10*time.Millisecond), 100*cpu.Seconds()/el.Seconds())
}

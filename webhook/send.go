package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bridged/queue"
)

// send POSTs d's payload, byte for byte, with the event's headers and
// signature, and returns the response's status and Retry-After. Its errors
// never carry the URL, which may hold a credential.
func (e *endpointLoop) send(ctx context.Context, d *queue.WebhookDelivery) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.ep.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, 0, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bridged")
	req.Header.Set("X-Bridged-Event", d.Event)
	req.Header.Set("X-Bridged-Delivery", strconv.FormatInt(d.ID, 10))
	req.Header.Set("X-Bridged-Signature", Signature(e.s.Now(), d.Payload, e.ep.Secrets))
	resp, err := e.s.client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, 0, fmt.Errorf("POST: %w", err)
	}
	defer resp.Body.Close()
	// Read a little so that the connection can be reused; a receiver's
	// long answer is not ours to store.
	io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// retryAfter reads a Retry-After header, seconds or an HTTP date; 0 when
// absent or unreadable. The store bounds it by the endpoint's max_backoff.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

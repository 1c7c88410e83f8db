package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hook is one request a Receiver took.
type Hook struct {
	Event, Delivery, Signature, ContentType string
	Body                                    []byte
	// Verified: the signature is valid under one of the receiver's
	// secrets (VerifySignature) and its time is within a minute.
	Verified bool
}

// Receiver is a webhook endpoint on 127.0.0.1 that records what it is
// sent and answers as the test says: a status, or nothing at all (Hang).
// It can go down and come back on the same address.
type Receiver struct {
	// URL is where it listens, the same across Down and Up.
	URL  string
	addr string
	tb   testing.TB

	secrets []string

	mu       sync.Mutex
	srv      *http.Server
	hooks    []Hook
	status   int
	hang     chan struct{} // closed by Release; nil when not hanging
	inFlight int
	maxIn    int
	changed  chan struct{} // closed at each new hook
}

// NewReceiver starts a receiver answering 200 that checks signatures
// against secrets. It is closed at the test's end.
func NewReceiver(tb testing.TB, secrets ...string) *Receiver {
	tb.Helper()
	r := &Receiver{tb: tb, secrets: secrets, status: http.StatusOK, changed: make(chan struct{})}
	r.listen("127.0.0.1:0")
	r.URL = "http://" + r.addr + "/hook"
	tb.Cleanup(func() {
		r.Release()
		r.Down()
	})
	return r
}

func (r *Receiver) listen(addr string) {
	r.tb.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may take a moment to
	// give it back after Down.
	Until(5*time.Second, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	if err != nil {
		r.tb.Fatalf("receiver listen %s: %v", addr, err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// Down closes the receiver: connections are refused until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up listens again on the same address.
func (r *Receiver) Up() { r.listen(r.addr) }

// Answer sets the status of the answers from now on.
func (r *Receiver) Answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

// Hang makes requests from now on wait, unanswered, until Release.
func (r *Receiver) Hang() {
	r.mu.Lock()
	if r.hang == nil {
		r.hang = make(chan struct{})
	}
	r.mu.Unlock()
}

// Release answers the requests Hang held.
func (r *Receiver) Release() {
	r.mu.Lock()
	if r.hang != nil {
		close(r.hang)
		r.hang = nil
	}
	r.mu.Unlock()
}

// Hooks returns the requests taken so far, in the order they arrived.
func (r *Receiver) Hooks() []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hook(nil), r.hooks...)
}

// MaxInFlight is the most requests the receiver held at once.
func (r *Receiver) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxIn
}

// WaitHooks waits until cond holds for the hooks taken, failing the test
// after timeout with what it last saw.
func (r *Receiver) WaitHooks(tb testing.TB, timeout time.Duration, what string, cond func([]Hook) bool) []Hook {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		hooks, changed := append([]Hook(nil), r.hooks...), r.changed
		r.mu.Unlock()
		if cond(hooks) {
			return hooks
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("webhook receiver: %s not seen within %v; %d requests taken", what, timeout, len(hooks))
			return nil
		}
	}
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return
	}
	h := Hook{
		Event: req.Header.Get("X-Bridged-Event"), Delivery: req.Header.Get("X-Bridged-Delivery"),
		Signature: req.Header.Get("X-Bridged-Signature"), ContentType: req.Header.Get("Content-Type"),
		Body: body,
	}
	h.Verified = VerifySignature(h.Signature, body, r.secrets, time.Now(), time.Minute) == nil
	r.mu.Lock()
	r.hooks = append(r.hooks, h)
	close(r.changed)
	r.changed = make(chan struct{})
	status, hang := r.status, r.hang
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if hang != nil {
		select {
		case <-hang:
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
}

// VerifySignature checks an X-Bridged-Signature header the way a receiver
// would, written here apart from the sender's code: the time is within
// tolerance of now and one of the v1= values is HMAC-SHA256(secret,
// t + "." + body) under one of secrets.
func VerifySignature(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no time")
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return errors.New("too old")
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		io.WriteString(mac, ts+".")
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return errors.New("no valid v1")
}

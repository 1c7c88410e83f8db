package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"bridged/internal/testutil"
	"bridged/queue"
)

// TestBodyRefusesWhatDecodingWouldChange: encoding/json turns invalid
// UTF-8 and lone surrogates into U+FFFD, matches keys case-insensitively
// and keeps the last of duplicates; each would send a text other than the
// one written, so each is refused with the field.
func TestBodyRefusesWhatDecodingWouldChange(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		body    string
		status  int
		code    string
		field   string
		message string // a part of the message
		text    string // for a 202: the text stored
	}{
		{name: "invalid UTF-8 in text", body: "{\"to\":\"+447400123456\",\"text\":\"caf\xe9\"}", status: 400,
			code: CodeInvalidField, field: "text", message: "not valid UTF-8 (byte 33 of the body)"},
		{name: "invalid UTF-8 in a recipient", body: "{\"to\":[\"+447400123456\",\"+44740012345\xff\"],\"text\":\"a\"}", status: 400,
			code: CodeInvalidField, field: "to[1]", message: "not valid UTF-8"},
		{name: "invalid UTF-8 in a key", body: "{\"to\":\"+447400123456\",\"text\":\"a\",\"\xff\":1}", status: 400,
			code: CodeInvalidJSON, message: "a key at byte 34 is not valid UTF-8"},
		{name: "lone high surrogate", body: `{"to":"+447400123456","text":"a\ud800"}`, status: 400,
			code: CodeInvalidField, field: "text", message: `lone UTF-16 surrogate \ud800`},
		{name: "lone low surrogate", body: `{"to":"+447400123456","text":"\udc00b"}`, status: 400,
			code: CodeInvalidField, field: "text", message: `lone UTF-16 surrogate \udc00`},
		{name: "high surrogate before a non-surrogate escape", body: `{"to":"+447400123456","text":"\ud83d\u0041"}`, status: 400,
			code: CodeInvalidField, field: "text", message: `\ud83d`},
		{name: "two high surrogates", body: `{"to":"+447400123456","text":"\ud83d\ud83d\ude00"}`, status: 400,
			code: CodeInvalidField, field: "text", message: `\ud83d`},
		{name: "keys differing in case", body: `{"to":"+447400123456","text":"a","TEXT":"b"}`, status: 400,
			code: CodeInvalidField, field: "TEXT", message: `TEXT: is not a known field: did you mean "text"?`},
		{name: "a key in another case alone", body: `{"To":"+447400123456","text":"a"}`, status: 400,
			code: CodeInvalidField, field: "To", message: `did you mean "to"?`},
		{name: "Kelvin sign for k", body: `{"to":"+447400123456","text":"a","\u212aey":"b"}`, status: 400,
			code: CodeInvalidField, field: "\u212aey", message: "not a known field"},
		{name: "long s for s", body: `{"to":"+447400123456","text":"a","\u017fend_at":"2026-03-01T09:00:00Z"}`, status: 400,
			code: CodeInvalidField, field: "\u017fend_at", message: `did you mean "send_at"?`},
		{name: "duplicate key", body: `{"to":"+447400123456","text":"a","text":"b"}`, status: 400,
			code: CodeInvalidField, field: "text", message: "text: is given twice"},
		{name: "duplicate recipients key", body: `{"to":"+447400123456","text":"a","to":["+447400123457"]}`, status: 400,
			code: CodeInvalidField, field: "to", message: "is given twice"},
		{name: "estimate: duplicate key", path: "/v1/estimate", body: `{"text":"a","text":"b"}`, status: 400,
			code: CodeInvalidField, field: "text", message: "is given twice"},
		{name: "estimate: lone surrogate", path: "/v1/estimate", body: `{"text":"\ud800"}`, status: 400,
			code: CodeInvalidField, field: "text", message: "surrogate"},
		{name: "estimate: invalid UTF-8", path: "/v1/estimate", body: "{\"text\":\"\xc3\"}", status: 400,
			code: CodeInvalidField, field: "text", message: "UTF-8"},
		// What is right is still accepted, exactly as written.
		{name: "surrogate pair", body: `{"to":"+447400123456","text":"\ud83d\ude00"}`, status: 202, text: "😀"},
		{name: "escaped backslash before u", body: `{"to":"+447400123456","text":"\\ud800"}`, status: 202, text: `\ud800`},
		{name: "UTF-8 text", body: `{"to":"+447400123456","text":"Hello 你好 😀 é"}`, status: 202, text: "Hello 你好 😀 é"},
		{name: "escaped quote and slash", body: `{"to":"+447400123456","text":"\"\/\u00e9"}`, status: 202, text: `"/é`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustServe(t, Options{}, queue.Options{})
			path := tt.path
			if path == "" {
				path = "/v1/messages"
			}
			r := e.do("POST", path, tt.body)
			if r.status != tt.status || r.errorField("code") != tt.code || r.errorField("field") != tt.field ||
				!strings.Contains(r.errorField("message"), tt.message) {
				t.Fatalf("got %d %s, want %d code %s field %q message containing %q", r.status, r.raw, tt.status, tt.code, tt.field, tt.message)
			}
			p, err := e.store.List(context.Background(), queue.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.status != 202 && len(p.Messages) != 0:
				t.Errorf("stored after a refusal: %d messages", len(p.Messages))
			case tt.status == 202 && (len(p.Messages) != 1 || p.Messages[0].Text != tt.text):
				t.Errorf("stored %+v, want the text %q", p.Messages, tt.text)
			}
		})
	}
}

// TestTimesThatWouldOverflow: times are stored as int64 nanoseconds, which
// end in 2262; a later one used to wrap around to the past.
func TestTimesThatWouldOverflow(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	for _, tt := range []struct{ name, body, message string }{
		{name: "send_at in 9999", body: `{"to":"+447400123456","text":"a","send_at":"9999-12-31T23:59:59Z"}`, message: "outside the years 1970 to 2199"},
		{name: "send_at in 2200", body: `{"to":"+447400123456","text":"a","send_at":"2200-01-01T00:00:00Z"}`, message: "outside the years"},
		{name: "send_at before 1970", body: `{"to":"+447400123456","text":"a","send_at":"0001-01-01T00:00:00Z"}`, message: "outside the years"},
	} {
		r := e.do("POST", "/v1/messages", tt.body)
		if r.status != 400 || r.errorField("field") != "send_at" || !strings.Contains(r.errorField("message"), tt.message) {
			t.Errorf("%s: %d %s", tt.name, r.status, r.raw)
		}
	}
	if p, _ := e.store.List(context.Background(), queue.Filter{}); len(p.Messages) != 0 {
		t.Fatalf("stored %d messages", len(p.Messages))
	}
	// The edges of the range are accepted and stored as given.
	ids := e.send(`{"to":"+447400123456","text":"a","send_at":"2199-12-31T23:59:59Z"}`)
	m := e.must(200, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), "").body
	if m["send_at"] != "2199-12-31T23:59:59Z" || m["status"] != "queued" {
		t.Errorf("send_at stored as %v, status %v", m["send_at"], m["status"])
	}

	e.receive("+447400123450", "hello", time.Now())
	for _, since := range []string{"9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "1000-01-01T00:00:00Z"} {
		r := e.do("GET", "/v1/inbox?since="+since, "")
		if r.status != 400 || r.errorField("field") != "since" || !strings.Contains(r.errorField("message"), "outside the years") {
			t.Errorf("since=%s: %d %s", since, r.status, r.raw)
		}
	}
	if r := e.must(200, "GET", "/v1/inbox?since=2199-12-31T00:00:00Z", ""); len(messages(r)) != 0 {
		t.Errorf("since 2199 listed %s", r.raw)
	}
	if r := e.must(200, "GET", "/v1/inbox?since=1970-01-01T00:00:00Z", ""); len(messages(r)) != 1 {
		t.Errorf("since 1970 listed %s", r.raw)
	}
}

func TestQueryParametersOnce(t *testing.T) {
	e := MustServe(t, Options{}, queue.Options{})
	r := e.must(400, "GET", "/v1/messages?status=queued&status=failed", "")
	if r.errorField("field") != "status" || !strings.Contains(r.errorField("message"), "given 2 times") {
		t.Errorf("%s", r.raw)
	}
	r = e.must(400, "GET", "/v1/inbox?from=%zz", "")
	if r.errorField("code") != CodeInvalidField || !strings.Contains(r.errorField("message"), "does not parse") {
		t.Errorf("%s", r.raw)
	}
	e.must(200, "GET", "/v1/inbox?from=%2B447400123456&limit=2", "")
}

func TestMaxRecipients(t *testing.T) {
	numbers := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"+44740012%04d"`, i)
		}
		return `{"to":[` + b.String() + `],"text":"a"}`
	}
	e := MustServe(t, Options{}, queue.Options{})
	r := e.must(422, "POST", "/v1/messages", numbers(DefaultMaxRecipients+1))
	if r.errorField("code") != CodeTooManyRecipients || r.errorField("field") != "to" ||
		!strings.Contains(r.errorField("message"), "has 101 recipients, more than the 100") {
		t.Errorf("%s", r.raw)
	}
	if p, _ := e.store.List(context.Background(), queue.Filter{}); len(p.Messages) != 0 {
		t.Fatalf("stored %d messages", len(p.Messages))
	}
	if ids := e.send(numbers(DefaultMaxRecipients)); len(ids) != DefaultMaxRecipients {
		t.Errorf("%d messages for %d recipients", len(ids), DefaultMaxRecipients)
	}

	small := MustServe(t, Options{MaxRecipients: 2}, queue.Options{})
	small.must(422, "POST", "/v1/messages", numbers(3))
	small.send(numbers(2))
	if _, err := New(Options{MaxRecipients: -1}, Deps{Store: e.store, Health: e.store}); err == nil {
		t.Error("New accepted a negative MaxRecipients")
	}
}

// doHost sends GET path with the Host header host.
func (e *testEnv) doHost(host, path string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestHostCheck: without tokens, a page that made its own name resolve to
// 127.0.0.1 (DNS rebinding) must not reach the API.
func TestHostCheck(t *testing.T) {
	const token = "0123456789abcdef-token"
	tests := []struct {
		name   string
		opts   Options
		host   string
		status int
	}{
		{name: "foreign name", opts: Options{}, host: "attacker.example", status: 403},
		{name: "foreign name with port", opts: Options{}, host: "attacker.example:8080", status: 403},
		{name: "localhost", opts: Options{}, host: "localhost:8080", status: 200},
		{name: "localhost upper-case with dot", opts: Options{}, host: "LOCALHOST.:8080", status: 200},
		{name: "127.0.0.1 without port", opts: Options{}, host: "127.0.0.1", status: 200},
		{name: "127.0.0.0/8", opts: Options{}, host: "127.1.2.3:8080", status: 200},
		{name: "IPv6 loopback", opts: Options{}, host: "[::1]:8080", status: 200},
		{name: "all interfaces", opts: Options{}, host: "0.0.0.0:8080", status: 403},
		{name: "a subdomain of localhost", opts: Options{}, host: "localhost.attacker.example", status: 403},
		{name: "LAN address", opts: Options{}, host: "192.168.1.20:8080", status: 403},
		{name: "allowed name", opts: Options{AllowedHosts: []string{"Bridged.LAN"}}, host: "bridged.lan:8080", status: 200},
		{name: "allowed address", opts: Options{AllowedHosts: []string{"192.168.1.20"}}, host: "192.168.1.20:8080", status: 200},
		{name: "allowed IPv6 address", opts: Options{AllowedHosts: []string{"[fd00::1]"}}, host: "[fd00::1]:8080", status: 200},
		{name: "not the allowed name", opts: Options{AllowedHosts: []string{"bridged.lan"}}, host: "attacker.example", status: 403},
		{name: "loopback besides the allowed", opts: Options{AllowedHosts: []string{"bridged.lan"}}, host: "localhost:8080", status: 200},
		// A browser cannot add the bearer token, so tokens alone protect.
		{name: "tokens: any name", opts: Options{Tokens: []string{token}}, host: "attacker.example", status: 200},
		{name: "tokens and allowed hosts", opts: Options{Tokens: []string{token}, AllowedHosts: []string{"bridged.lan"}}, host: "attacker.example", status: 403},
		{name: "tokens and an allowed host", opts: Options{Tokens: []string{token}, AllowedHosts: []string{"bridged.lan"}}, host: "bridged.lan", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustServe(t, tt.opts, queue.Options{})
			for _, path := range []string{"/v1/messages", "/v1/inbox", "/healthz"} {
				status, body := e.doHost(tt.host, path)
				if status != tt.status {
					t.Errorf("GET %s with Host %s: %d %s, want %d", path, tt.host, status, body, tt.status)
				}
				if status == 403 && (!strings.Contains(body, CodeHostNotAllowed) || !strings.Contains(body, "allowed_hosts")) {
					t.Errorf("refusal: %s", body)
				}
			}
		})
	}
	if _, err := New(Options{AllowedHosts: []string{""}}, Deps{Store: MustServe(t, Options{}, queue.Options{}).store,
		Health: MustServe(t, Options{}, queue.Options{}).store}); err == nil {
		t.Error("New accepted an empty allowed host")
	}
}

// TestIdempotencyPerToken: each token has its own keys. Token B using A's
// key makes a new request in B's scope; A's replay still returns A's.
func TestIdempotencyPerToken(t *testing.T) {
	const tokA, tokB = "token-a-0123456789abcdef", "token-b-0123456789abcdef"
	e := MustServe(t, Options{Tokens: []string{tokA, tokB}}, queue.Options{})
	body := `{"to":"+447400123456","text":"once"}`
	a := e.send(body, "Authorization", "Bearer "+tokA, "Idempotency-Key", "order-17")
	b := e.send(body, "Authorization", "Bearer "+tokB, "Idempotency-Key", "order-17")
	if a[0] == b[0] {
		t.Fatalf("token B got token A's message %d", a[0])
	}
	for _, tt := range []struct {
		token string
		want  int64
	}{{tokA, a[0]}, {tokB, b[0]}} {
		r := e.must(http.StatusAccepted, "POST", "/v1/messages", body, "Authorization", "Bearer "+tt.token, "Idempotency-Key", "order-17")
		if got := int64(messages(r)[0]["id"].(float64)); got != tt.want || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay gave %d (replayed %q), want %d", got, r.header.Get("Idempotent-Replayed"), tt.want)
		}
	}
	// Another body under the same key is a conflict in one's own scope
	// only, and B's use of the key did not make A's body a conflict.
	e.must(http.StatusConflict, "POST", "/v1/messages", `{"to":"+447400123456","text":"other"}`,
		"Authorization", "Bearer "+tokA, "Idempotency-Key", "order-17")
	e.send(`{"to":"+447400123456","text":"other"}`, "Authorization", "Bearer "+tokA, "Idempotency-Key", "order-18")
	e.send(`{"to":"+447400123457","text":"different"}`, "Authorization", "Bearer "+tokB, "Idempotency-Key", "order-18")

	// The token is not what is stored.
	p, err := e.store.List(context.Background(), queue.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Messages {
		if strings.Contains(fmt.Sprintf("%+v", m), "token-") {
			t.Errorf("a token is stored with message %d", m.ID)
		}
	}
}

// TestBodyTimeout: a body that does not arrive within ReadTimeout is 408,
// and the answer names no socket address.
func TestBodyTimeout(t *testing.T) {
	e := MustServeWith(t, Options{}, queue.Options{}, func(s *http.Server) { s.ReadTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 40 bytes promised, 12 sent: the server waits for the rest.
	fmt.Fprintf(c, "POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"to\":\"+4474")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	var out struct{ Error Error }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%d %s: %v", res.StatusCode, b, err)
	}
	if res.StatusCode != http.StatusRequestTimeout || out.Error.Code != CodeRequestTimeout {
		t.Errorf("%d %s, want 408 %s", res.StatusCode, b, CodeRequestTimeout)
	}
	if strings.Contains(string(b), "127.0.0.1") || strings.Contains(string(b), "tcp") {
		t.Errorf("the answer names a socket: %s", b)
	}
}

// countingListener counts the connections taken from the kernel.
type countingListener struct {
	net.Listener
	accepted chan net.Conn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted <- c
	}
	return c, err
}

// TestLimitListener: with N connections open, the N+1th is not taken from
// the listen queue, so nothing answers it, until one of the N closes.
func TestLimitListener(t *testing.T) {
	const n = 2
	e := MustServe(t, Options{}, queue.Options{})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingListener{Listener: inner, accepted: make(chan net.Conn, 10)}
	ln := LimitListener(counting, n).(*limitListener)
	srv := &http.Server{Handler: e.h}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()

	get := func(c net.Conn) (*http.Response, error) {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return res, err
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var open []net.Conn
	for range n {
		c := dial()
		if res, err := get(c); err != nil || res.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", len(open)+1, res, err)
		}
		open = append(open, c)
		<-counting.accepted
	}
	// The N connections stay open (keep-alive); the server waits for a
	// slot before it takes another from the kernel.
	extra := dial()
	fmt.Fprintf(extra, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
	testutil.Eventually(t, "Accept waiting for a slot", func() bool {
		select {
		case <-counting.accepted:
			t.Fatal("the connection over the limit was accepted")
		default:
		}
		return ln.waiting.Load() == 1 && len(ln.slots) == n
	})
	// Nothing has answered it: a read finds no byte.
	extra.SetReadDeadline(time.Now())
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection over the limit was answered: %v", err)
	}

	open[0].Close()
	extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after a close, the waiting connection got %v %v", res, err)
	}
	<-counting.accepted
}

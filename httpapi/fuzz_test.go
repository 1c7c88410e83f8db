package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"bridged/queue"
)

// FuzzDecodeRequest feeds arbitrary bodies to the decoding of POST
// /v1/messages and /v1/estimate, and arbitrary query strings to GET
// /v1/messages and /v1/inbox. Nothing panics or is a 500, every refusal is
// a client error whose text is valid UTF-8, and an accepted body means
// exactly what it says: valid UTF-8, each key once and spelt as its field,
// and no U+FFFD that the body did not write.
//
//	go test ./httpapi -run '^$' -fuzz FuzzDecodeRequest -parallel 1
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []struct{ body, query string }{
		{`{"to":"+447400123456","text":"Hello 你好 😀"}`, "status=queued&limit=2"},
		{`{"to":["+447400123456","07400 123457"],"text":"a","priority":"high","send_at":"2026-03-01T09:00:00Z","valid_for":"1d12h","flash":true,"report":false,"modem":"m1"}`, "to=%2B447400123456"},
		{"{\"to\":\"+447400123456\",\"text\":\"caf\xe9\"}", "since=2026-03-01T09:00:00Z"},
		{`{"to":"+447400123456","text":"a\ud800"}`, "since=9999-12-31T23:59:59Z"},
		{`{"to":"+447400123456","text":"\ud83d\ude00\\ud800"}`, "from=VODAFONE&cursor=abc"},
		{`{"text":"a","TEXT":"b"}`, "status=queued&status=failed"},
		{`{"text":"a","text":"b"}`, "limit=%zz"},
		{`{"to":[[["x"]]],"text":{"a":{"a":1,"A":2}}}`, "unknown=1"},
		{`{"to":"+447400123456","text":"a","send_at":"9999-12-31T23:59:59Z"}`, ""},
		{`{"to":"+447400123456","text":"a"} {}`, "limit=0"},
		{`[1]`, "cursor="},
	} {
		f.Add([]byte(seed.body), seed.query)
	}
	path := filepath.Join(f.TempDir(), "bridged.db")
	st, err := queue.Open(path, queue.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h, err := New(Options{DefaultCountry: "GB"}, Deps{Store: st, Health: st, Modems: &testModems{}})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, query string) {
		var send sendRequest
		if err := decodeBody(body, &send); err != nil {
			checkRefusal(t, err)
		} else {
			checkMeaning(t, body, jsonFields(&send))
			if send.Text != nil {
				checkNoReplacement(t, body, *send.Text)
			}
			if _, err := h.newMessages(&send); err != nil {
				checkRefusal(t, err)
			}
		}
		var est estimateRequest
		if err := decodeBody(body, &est); err != nil {
			checkRefusal(t, err)
		} else {
			checkMeaning(t, body, jsonFields(&est))
		}

		for _, p := range []string{"/v1/messages", "/v1/inbox"} {
			req := httptest.NewRequest("GET", "http://localhost"+p, nil)
			req.URL.RawQuery = query
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s?%s: %d %s", p, query, rec.Code, rec.Body)
			}
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("GET %s?%s: the answer is not JSON: %v\n%s", p, query, err, rec.Body)
			}
			if rec.Code >= 400 {
				if msg, _ := out["error"].(map[string]any)["message"].(string); msg == "" {
					t.Fatalf("GET %s?%s: %d without a message: %s", p, query, rec.Code, rec.Body)
				}
			}
		}
	})
}

// checkRefusal: a refusal is an *Error the client can act on, never a 500.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		e = toError(err)
	}
	switch st := Status(e.Code); {
	case st >= 500:
		t.Fatalf("refused as %d: %v", st, err)
	case st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge && st != http.StatusUnprocessableEntity:
		t.Fatalf("a body refused with %d: %v", st, err)
	}
	if e.Message == "" || !utf8.ValidString(e.Error()) {
		t.Fatalf("refusal without a readable message: %q", e.Error())
	}
}

// checkMeaning: an accepted body is valid UTF-8 and its top-level keys are
// each given once, spelt exactly as a field.
func checkMeaning(t *testing.T, body []byte, fields map[string]bool) {
	t.Helper()
	if !utf8.Valid(body) {
		t.Fatalf("accepted a body that is not valid UTF-8: %q", body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("accepted a body that is not an object: %q", body)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
		key := tok.(string)
		if seen[key] || !fields[key] {
			t.Fatalf("accepted key %q (given before: %v) in %q", key, seen[key], body)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
	}
}

// checkNoReplacement: U+FFFD in the decoded text must have been written,
// as itself or escaped; the decoder puts it in for what it cannot read.
func checkNoReplacement(t *testing.T, body []byte, text string) {
	t.Helper()
	if !strings.ContainsRune(text, utf8.RuneError) {
		return
	}
	lower := strings.ToLower(string(body))
	if !strings.Contains(lower, `\ufffd`) && !strings.ContainsRune(string(body), utf8.RuneError) {
		t.Fatalf("the text %q has U+FFFD the body %q did not write", text, body)
	}
}

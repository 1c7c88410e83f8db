package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeJSON reads a JSON object body into v strictly: JSON content type,
// at most MaxBodyBytes, no unknown field, nothing after the object. A typo
// in a field name is an error rather than a silently ignored option; so is
// anything encoding/json would quietly change (see strictJSON).
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &Error{Code: CodeUnsupportedMedia, Message: "Content-Type is missing: send the body as application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &Error{Code: CodeUnsupportedMedia, Message: fmt.Sprintf("Content-Type %q is not accepted: send the body as application/json", ct)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &Error{Code: CodeUnsupportedMedia, Message: fmt.Sprintf("charset %q is not accepted: JSON is UTF-8", cs)}
	}
	// The whole body is read first (at most MaxBodyBytes) because it is
	// looked at twice: checked token by token, then decoded.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		return bodyError(err)
	}
	return decodeBody(body, v)
}

// decodeBody decodes one JSON object into v, a pointer to a struct, as
// decodeJSON does once the body is read.
func decodeBody(body []byte, v any) error {
	// The strict pass comes first: the decoder would report a key that is
	// not valid UTF-8 as an unknown field named "\ufffd".
	if err := strictJSON(body, jsonFields(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Code: CodeInvalidJSON, Message: "unexpected data after the JSON object: send exactly one object"}
	}
	return nil
}

// bodyError says why a body could not be read. The cause is logged, not
// shown: net errors name both socket addresses ("read tcp
// 127.0.0.1:8080->127.0.0.1:51234: i/o timeout").
func bodyError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return jsonError(err)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Code: CodeRequestTimeout, Err: err,
			Message: "the body did not arrive within the server's read timeout: send it at once, or ask for a longer [http] read_timeout"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Code: CodeInvalidJSON, Err: err, Message: "the body ended before its Content-Length"}
	}
	return &Error{Code: CodeInvalidJSON, Err: err, Message: "the body could not be read to its end"}
}

// maxJSONDepth bounds nesting: a request is an object of scalars and at
// most one array of strings, and each level costs the check below a frame.
const maxJSONDepth = 32

// strictJSON refuses what encoding/json accepts but changes: invalid UTF-8
// and lone UTF-16 surrogates (\ud800), which it replaces with U+FFFD, and
// duplicate keys, which it resolves silently, the last one winning even
// when it differs only in case ({"text":"a","TEXT":"b"} sends "b"). Keys of
// the top-level object must be exactly one of fields. It stops at the
// first syntax error, returning nil: that is for the decoder to explain.
func strictJSON(body []byte, fields map[string]bool) error {
	type frame struct {
		object bool
		path   string            // the container's own field path, "" at the top
		key    string            // object: the key of the value that comes next
		keyed  bool              // object: key holds a key whose value has not come yet
		index  int               // array: the index of the next element
		seen   map[string]string // object: keys so far, by their case-folded form
	}
	var stack []*frame
	// valuePath names the value that comes next in f, as a client wrote it:
	// "text", "to[1]".
	valuePath := func(f *frame) string {
		switch {
		case f == nil:
			return ""
		case !f.object:
			return fmt.Sprintf("%s[%d]", f.path, f.index)
		case f.path == "":
			return f.key
		}
		return f.path + "." + f.key
	}
	// consumed records that f's next value has been read.
	consumed := func(f *frame) {
		switch {
		case f == nil:
		case f.object:
			f.keyed = false
		default:
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		end := dec.InputOffset()
		start := prev
		prev = end
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxJSONDepth {
					return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("the JSON is nested deeper than %d levels", maxJSONDepth)}
				}
				f := &frame{object: t == '{', path: valuePath(top)}
				consumed(top)
				stack = append(stack, f)
			default:
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
			}
			continue
		case string:
			// The token as written: from its opening quote (what comes
			// before is white space, ':' or ',') to the end.
			raw := body[start:end]
			q := bytes.IndexByte(raw, '"')
			if q < 0 {
				return nil
			}
			raw, start = raw[q:], start+int64(q)
			isKey := top != nil && top.object && !top.keyed
			problem, hint, at := checkString(raw)
			if problem != "" {
				if isKey {
					return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("a key at byte %d %s: %s", start+int64(at), problem, hint)}
				}
				return fieldError(valuePath(top), "%s (byte %d of the body): %s", problem, start+int64(at), hint)
			}
			if isKey {
				top.key, top.keyed = t, true
				name := valuePath(top)
				if len(stack) == 1 && !fields[t] {
					for f := range fields {
						if strings.EqualFold(f, t) {
							return fieldError(name, "is not a known field: did you mean %q? Keys are case-sensitive", f)
						}
					}
					return fieldError(name, "is not a known field")
				}
				// Folded as encoding/json matches keys to fields.
				folded := strings.ToLower(strings.ToUpper(t))
				if top.seen == nil {
					top.seen = map[string]string{}
				}
				if first, dup := top.seen[folded]; dup {
					if first == t {
						return fieldError(name, "is given twice: give each field once")
					}
					return fieldError(name, "and %q are the same field written twice (keys differ only in case): give each field once", first)
				}
				top.seen[folded] = t
				continue
			}
		}
		if len(stack) == 0 {
			return nil // a scalar at the top: the decoder refused it already
		}
		consumed(top)
	}
}

// checkString looks at a JSON string as written, quotes included, and
// returns what is wrong with it, what to do instead and at which byte, or
// "" when nothing is. An escape that is not followed by what JSON requires
// ends the check: the decoder refuses that.
func checkString(raw []byte) (problem, hint string, at int) {
	if !utf8.Valid(raw) {
		for i := 0; i < len(raw); {
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n <= 1 {
				return "is not valid UTF-8", "send text in UTF-8", i
			}
			i += n
		}
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw, i+1)
		if !ok {
			return "", "", 0
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			// A high surrogate must be followed by a low one.
			if i+10 < len(raw) && raw[i+5] == '\\' && raw[i+6] == 'u' {
				if lo, ok := hex4(raw, i+7); ok && lo >= 0xdc00 && lo < 0xe000 {
					i += 10
					continue
				}
			}
			fallthrough
		case r >= 0xdc00 && r < 0xe000:
			return fmt.Sprintf("has a lone UTF-16 surrogate \\u%04x, which is no character", r),
				"a character beyond U+FFFF is written as a pair such as \\ud83d\\ude00, or sent as UTF-8", i - 1
		}
		i += 4
	}
	return "", "", 0
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// jsonFields returns the JSON names of the fields of the struct v points
// to, as encoding/json would decode them.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fields := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return fields
	}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = true
	}
	return fields
}

func jsonError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		e        *Error
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &tooLarge):
		return &Error{Code: CodeBodyTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit)}
	case errors.Is(err, io.EOF):
		return &Error{Code: CodeInvalidJSON, Message: "the body is empty: send a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Code: CodeInvalidJSON, Message: "the body ends in the middle of the JSON"}
	case errors.As(err, &syntax):
		return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("the body is not valid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("the body must be a JSON object, not %s", article(typ.Value))}
		}
		return fieldError(typ.Field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), article(typ.Value))
	}
	// encoding/json has no type for an unknown field, only this text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return fieldError(name, "is not a known field")
	}
	return &Error{Code: CodeInvalidJSON, Message: "the body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "another type"
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object":
		return "an " + jsonType
	case "null":
		return "null"
	}
	if strings.HasPrefix(jsonType, "number") {
		return "a number"
	}
	return "a " + jsonType
}

// Times a request may give. The store keeps times as int64 nanoseconds
// since 1970, which end in April 2262; a time outside these years would
// wrap around (a send_at in 9999 would be due at once).
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseTime reads an RFC 3339 time from 1970 to 2199; the error says what
// is wrong with s, for the caller to prefix with the field.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as \"2026-03-01T09:00:00Z\"", s)
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%q is outside the years 1970 to 2199 that bridged can store", s)
	}
	return t, nil
}

// maxValidity is the longest relative validity period TP-VP can express
// (TS 23.040 9.2.3.12.1): 63 weeks.
const maxValidity = 63 * 7 * 24 * time.Hour

// parseValidity reads "24h", "90m", "7d" or "1d12h": Go durations plus a
// leading whole number of days, since validity is usually said in days.
func parseValidity(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as \"24h\" or \"7d\"", s)
		}
		if n > 441 {
			return 0, fmt.Errorf("%q is longer than the 63 weeks (441d) a network accepts", s)
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as \"24h\" or \"7d\"", s)
		}
	}
	d += days
	switch {
	case d <= 0:
		return 0, fmt.Errorf("%q must be positive", s)
	case d > maxValidity:
		return 0, fmt.Errorf("%q is longer than the 63 weeks (441d) a network accepts", s)
	}
	return d, nil
}

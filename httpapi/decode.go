package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decodeJSON reads a JSON object body into v strictly: JSON content type,
// at most MaxBodyBytes, no unknown field, nothing after the object. A typo
// in a field name is an error rather than a silently ignored option.
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
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return jsonError(err)
		}
		return &Error{Code: CodeInvalidJSON, Message: "unexpected data after the JSON object: send exactly one object"}
	}
	return nil
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

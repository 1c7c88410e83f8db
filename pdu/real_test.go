package pdu

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// realCase is one PDU from testdata/real_pdus.json: a PDU published for a
// real phone or modem, with where it was found and what it means. Every
// expectation that is present is checked; absent ones are not.
type realCase struct {
	Name       string `json:"name"`
	PDU        string `json:"pdu"`
	Source     string `json:"source"`
	Repository string `json:"repository"`
	Path       string `json:"path"`
	Device     string `json:"device"`
	Note       string `json:"note"`
	// KnownBug says how the codec gets this PDU wrong; the case still fails.
	KnownBug string `json:"known_bug"`

	Type      *string `json:"type"`
	SMSC      *string `json:"smsc"`
	From      *string `json:"from"`
	To        *string `json:"to"`
	Recipient *string `json:"recipient"`
	Text      *string `json:"text"`
	Data      *string `json:"data"` // hex
	Encoding  *string `json:"encoding"`
	// Class and Concat distinguish absent (not checked) from null (none).
	Class           json.RawMessage `json:"class"`
	Concat          json.RawMessage `json:"concat"`
	Timestamp       *string         `json:"timestamp"` // RFC 3339 with the PDU's offset
	Discharge       *string         `json:"discharge"`
	MessageRef      *int            `json:"message_ref"`
	Status          *int            `json:"status"`
	Outcome         *string         `json:"outcome"`
	ReportRequested *bool           `json:"report_requested"`
	Validity        *string         `json:"validity"`
}

func loadRealCases(t *testing.T) []realCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/real_pdus.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cases []realCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("testdata/real_pdus.json: %v", err)
	}
	return cases
}

func TestRealPDUs(t *testing.T) {
	cases := loadRealCases(t)
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/real_pdus.json")
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if c.Name == "" || seen[c.Name] {
			t.Fatalf("case name %q is empty or repeated", c.Name)
		}
		seen[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			if c.Source == "" {
				t.Error("case has no source")
			}
			if c.KnownBug != "" {
				t.Logf("known codec bug: %s", c.KnownBug)
			}
			m, err := Decode(c.PDU)
			if err != nil {
				t.Fatalf("Decode: %v\n  source: %s", err, c.Source)
			}
			checkReal(t, c, m)
		})
	}
}

func checkReal(t *testing.T, c realCase, m *Message) {
	t.Helper()
	str := func(field string, want *string, got string) {
		if want != nil && *want != got {
			t.Errorf("%s = %q, want %q", field, got, *want)
		}
	}
	str("type", c.Type, string(m.Type))
	str("smsc", c.SMSC, m.SMSC)
	str("from", c.From, m.From)
	str("to", c.To, m.To)
	str("recipient", c.Recipient, m.Recipient)
	str("text", c.Text, m.Text)
	str("encoding", c.Encoding, string(m.Encoding))
	str("outcome", c.Outcome, string(m.Outcome))
	str("validity", c.Validity, m.Validity)
	if c.Data != nil {
		want, err := hex.DecodeString(*c.Data)
		if err != nil {
			t.Fatalf("bad data hex in testdata: %v", err)
		}
		if !bytes.Equal(m.Data, want) {
			t.Errorf("data = %X, want %s", []byte(m.Data), strings.ToUpper(*c.Data))
		}
	}
	if c.Class != nil {
		var want *int
		if err := json.Unmarshal(c.Class, &want); err != nil {
			t.Fatalf("bad class in testdata: %v", err)
		}
		switch {
		case want == nil && m.Class != nil:
			t.Errorf("class = %d, want none", *m.Class)
		case want != nil && m.Class == nil:
			t.Errorf("class = none, want %d", *want)
		case want != nil && *want != *m.Class:
			t.Errorf("class = %d, want %d", *m.Class, *want)
		}
	}
	if c.Concat != nil {
		var want *Concat
		if err := json.Unmarshal(c.Concat, &want); err != nil {
			t.Fatalf("bad concat in testdata: %v", err)
		}
		switch {
		case want == nil && m.Concat != nil:
			t.Errorf("concat = %+v, want none", *m.Concat)
		case want != nil && m.Concat == nil:
			t.Errorf("concat = none, want %+v", *want)
		case want != nil && *want != *m.Concat:
			t.Errorf("concat = %+v, want %+v", *m.Concat, *want)
		}
	}
	intp := func(field string, want, got *int) {
		switch {
		case want == nil:
		case got == nil:
			t.Errorf("%s = none, want %d", field, *want)
		case *got != *want:
			t.Errorf("%s = %d, want %d", field, *got, *want)
		}
	}
	intp("message_ref", c.MessageRef, m.MessageRef)
	intp("status", c.Status, m.Status)
	if c.ReportRequested != nil && *c.ReportRequested != m.ReportRequested {
		t.Errorf("report_requested = %v, want %v", m.ReportRequested, *c.ReportRequested)
	}
	realTime(t, "timestamp", c.Timestamp, m.Timestamp)
	realTime(t, "discharge", c.Discharge, m.Discharge)
}

// realTime compares an instant and its UTC offset: the zone is part of what
// the service centre said.
func realTime(t *testing.T, field string, want *string, got *time.Time) {
	t.Helper()
	if want == nil {
		return
	}
	w, err := time.Parse(time.RFC3339, *want)
	if err != nil {
		t.Fatalf("bad %s in testdata: %v", field, err)
	}
	if got == nil {
		t.Errorf("%s = none, want %s", field, *want)
		return
	}
	_, wOff := w.Zone()
	_, gOff := got.Zone()
	if !got.Equal(w) || gOff != wOff {
		t.Errorf("%s = %s, want %s", field, got.Format(time.RFC3339), *want)
	}
}

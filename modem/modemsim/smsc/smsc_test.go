package smsc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"bridged/pdu"
)

var zone = time.FixedZone("", 2*3600)

func TestDeliverEncode(t *testing.T) {
	ts := time.Date(2026, 11, 25, 13, 14, 15, 0, zone)
	tests := []struct {
		name     string
		d        Deliver
		parts    int
		encoding pdu.Encoding
		from     string
		class    *int
	}{
		{name: "gsm7 international", d: Deliver{From: "+12015550101", Text: "hello €uro"}, parts: 1, encoding: pdu.GSM7, from: "+12015550101"},
		{name: "national sender", d: Deliver{From: "0612345678", Text: "x"}, parts: 1, encoding: pdu.GSM7, from: "0612345678"},
		{name: "alphanumeric sender", d: Deliver{From: "MyBank", Text: "code 1234"}, parts: 1, encoding: pdu.GSM7, from: "MyBank"},
		{name: "ucs2", d: Deliver{From: "+8613800000000", Text: "你好，世界 😀"}, parts: 1, encoding: pdu.UCS2, from: "+8613800000000"},
		{name: "multipart gsm7", d: Deliver{From: "+12015550101", Text: strings.Repeat("0123456789", 40), Ref: 7}, parts: 3, encoding: pdu.GSM7, from: "+12015550101"},
		{name: "multipart ucs2", d: Deliver{From: "+12015550101", Text: strings.Repeat("中文", 50), Ref: 200}, parts: 2, encoding: pdu.UCS2, from: "+12015550101"},
		{name: "flash with smsc", d: Deliver{From: "+12015550101", Text: "now", Flash: true, SMSC: "+15559999999"}, parts: 1, encoding: pdu.GSM7, from: "+12015550101", class: new(int)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.Timestamp = ts
			enc, err := tt.d.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(enc.Parts) != tt.parts || enc.Encoding != tt.encoding {
				t.Fatalf("got %d parts in %s, want %d in %s", len(enc.Parts), enc.Encoding, tt.parts, tt.encoding)
			}
			var msgs []*pdu.Message
			for i, p := range enc.Parts {
				m, err := pdu.Decode(p.PDU)
				if err != nil {
					t.Fatalf("part %d: pdu.Decode(%s): %v", i+1, p.PDU, err)
				}
				if m.Type != pdu.TypeDeliver || m.From != tt.from || m.Encoding != tt.encoding {
					t.Errorf("part %d: type %s from %q encoding %s", i+1, m.Type, m.From, m.Encoding)
				}
				if m.Timestamp == nil || !m.Timestamp.Equal(ts) {
					t.Errorf("part %d: timestamp %v, want %v", i+1, m.Timestamp, ts)
				}
				if _, off := m.Timestamp.Zone(); off != 7200 {
					t.Errorf("part %d: zone offset %d, want 7200", i+1, off)
				}
				if m.SMSC != tt.d.SMSC {
					t.Errorf("part %d: smsc %q, want %q", i+1, m.SMSC, tt.d.SMSC)
				}
				if (m.Class == nil) != (tt.class == nil) || m.Class != nil && *m.Class != *tt.class {
					t.Errorf("part %d: class %v, want %v", i+1, m.Class, tt.class)
				}
				smsc, _ := encodeSMSC(tt.d.SMSC)
				if p.Length != len(p.PDU)/2-len(smsc) {
					t.Errorf("part %d: length %d for %d hex digits", i+1, p.Length, len(p.PDU))
				}
				if tt.parts > 1 && (m.Concat == nil || m.Concat.Ref != int(tt.d.Ref) || m.Concat.Seq != i+1 || m.Concat.Total != tt.parts) {
					t.Errorf("part %d: concat %+v", i+1, m.Concat)
				}
				msgs = append(msgs, m)
			}
			r, err := pdu.Reassemble(msgs)
			if err != nil || !r.Complete || r.Text != tt.d.Text {
				t.Fatalf("pdu.Reassemble: %+v, %v; want text %q", r, err, tt.d.Text)
			}
		})
	}
}

func TestDeliverEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		d    Deliver
		want string
	}{
		{name: "empty text", d: Deliver{From: "+1555", Text: ""}, want: "text is empty"},
		{name: "long alphanumeric", d: Deliver{From: "ABCDEFGHIJKL", Text: "x"}, want: "want 1 to 11"},
		{name: "sender outside the alphabet", d: Deliver{From: "名字", Text: "x"}, want: "not in the GSM alphabet"},
		{name: "too many parts", d: Deliver{From: "+1555", Text: strings.Repeat("x", 400), Options: pdu.Options{MaxParts: 2}}, want: "needs 3 parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.d.Encode()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encode: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestStatusReportEncode(t *testing.T) {
	scts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600))
	dt := scts.Add(90 * time.Second)
	tests := []struct {
		name    string
		st      byte
		outcome pdu.Outcome
	}{
		{name: "delivered", st: 0x00, outcome: pdu.OutcomeDelivered},
		{name: "pending", st: 0x30, outcome: pdu.OutcomePending},
		{name: "failed", st: 0x46, outcome: pdu.OutcomeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := StatusReport{MessageRef: 254, Recipient: "+447700900123", Timestamp: scts, Discharge: dt, Status: tt.st}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			m, err := pdu.Decode(p.PDU)
			if err != nil {
				t.Fatalf("pdu.Decode(%s): %v", p.PDU, err)
			}
			if m.Type != pdu.TypeStatusReport || *m.MessageRef != 254 || m.Recipient != "+447700900123" || *m.Status != int(tt.st) || m.Outcome != tt.outcome {
				t.Errorf("decoded %+v", m)
			}
			if !m.Timestamp.Equal(scts) || !m.Discharge.Equal(dt) {
				t.Errorf("times %v %v, want %v %v", m.Timestamp, m.Discharge, scts, dt)
			}
			if _, off := m.Discharge.Zone(); off != -5*3600 {
				t.Errorf("discharge zone %d, want -18000", off)
			}
			if p.Length != len(p.PDU)/2-1 {
				t.Errorf("length %d for %s", p.Length, p.PDU)
			}
		})
	}
	if _, err := (StatusReport{Recipient: "nope"}).Encode(); err == nil {
		t.Error("Encode accepted recipient \"nope\"")
	}
}

func TestSubmitToDeliver(t *testing.T) {
	scts := time.Date(2026, 11, 25, 23, 59, 58, 0, zone)
	tests := []struct {
		name string
		s    pdu.Submit
	}{
		{name: "gsm7 with report", s: pdu.Submit{To: "+12015550102", Text: "hi there [ok]", StatusReport: true}},
		{name: "validity and smsc", s: pdu.Submit{To: "+12015550102", Text: "valid", Validity: 24 * time.Hour, SMSC: "+15559999999"}},
		{name: "ucs2 multipart", s: pdu.Submit{To: "5550000002", Text: strings.Repeat("Grüße 😀 ", 20), Ref: 42}},
		{name: "gsm7 multipart flash", s: pdu.Submit{To: "+12015550102", Text: strings.Repeat("abc ", 100), Flash: true, Ref: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			var msgs []*pdu.Message
			for i, p := range enc.Parts {
				d, info, err := SubmitToDeliver(p.PDU, "+12015550101", "+15550000999", scts)
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				if info.To != tt.s.To || info.StatusReport != tt.s.StatusReport || info.Length != p.Length {
					t.Errorf("part %d: info %+v, want to %q report %v length %d", i+1, info, tt.s.To, tt.s.StatusReport, p.Length)
				}
				m, err := pdu.Decode(d.PDU)
				if err != nil {
					t.Fatalf("part %d: pdu.Decode(%s): %v", i+1, d.PDU, err)
				}
				if m.Type != pdu.TypeDeliver || m.From != "+12015550101" || m.SMSC != "+15550000999" || m.Encoding != enc.Encoding ||
					!m.Timestamp.Equal(scts) || m.ReportRequested != tt.s.StatusReport {
					t.Errorf("part %d: decoded %+v", i+1, m)
				}
				if tt.s.Flash != (m.Class != nil && *m.Class == 0) {
					t.Errorf("part %d: class %v with flash %v", i+1, m.Class, tt.s.Flash)
				}
				if d.Length != len(d.PDU)/2-8 { // SMSC prefix: length, type, 6 octets of digits
					t.Errorf("part %d: length %d for %s", i+1, d.Length, d.PDU)
				}
				msgs = append(msgs, m)
			}
			r, err := pdu.Reassemble(msgs)
			if err != nil || !r.Complete || r.Text != tt.s.Text {
				t.Fatalf("pdu.Reassemble: %+v, %v; want %q", r, err, tt.s.Text)
			}
		})
	}
}

func TestSubmitToDeliverErrors(t *testing.T) {
	deliver, err := Deliver{From: "+1555", Text: "x"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hex  string
		is   error
	}{
		{name: "not hex", hex: "0011ZZ", is: pdu.ErrHex},
		{name: "truncated", hex: "0001000B915155000000F2000004E8", is: pdu.ErrOverrun},
		{name: "a deliver", hex: deliver.Parts[0].PDU, is: ErrNotSubmit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := SubmitToDeliver(tt.hex, "+1555", "", time.Now())
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
		})
	}
}

package pdu

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func intp(v int) *int { return &v }

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// The PDUs below were assembled octet by octet for these tests (the layout
// is noted beside each) and cross-checked with gammu's DecodePDU; PDUs from
// real phones and modems are in real_test.go.
func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want Message
	}{
		{
			name: "alphanumeric originator, negative time zone",
			// 00 | 04 DELIVER | 0D D0 "InfoSMS" | 00 PID | 00 DCS | SCTS 25-10-15 12:30:45 -12 quarters | 11 UDL
			hex: "00040DD049B7F93D6D4E0100005201512103542911D9775D0E1ABFC965507A0E8AC96634",
			want: Message{Type: TypeDeliver, From: "InfoSMS", Text: "Your code is 1234", Encoding: GSM7,
				Timestamp: at("2025-10-15T12:30:45-03:00")},
		},
		{
			name: "national originator, 8-bit data, class 1, explicit SMSC",
			// 07 91 33689004000F | 04 | 0A 81 0612345678 | 00 | F5 = 8-bit class 1 | SCTS 24-02-29 23:59:59 +0 | 04 DEADBEEF
			hex: "07913386094000F0040A81602143658700F54220923295950004DEADBEEF",
			want: Message{Type: TypeDeliver, SMSC: "+33689004000", From: "0612345678", Data: HexBytes{0xDE, 0xAD, 0xBE, 0xEF},
				Encoding: Data8, Class: intp(1), Timestamp: at("2024-02-29T23:59:59Z")},
		},
		{
			name: "UCS-2 with a 16-bit concatenation reference",
			// 00 | 44 DELIVER+UDHI | 0D 91 8613800138000 | 00 | 08 UCS-2 | SCTS 26-01-01 08:00:00 +32 quarters | 0F | 06 08 04 1234 03 02 | text
			hex: "00440D91683108108300F00008621010800000230F060804123403027B2C4E8C90E85206",
			want: Message{Type: TypeDeliver, From: "+8613800138000", Text: "第二部分", Encoding: UCS2,
				Timestamp: at("2026-01-01T08:00:00+08:00"), Concat: &Concat{Ref: 0x1234, Total: 3, Seq: 2}},
		},
		{
			name: "GSM 7-bit with extension characters after an 8-bit concatenation header, flash",
			// 00 | 40 | 0B 91 15551234567 | 00 | 10 class 0 | SCTS | 19 = 25 septets | 05 00 03 42 02 01 | 1 fill bit
			hex: "00400B915155214365F700106270408103000019050003420201906536FB0DDAF0EE6F399BBCF1813665",
			want: Message{Type: TypeDeliver, From: "+15551234567", Text: "Hello [world] €", Encoding: GSM7, Class: intp(0),
				Timestamp: at("2026-07-04T18:30:00Z"), Concat: &Concat{Ref: 0x42, Total: 2, Seq: 1}},
		},
		{
			name: "status report: delivered",
			// 00 | 06 STATUS-REPORT | 7B MR | 0B 91 15551234567 | SCTS | DT | 00 ST
			hex: "00067B0B915155214365F7621152015100006211520151204000",
			want: Message{Type: TypeStatusReport, Recipient: "+15551234567", MessageRef: intp(123), Status: intp(0), Outcome: OutcomeDelivered,
				Timestamp: at("2026-11-25T10:15:00Z"), Discharge: at("2026-11-25T10:15:02+01:00")},
		},
		{
			name: "status report: SME busy, still trying",
			hex:  "00067B0B915155214365F7621152015100006211520151204021",
			want: Message{Type: TypeStatusReport, Recipient: "+15551234567", MessageRef: intp(123), Status: intp(0x21), Outcome: OutcomePending,
				Timestamp: at("2026-11-25T10:15:00Z"), Discharge: at("2026-11-25T10:15:02+01:00")},
		},
		{
			name: "status report: validity period expired",
			hex:  "00067B0B915155214365F7621152015100006211520151204046",
			want: Message{Type: TypeStatusReport, Recipient: "+15551234567", MessageRef: intp(123), Status: intp(0x46), Outcome: OutcomeFailed,
				Timestamp: at("2026-11-25T10:15:00Z"), Discharge: at("2026-11-25T10:15:02+01:00")},
		},
		{
			name: "status report: reserved status counts as failed, raw value kept",
			hex:  "00067B0B915155214365F7621152015100006211520151204080",
			want: Message{Type: TypeStatusReport, Recipient: "+15551234567", MessageRef: intp(123), Status: intp(0x80), Outcome: OutcomeFailed,
				Timestamp: at("2026-11-25T10:15:00Z"), Discharge: at("2026-11-25T10:15:02+01:00")},
		},
		{
			name: "submit as stored by a phone, with validity and report request",
			hex:  "079144775810065031000C914477000910320000A702E834",
			want: Message{Type: TypeSubmit, SMSC: "+447785016005", To: "+447700900123", Text: "hi", Encoding: GSM7,
				MessageRef: intp(0), ReportRequested: true, Validity: "24h0m0s"},
		},
		{
			name: "concatenation element with sequence 0 is ignored (TS 23.040 9.2.3.24.1)",
			hex:  "00440D91683108108300F00008621010800000230F060804123403007B2C4E8C90E85206",
			want: Message{Type: TypeDeliver, From: "+8613800138000", Text: "第二部分", Encoding: UCS2,
				Timestamp: at("2026-01-01T08:00:00+08:00")},
		},
		{
			name: "lower-case hex and surrounding white space",
			hex:  "  00067b0b915155214365f7621152015100006211520151204000\r\n",
			want: Message{Type: TypeStatusReport, Recipient: "+15551234567", MessageRef: intp(123), Status: intp(0), Outcome: OutcomeDelivered,
				Timestamp: at("2026-11-25T10:15:00Z"), Discharge: at("2026-11-25T10:15:02+01:00")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.hex)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertMessage(t, got, &tt.want)
		})
	}
}

// assertMessage compares the exported fields, and time stamps by instant
// and by offset, which JSON equality of the two would not separate.
func assertMessage(t *testing.T, got, want *Message) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got  %s\nwant %s", g, w)
	}
	for _, ts := range []struct {
		name      string
		got, want *time.Time
	}{{"timestamp", got.Timestamp, want.Timestamp}, {"discharge", got.Discharge, want.Discharge}} {
		if (ts.got == nil) != (ts.want == nil) {
			t.Errorf("%s: got %v, want %v", ts.name, ts.got, ts.want)
			continue
		}
		if ts.got != nil {
			_, go1 := ts.got.Zone()
			_, wo := ts.want.Zone()
			if !ts.got.Equal(*ts.want) || go1 != wo {
				t.Errorf("%s: got %s, want %s", ts.name, ts.got, ts.want)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	const good = "00067B0B915155214365F7621152015100006211520151204000"
	tests := []struct {
		name string
		hex  string
		is   error
		want string
	}{
		{"empty", "", ErrTruncated, "pdu: SMSC length at octet 0: PDU ends early"},
		{"odd length", "0006F", ErrHex, "pdu: hex at octet 2: not a hex string (odd number of hex digits (5))"},
		{"not hex", "00G6", ErrHex, `pdu: hex at octet 1: not a hex string (character 'G' at position 2)`},
		{"SMSC longer than allowed", "0C91" + "00", ErrInvalid, "pdu: SMSC length at octet 0: invalid value (12 octets, at most 11)"},
		{"SMSC overruns", "0791447758", ErrOverrun, "pdu: SMSC at octet 1: length overruns the PDU (needs 7 octets, 4 left)"},
		{"nothing after SMSC", "00", ErrTruncated, "pdu: first octet at octet 1: PDU ends early"},
		{"reserved message type", "0003", ErrReserved, "pdu: TP-MTI at octet 1: reserved value (message type 3 is reserved)"},
		{"address longer than 20 digits", "00041591", ErrInvalid, "pdu: TP-OA length at octet 2: invalid value (21 digits, at most 20)"},
		{"address overruns", "00040B915155", ErrOverrun, "pdu: TP-OA at octet 4: length overruns the PDU (needs 6 octets, 2 left)"},
		{"reserved type of number", "00040BF15155214365F70000", ErrReserved, "pdu: TP-OA type at octet 3: reserved value (type of number 7 in 0xF1)"},
		{"reserved coding group", "00040B915155214365F70080", ErrReserved, "pdu: TP-DCS at octet 11: reserved value (0x80: reserved coding group)"},
		{"reserved alphabet", "00040B915155214365F7000C", ErrReserved, "pdu: TP-DCS at octet 11: reserved value (0x0C: reserved alphabet)"},
		{"truncated time stamp", "00040B915155214365F7000062115201", ErrOverrun, "pdu: TP-SCTS at octet 12: length overruns the PDU (needs 7 octets, 4 left)"},
		{"month 13", "00040B915155214365F7000062315201510000", ErrInvalid, "pdu: TP-SCTS at octet 12: invalid value (26-13-25 10:15:00 zone 0 quarter hours is not a time)"},
		{"user data length overruns", "00040B915155214365F700006211520151000005E834", ErrOverrun, "pdu: TP-UD at octet 20: length overruns the PDU (needs 5 octets, 2 left)"},
		{"header longer than the user data", "00440B915155214365F7000862115201510000020900", ErrOverrun, "pdu: TP-UDHL at octet 20: length overruns the PDU (header of 10 octets in 2 octets of user data)"},
		{"information element runs past the header", "00440B915155214365F70008621152015100000403000500", ErrOverrun, "pdu: TP-UDH at octet 21: length overruns the PDU (information element runs past the header)"},
		{"odd UCS-2 length", "00040B915155214365F700086211520151000003004100", ErrInvalid, "pdu: TP-UD at octet 20: invalid value (odd number of UCS-2 octets (3))"},
		{"status report cut before TP-ST", good[:len(good)-2], ErrTruncated, "pdu: TP-ST at octet 25: PDU ends early"},
		{"filler inside a number", "00040B91515F214365F7", ErrInvalid, "pdu: TP-OA at octet 4: invalid value (filler digit F at digit 3 of 11)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.hex)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", m)
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, tt.is) {
				t.Errorf("error %v is not a *DecodeError wrapping %v", err, tt.is)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestStatusOutcome(t *testing.T) {
	tests := []struct {
		lo, hi byte
		want   Outcome
	}{
		{0x00, 0x02, OutcomeDelivered}, // received, forwarded unconfirmed, replaced
		{0x03, 0x0f, OutcomeFailed},    // reserved: treated as service rejected
		{0x10, 0x1f, OutcomeDelivered}, // SC specific, transaction completed
		{0x20, 0x25, OutcomePending},   // temporary error, SC still trying
		{0x26, 0x2f, OutcomeFailed},    // reserved
		{0x30, 0x3f, OutcomePending},   // SC specific, still trying
		{0x40, 0x7f, OutcomeFailed},    // permanent, or temporary and no more attempts
		{0x80, 0xff, OutcomeFailed},    // reserved
	}
	for _, tt := range tests {
		for st := int(tt.lo); st <= int(tt.hi); st++ {
			if got := StatusOutcome(byte(st)); got != tt.want {
				t.Errorf("StatusOutcome(0x%02X) = %s, want %s", st, got, tt.want)
			}
		}
	}
}

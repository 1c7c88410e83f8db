package pdu

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// decodeParts decodes every part of enc and checks the structure that all
// SMS-SUBMITs share: the declared length, the concatenation headers and the
// reference.
func decodeParts(t *testing.T, enc *Encoded, ref uint8) []*Message {
	t.Helper()
	msgs := make([]*Message, len(enc.Parts))
	for i, p := range enc.Parts {
		m, err := Decode(p.PDU)
		if err != nil {
			t.Fatalf("part %d: decode %s: %v", i+1, p.PDU, err)
		}
		smscLen := int(mustHexByte(t, p.PDU[:2])) + 1
		if got := len(p.PDU)/2 - smscLen; got != p.Length {
			t.Errorf("part %d: Length %d, but the TPDU has %d octets", i+1, p.Length, got)
		}
		if m.Type != TypeSubmit {
			t.Errorf("part %d: type %q", i+1, m.Type)
		}
		if m.Encoding != enc.Encoding {
			t.Errorf("part %d: encoding %q, want %q", i+1, m.Encoding, enc.Encoding)
		}
		switch {
		case len(enc.Parts) == 1 && m.Concat != nil:
			t.Errorf("single part has a concatenation header %+v", *m.Concat)
		case len(enc.Parts) > 1 && (m.Concat == nil || *m.Concat != Concat{Ref: int(ref), Total: len(enc.Parts), Seq: i + 1}):
			t.Errorf("part %d: concat %+v, want ref %d total %d seq %d", i+1, m.Concat, ref, len(enc.Parts), i+1)
		}
		msgs[i] = m
	}
	return msgs
}

func mustHexByte(t *testing.T, s string) byte {
	t.Helper()
	var b byte
	for _, c := range []byte(s) {
		b <<= 4
		switch {
		case c >= '0' && c <= '9':
			b |= c - '0'
		case c >= 'A' && c <= 'F':
			b |= c - 'A' + 10
		default:
			t.Fatalf("not upper-case hex: %q", s)
		}
	}
	return b
}

// partTexts returns the text of each part decoded on its own, as a phone
// that does not reassemble would show it.
func partTexts(msgs []*Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func TestSegmentation(t *testing.T) {
	chinese200 := strings.Repeat("中文短信测试发送你好", 20)
	tests := []struct {
		name      string
		text      string
		enc       Encoding
		partLens  []int // characters (runes) of the text in each part
		remaining int
	}{
		{name: "one character", text: "a", enc: GSM7, partLens: []int{1}, remaining: 159},
		{name: "160 GSM characters fit one part", text: strings.Repeat("x", 160), enc: GSM7, partLens: []int{160}, remaining: 0},
		{name: "161 GSM characters need two", text: strings.Repeat("x", 161), enc: GSM7, partLens: []int{153, 8}, remaining: 145},
		{name: "306 GSM characters fill two", text: strings.Repeat("y", 306), enc: GSM7, partLens: []int{153, 153}, remaining: 0},
		{name: "extension characters count double", text: strings.Repeat("€", 80), enc: GSM7, partLens: []int{80}, remaining: 0},
		{name: "only extension characters, split between pairs", text: strings.Repeat("{}", 41), enc: GSM7, partLens: []int{76, 6}, remaining: 141},
		{name: "escape never ends a part", text: strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), enc: GSM7, partLens: []int{152, 11}, remaining: 141},
		{name: "@ as the last character of a single part", text: strings.Repeat("z", 159) + "@", enc: GSM7, partLens: []int{160}, remaining: 0},
		{name: "@ as the last character of a multipart part", text: strings.Repeat("z", 152) + "@" + "tailtailta", enc: GSM7, partLens: []int{153, 10}, remaining: 143},
		{name: "@ alone", text: "@", enc: GSM7, partLens: []int{1}, remaining: 159},
		{name: "70 UCS-2 units fit one part", text: strings.Repeat("é中", 35), enc: UCS2, partLens: []int{70}, remaining: 0},
		{name: "71 UCS-2 units need two", text: strings.Repeat("中", 71), enc: UCS2, partLens: []int{67, 4}, remaining: 63},
		{name: "200 Chinese characters", text: chinese200, enc: UCS2, partLens: []int{67, 67, 66}, remaining: 1},
		{name: "one emoji is two units", text: "😀", enc: UCS2, partLens: []int{1}, remaining: 68},
		{name: "emoji not split at 67", text: strings.Repeat("中", 66) + "😀" + "xxxxx", enc: UCS2, partLens: []int{66, 6}, remaining: 60},
		{name: "Greek capitals of the GSM alphabet", text: "ΔΦΓΛΩΠΨΣΘΞ", enc: GSM7, partLens: []int{10}, remaining: 150},
		{name: "the escape character itself forces UCS-2", text: "a\x1bb", enc: UCS2, partLens: []int{3}, remaining: 67},
		{name: "a character outside GSM forces UCS-2", text: "price: 5€ ok ç", enc: UCS2, partLens: []int{14}, remaining: 56},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := utf8.RuneCountInString(tt.text); n != sum(tt.partLens) {
				t.Fatalf("bad table row: text has %d runes, parts add up to %d", n, sum(tt.partLens))
			}
			const ref = 0xA7
			enc, err := Submit{To: "+447700900123", Text: tt.text, Ref: ref}.Encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if enc.Encoding != tt.enc {
				t.Errorf("encoding %q, want %q", enc.Encoding, tt.enc)
			}
			msgs := decodeParts(t, enc, ref)
			got := partTexts(msgs)
			var want []string
			rs := []rune(tt.text)
			for _, n := range tt.partLens {
				want = append(want, string(rs[:n]))
				rs = rs[n:]
			}
			if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
				t.Errorf("parts decode to %q\nwant %q", got, want)
			}
			est := Estimate(tt.text, Options{})
			if est != (Cost{Encoding: tt.enc, Parts: len(tt.partLens), Remaining: tt.remaining}) {
				t.Errorf("Estimate = %+v, want encoding %s parts %d remaining %d", est, tt.enc, len(tt.partLens), tt.remaining)
			}
		})
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestEmojiAtEveryBoundary slides an emoji across both part boundaries of a
// three-part UCS-2 text: no part may end in half a surrogate pair.
func TestEmojiAtEveryBoundary(t *testing.T) {
	for prefix := 60; prefix <= 140; prefix++ {
		text := strings.Repeat("中", prefix) + "🎉" + strings.Repeat("文", 140-prefix)
		enc, err := Submit{To: "+8613800138000", Text: text, Ref: 9}.Encode()
		if err != nil {
			t.Fatalf("prefix %d: %v", prefix, err)
		}
		msgs := decodeParts(t, enc, 9)
		joined := strings.Join(partTexts(msgs), "")
		if joined != text {
			t.Fatalf("prefix %d: parts decoded on their own give %q", prefix, joined)
		}
		for i, m := range msgs {
			if strings.ContainsRune(m.Text, utf8.RuneError) {
				t.Fatalf("prefix %d: part %d holds half a surrogate pair: %q", prefix, i+1, m.Text)
			}
		}
		if got := Estimate(text, Options{}).Parts; got != len(enc.Parts) {
			t.Fatalf("prefix %d: Estimate says %d parts, Encode made %d", prefix, got, len(enc.Parts))
		}
	}
}

// TestEscapeAtEveryBoundary does the same for an extension character in GSM 7-bit.
func TestEscapeAtEveryBoundary(t *testing.T) {
	for prefix := 145; prefix <= 310; prefix++ {
		text := strings.Repeat("a", prefix) + "€" + strings.Repeat("b", 320-prefix)
		enc, err := Submit{To: "+15551234567", Text: text, Ref: 200}.Encode()
		if err != nil {
			t.Fatalf("prefix %d: %v", prefix, err)
		}
		msgs := decodeParts(t, enc, 200)
		if joined := strings.Join(partTexts(msgs), ""); joined != text {
			t.Fatalf("prefix %d: parts decoded on their own give %q", prefix, joined)
		}
	}
}

func TestMaxParts(t *testing.T) {
	text := strings.Repeat("x", 153*3+1) // four parts
	_, err := Submit{To: "+15551234567", Text: text, Options: Options{MaxParts: 3}}.Encode()
	var tm *TooManyPartsError
	if !errors.As(err, &tm) || tm.Needed != 4 || tm.Max != 3 {
		t.Fatalf("err = %v, want TooManyPartsError{4, 3}", err)
	}
	if want := "text needs 4 parts, more than the maximum of 3"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if _, err := (Submit{To: "+15551234567", Text: text, Options: Options{MaxParts: 4}}).Encode(); err != nil {
		t.Errorf("four parts allowed: %v", err)
	}
	long := strings.Repeat("y", 153*DefaultMaxParts+1)
	if _, err := (Submit{To: "+15551234567", Text: long}).Encode(); !errors.As(err, &tm) || tm.Max != DefaultMaxParts {
		t.Errorf("default limit: err = %v", err)
	}
}

func TestSubmitOptions(t *testing.T) {
	tests := []struct {
		name string
		s    Submit
		// want is the exact PDU: checked octet by octet against TS 23.040 9.2.2.2.
		want   string
		length int
	}{
		{
			name: "defaults: SIM's SMSC, no VP, no report, MR 0",
			s:    Submit{To: "+447700900123", Text: "hi"},
			// 00 SMSC | 01 SUBMIT | 00 MR | 0C 91 447700091032 DA | 00 PID | 00 DCS | 02 E834 UD
			want: "0001000C91447700091032000002E834", length: 15,
		},
		{
			name: "national number uses type unknown",
			s:    Submit{To: "07700 900123", Text: "hi"},
			want: "0001000B817007900021F3000002E834", length: 15,
		},
		{
			name: "status report, validity 24 hours, explicit SMSC",
			s:    Submit{To: "+447700900123", Text: "hi", StatusReport: true, Validity: 24 * time.Hour, SMSC: "+447785016005"},
			// 07 91 447758100650 SMSC | 31 = SUBMIT+VPF relative+SRR | 00 MR | ... | A7 = 24h
			want: "079144775810065031000C914477000910320000A702E834", length: 16,
		},
		{
			name: "flash is class 0 in GSM 7-bit",
			s:    Submit{To: "+447700900123", Text: "hi", Flash: true},
			want: "0001000C91447700091032001002E834", length: 15,
		},
		{
			name: "flash is class 0 in UCS-2",
			s:    Submit{To: "+447700900123", Text: "中", Flash: true},
			want: "0001000C914477000910320018024E2D", length: 15,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(enc.Parts) != 1 || enc.Parts[0].PDU != tt.want || enc.Parts[0].Length != tt.length {
				t.Errorf("got %+v\nwant pdu %s length %d", enc.Parts, tt.want, tt.length)
			}
			m, err := Decode(enc.Parts[0].PDU)
			if err != nil {
				t.Fatal(err)
			}
			if m.ReportRequested != tt.s.StatusReport || m.Text != tt.s.Text || (tt.s.Flash != (m.Class != nil && *m.Class == 0)) {
				t.Errorf("decoded %+v", m)
			}
			if *m.MessageRef != 0 {
				t.Errorf("TP-MR %d, want 0 so the modem assigns it", *m.MessageRef)
			}
		})
	}
}

func TestRelativeValidity(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want byte
	}{
		{time.Second, 0},                           // rounds up to 5 minutes
		{5 * time.Minute, 0},                       // (0+1) x 5 min
		{6 * time.Minute, 1},                       // 10 min
		{time.Hour, 11},                            // 12 x 5 min
		{12 * time.Hour, 143},                      // last 5-minute step
		{12*time.Hour + time.Minute, 144},          // 12h30
		{24 * time.Hour, 167},                      // 12h + 24 x 30 min
		{25 * time.Hour, 168},                      // 2 days
		{7 * 24 * time.Hour, 173},                  // 7 days
		{30 * 24 * time.Hour, 196},                 // 30 days
		{31 * 24 * time.Hour, 197},                 // 5 weeks
		{63 * 7 * 24 * time.Hour, 255},             // the longest
		{62*7*24*time.Hour + time.Nanosecond, 255}, // rounds up to 63 weeks
	}
	for _, tt := range tests {
		got, err := relativeValidity(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("relativeValidity(%s) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if back := relativeValidityDuration(got); back < tt.in {
			t.Errorf("%s encodes as %d which means %s: shorter than asked", tt.in, got, back)
		}
	}
	for _, bad := range []time.Duration{-time.Second, 63*7*24*time.Hour + time.Second} {
		if _, err := relativeValidity(bad); err == nil {
			t.Errorf("relativeValidity(%s) succeeded", bad)
		}
	}
}

func TestSubmitErrors(t *testing.T) {
	tests := []struct {
		name string
		s    Submit
		want string
	}{
		{"empty text", Submit{To: "+1555", Text: ""}, "text is empty"},
		{"no number", Submit{To: " ", Text: "x"}, "destination: number is empty"},
		{"letters in number", Submit{To: "+44 77 ABC", Text: "x"}, `destination: number "+44 77 ABC" has 'A' at position 7; use + and digits`},
		{"only a plus", Submit{To: "+", Text: "x"}, `destination: number "+" has no digits`},
		{"too long", Submit{To: "+123456789012345678901", Text: "x"}, `destination: number "+123456789012345678901" has 21 digits, more than 20`},
		{"bad smsc", Submit{To: "+1555", Text: "x", SMSC: "smsc"}, `smsc: number "smsc" has 's' at position 0; use + and digits`},
		{"validity too long", Submit{To: "+1555", Text: "x", Validity: 500 * 24 * time.Hour}, "validity 12000h0m0s is longer than the 63 weeks an SMS can carry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.Encode()
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestNationalLanguage(t *testing.T) {
	text := "Günaydın, nasılsın? ğ ş" // ı, ğ, ş are not in the default alphabet
	if got := Estimate(text, Options{}); got.Encoding != UCS2 {
		t.Fatalf("without a language table: %+v, want UCS-2", got)
	}
	lang, err := ParseLanguage("Turkish")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Language: lang}
	est := Estimate(text, opts)
	if est.Encoding != GSM7 {
		t.Fatalf("with Turkish: %+v, want GSM7", est)
	}
	enc, err := Submit{To: "+905321234567", Text: text, Options: opts}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	msgs := decodeParts(t, enc, 0)
	if msgs[0].Text != text {
		t.Errorf("decoded %q, want %q", msgs[0].Text, text)
	}
	// A shift element costs three octets of header in every part.
	long := strings.Repeat("ş", 75) // 150 septets with the single shift table
	if got := Estimate(long, opts); got.Parts != 1 || got.Remaining != 155-150 {
		t.Errorf("Estimate(75 x ş) = %+v, want one part with 5 septets left", got)
	}
	if _, err := ParseLanguage("klingon"); err == nil {
		t.Error("ParseLanguage(klingon) succeeded")
	}
}

package pdu

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
	"github.com/warthog618/sms/encoding/semioctet"
)

// Encoding names the alphabet of a message's user data (TS 23.038 section 4).
type Encoding string

// The alphabets of TS 23.038. Outgoing text is only ever GSM7 or UCS2.
const (
	GSM7  Encoding = "gsm7"
	UCS2  Encoding = "ucs2"
	Data8 Encoding = "8bit"
)

// DefaultMaxParts is the number of concatenated parts a text may need when
// Options.MaxParts is zero. Ten parts is about 1,500 GSM characters; beyond
// that an SMS is rarely what the sender meant, and each part is billed.
const DefaultMaxParts = 10

// Capacities of one TPDU's user data (TS 23.040 9.2.3.16, 9.2.3.24).
const (
	maxUDOctets   = 140
	concatIELen   = 5 // IEI, IEDL, reference, total, sequence (TS 23.040 9.2.3.24.1)
	escapeSeptet  = 0x1b
	iecConcat8    = 0x00
	iecShift      = 0x24 // national language single shift (TS 23.040 9.2.3.24.15)
	iecLocking    = 0x25 // national language locking shift (TS 23.040 9.2.3.24.16)
	maxAddrDigits = 20
)

// Language selects a national language table of TS 23.038 section 6.2.1;
// its value is the national language identifier sent in the UDH.
type Language int

// NoLanguage keeps to the default alphabet and its extension table.
const NoLanguage Language = 0

var languageNames = map[string]int{
	"turkish": charset.Turkish, "spanish": charset.Spanish, "portuguese": charset.Portuguese,
	"bengali": charset.Bengali, "gujarati": charset.Gujaranti, "hindi": charset.Hindi,
	"kannada": charset.Kannada, "malayalam": charset.Malayalam, "oriya": charset.Oriya,
	"punjabi": charset.Punjabi, "tamil": charset.Tamil, "telugu": charset.Telugu, "urdu": charset.Urdu,
}

func knownLanguage(nli byte) bool {
	return int(nli) >= charset.Start && int(nli) < charset.End
}

// ParseLanguage returns the Language for a name such as "turkish"; "" and
// "none" give NoLanguage. An unknown name is an error listing the choices.
func ParseLanguage(name string) (Language, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == "none" {
		return NoLanguage, nil
	}
	if id, ok := languageNames[n]; ok {
		return Language(id), nil
	}
	return NoLanguage, fmt.Errorf("unknown national language %q (choose none, turkish, spanish, portuguese, bengali, gujarati, hindi, kannada, malayalam, oriya, punjabi, tamil, telugu or urdu)", name)
}

// Options tune how text is encoded and split. The zero value is the
// default: GSM 7-bit or UCS-2 only, and at most DefaultMaxParts parts.
type Options struct {
	// MaxParts bounds the number of concatenated parts; 0 means DefaultMaxParts.
	MaxParts int
	// Language, when set, lets a text that does not fit the default alphabet
	// use that language's single shift and then locking shift table before
	// falling back to UCS-2. Each part then carries the table's UDH element,
	// so it holds fewer characters; receivers that ignore the element show
	// wrong characters, which is why this is off unless asked for.
	Language Language
}

func (o Options) maxParts() int {
	if o.MaxParts <= 0 {
		return DefaultMaxParts
	}
	return o.MaxParts
}

// TooManyPartsError reports a text that needs more parts than allowed.
type TooManyPartsError struct {
	Needed, Max int
}

func (e *TooManyPartsError) Error() string {
	return fmt.Sprintf("text needs %d parts, more than the maximum of %d", e.Needed, e.Max)
}

// ErrEmptyText is returned for a text with no characters: an empty SMS
// costs a part and is almost always a caller's mistake.
var ErrEmptyText = errors.New("text is empty")

// units is a text in the form its parts are cut from: septets for GSM 7-bit,
// UTF-16 code units (two octets each) for UCS-2.
type units struct {
	enc     Encoding
	septets []byte
	utf16   []uint16
	langIEs []byte // national language IEs to repeat in every part's UDH
}

func (u *units) len() int {
	if u.enc == GSM7 {
		return len(u.septets)
	}
	return len(u.utf16)
}

// cuttable reports whether a part may end just before unit i: never between
// an escape and the character it escapes (TS 23.038 6.2.1.1), nor between the
// halves of a surrogate pair, as each part is decoded on its own by phones.
func (u *units) cuttable(i int) bool {
	if u.enc == GSM7 {
		return u.septets[i-1] != escapeSeptet
	}
	w := u.utf16[i-1]
	return w < 0xd800 || w > 0xdbff // not a high surrogate
}

// capacity returns how many units fit in one part whose UDH (without its
// length octet) is udhl octets long.
func (u *units) capacity(udhl int) int {
	if u.enc == GSM7 {
		total := maxUDOctets * 8 / 7
		if udhl == 0 {
			return total
		}
		// The UDH and its length octet are padded to a septet boundary.
		return total - ((udhl+1)*8+6)/7
	}
	if udhl == 0 {
		return maxUDOctets / 2
	}
	return (maxUDOctets - udhl - 1) / 2
}

func toUnits(text string, lang Language) *units {
	// The escape character maps to septet 0x1B in the GSM tables, where it
	// would swallow the next character: only UCS-2 carries it intact.
	gsmOK := !strings.ContainsRune(text, 0x1b)
	if s, err := gsm7.Encode([]byte(text)); err == nil && gsmOK {
		return &units{enc: GSM7, septets: s}
	}
	if lang != NoLanguage && gsmOK {
		nli := int(lang)
		tries := []struct {
			opts []gsm7.EncoderOption
			ies  []byte
		}{
			{[]gsm7.EncoderOption{gsm7.WithExtCharset(nli)}, []byte{iecShift, 1, byte(nli)}},
			{[]gsm7.EncoderOption{gsm7.WithCharset(nli)}, []byte{iecLocking, 1, byte(nli)}},
			{[]gsm7.EncoderOption{gsm7.WithCharset(nli), gsm7.WithExtCharset(nli)},
				[]byte{iecLocking, 1, byte(nli), iecShift, 1, byte(nli)}},
		}
		for _, try := range tries {
			if s, err := gsm7.Encode([]byte(text), try.opts...); err == nil {
				return &units{enc: GSM7, septets: s, langIEs: try.ies}
			}
		}
	}
	return &units{enc: UCS2, utf16: utf16.Encode([]rune(text))}
}

// split returns the [start, end) unit ranges of each part.
func (u *units) split() [][2]int {
	n := u.len()
	if n <= u.capacity(len(u.langIEs)) {
		return [][2]int{{0, n}}
	}
	per := u.capacity(len(u.langIEs) + concatIELen)
	var parts [][2]int
	for start := 0; start < n; {
		end := min(start+per, n)
		if end < n && !u.cuttable(end) {
			end--
		}
		parts = append(parts, [2]int{start, end})
		start = end
	}
	return parts
}

// Cost is what a text will take on the air: the answer to "how many SMS is
// this?" that an API gives before anything is queued.
type Cost struct {
	Encoding Encoding `json:"encoding"`
	Parts    int      `json:"parts"`
	// Remaining is how much more fits in the last part: septets for GSM7
	// (an extension character such as € takes two), UTF-16 units for UCS2
	// (an emoji takes two).
	Remaining int `json:"remaining"`
}

// Estimate returns the Cost of text without building any PDU. It does not
// apply Options.MaxParts, so a caller can say how far over the limit a text is.
// An empty text costs one empty part.
func Estimate(text string, opts Options) Cost {
	u := toUnits(text, opts.Language)
	parts := u.split()
	last := parts[len(parts)-1]
	udhl := len(u.langIEs)
	if len(parts) > 1 {
		udhl += concatIELen
	}
	return Cost{Encoding: u.enc, Parts: len(parts), Remaining: u.capacity(udhl) - (last[1] - last[0])}
}

// Submit describes one outgoing text. To and Text are required.
type Submit struct {
	// To is the destination: "+" and digits for an international number,
	// digits alone for a national one (sent with type of number "unknown",
	// as phones do, so the network applies its own national rules).
	To   string
	Text string
	// SMSC is the service centre number; empty means the SIM's (the "00"
	// prefix of TS 27.005 3.3.1).
	SMSC string
	// StatusReport sets TP-SRR: ask the network for a delivery report.
	StatusReport bool
	// Validity is the relative TP-VP; zero leaves it out (network default).
	// It is rounded up to the next value TS 23.040 9.2.3.12.1 can express,
	// so a message never expires earlier than asked; above 63 weeks is an error.
	Validity time.Duration
	// Flash sends message class 0, shown at once and not stored by phones.
	Flash bool
	// Ref is the concatenation reference carried by every part of a
	// multipart message. Give each message its own (for example derived
	// from its queue id) so that a phone never mixes parts of two messages.
	Ref uint8
	Options
}

// Part is one SMS-SUBMIT as written after the AT+CMGS prompt.
type Part struct {
	// PDU is upper-case hex, SMSC field first.
	PDU string `json:"pdu"`
	// Length is the TPDU length in octets, without the SMSC field: the
	// number AT+CMGS= expects (TS 27.005 3.5.1).
	Length int `json:"length"`
}

// Encoded is a text turned into the PDUs that carry it.
type Encoded struct {
	Encoding Encoding `json:"encoding"`
	Parts    []Part   `json:"parts"`
}

// Encode builds the SMS-SUBMIT PDUs for s. It returns a *TooManyPartsError
// when the text needs more than the allowed parts, ErrEmptyText for an empty
// text, and a descriptive error for an invalid number or validity.
func (s Submit) Encode() (*Encoded, error) {
	if s.Text == "" {
		return nil, ErrEmptyText
	}
	da, err := encodeAddress(s.To)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	smsc, err := encodeSMSC(s.SMSC)
	if err != nil {
		return nil, fmt.Errorf("smsc: %w", err)
	}
	var vp []byte
	if s.Validity != 0 {
		v, err := relativeValidity(s.Validity)
		if err != nil {
			return nil, err
		}
		vp = []byte{v}
	}
	// First octet: TP-MTI SMS-SUBMIT, TP-RD 0, TP-VPF, TP-SRR, TP-RP 0.
	fo := byte(0x01)
	if vp != nil {
		fo |= 0x10 // relative format
	}
	if s.StatusReport {
		fo |= 0x20
	}
	return encodeParts(s.Text, s.Options, s.Ref, s.Flash, smsc, fo, func(fo, dcs byte, ud []byte) []byte {
		tp := make([]byte, 0, 176)
		tp = append(tp, fo, 0x00) // TP-MR 0: the modem assigns the reference
		tp = append(tp, da...)
		tp = append(tp, 0x00, dcs) // TP-PID plain SME-to-SME
		tp = append(tp, vp...)
		return append(tp, ud...)
	})
}

// encodeParts splits text into parts and builds each one's TPDU: fo is the
// first octet without TP-UDHI, which is set for the parts that get a header,
// and layout places a TPDU type's own fields around the first octet, the
// DCS and the user data (TP-UDL included).
func encodeParts(text string, opts Options, ref uint8, flash bool, smsc []byte, fo byte, layout func(fo, dcs byte, ud []byte) []byte) (*Encoded, error) {
	u := toUnits(text, opts.Language)
	ranges := u.split()
	if len(ranges) > opts.maxParts() {
		return nil, &TooManyPartsError{Needed: len(ranges), Max: opts.maxParts()}
	}
	dcs := byte(0x00)
	if u.enc == UCS2 {
		dcs = 0x08
	}
	if flash {
		dcs |= 0x10 // message class present, class 0 (TS 23.038 4)
	}
	out := &Encoded{Encoding: u.enc, Parts: make([]Part, 0, len(ranges))}
	for i, r := range ranges {
		var udh []byte
		if len(ranges) > 1 {
			udh = append(udh, iecConcat8, 3, ref, byte(len(ranges)), byte(i+1))
		}
		udh = append(udh, u.langIEs...)
		pfo := fo
		if len(udh) > 0 {
			pfo |= 0x40 // TP-UDHI
		}
		out.Parts = append(out.Parts, part(smsc, layout(pfo, dcs, userData(u, r, udh))))
	}
	return out, nil
}

// part is one PDU as written after the AT+CMGS prompt: the SMSC field, then
// the TPDU, whose length alone AT+CMGS= takes.
func part(smsc, tp []byte) Part {
	full := append(append([]byte{}, smsc...), tp...)
	return Part{PDU: strings.ToUpper(hex.EncodeToString(full)), Length: len(tp)}
}

// userData returns TP-UDL and TP-UD for units[r[0]:r[1]] behind udh.
func userData(u *units, r [2]int, ies []byte) []byte {
	var hdr []byte
	if len(ies) > 0 {
		hdr = append([]byte{byte(len(ies))}, ies...)
	}
	if u.enc == GSM7 {
		septets := u.septets[r[0]:r[1]]
		fill := (7 - len(hdr)*8%7) % 7
		udl := (len(hdr)*8+fill)/7 + len(septets)
		out := append([]byte{byte(udl)}, hdr...)
		return append(out, gsm7.Pack7Bit(septets, fill)...)
	}
	words := u.utf16[r[0]:r[1]]
	out := append([]byte{byte(len(hdr) + 2*len(words))}, hdr...)
	for _, w := range words {
		out = append(out, byte(w>>8), byte(w))
	}
	return out
}

// parseNumber splits a phone number into its digits and whether it is
// international. Spaces, dots, dashes and brackets that people type are
// dropped; anything else is an error naming the character.
func parseNumber(number string) (digits string, intl bool, err error) {
	n := strings.TrimSpace(number)
	if n == "" {
		return "", false, errors.New("number is empty")
	}
	if n[0] == '+' {
		intl = true
	}
	var b strings.Builder
	for i, c := range n {
		switch {
		case i == 0 && intl:
		case c >= '0' && c <= '9', c == '*', c == '#':
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false, fmt.Errorf("number %q has %q at position %d; use + and digits", number, c, i)
		}
	}
	digits = b.String()
	switch {
	case digits == "":
		return "", false, fmt.Errorf("number %q has no digits", number)
	case len(digits) > maxAddrDigits:
		return "", false, fmt.Errorf("number %q has %d digits, more than %d", number, len(digits), maxAddrDigits)
	case intl && strings.ContainsAny(digits, "*#"):
		return "", false, fmt.Errorf("international number %q may only hold digits", number)
	}
	return digits, intl, nil
}

// encodeAddress returns TP-DA (TS 23.040 9.1.2.5): digit count, type of
// address, semi-octets.
func encodeAddress(number string) ([]byte, error) {
	digits, intl, err := parseNumber(number)
	if err != nil {
		return nil, err
	}
	toa := byte(0x81) // unknown type, ISDN numbering plan
	if intl {
		toa = 0x91
	}
	bcd, err := semioctet.Encode([]byte(digits))
	if err != nil {
		return nil, fmt.Errorf("number %q: %w", number, err)
	}
	return append([]byte{byte(len(digits)), toa}, bcd...), nil
}

// encodeSMSC returns the SMSC field of a PDU-mode PDU (TS 27.005 3.3.1):
// "00" for the SIM's own, else an octet count, type of address and digits.
func encodeSMSC(number string) ([]byte, error) {
	if strings.TrimSpace(number) == "" {
		return []byte{0x00}, nil
	}
	addr, err := encodeAddress(number)
	if err != nil {
		return nil, err
	}
	// Unlike TP-DA, the length counts octets, including the type octet.
	addr[0] = byte(len(addr) - 1)
	return addr, nil
}

// relativeValidity returns the relative TP-VP octet (TS 23.040 9.2.3.12.1)
// for the shortest period the octet can express that is at least d.
func relativeValidity(d time.Duration) (byte, error) {
	const day = 24 * time.Hour
	ceilDiv := func(a, b time.Duration) int { return int((a + b - 1) / b) }
	switch {
	case d < 0:
		return 0, fmt.Errorf("validity %s is negative", d)
	case d <= 12*time.Hour:
		return byte(max(ceilDiv(d, 5*time.Minute)-1, 0)), nil
	case d <= day:
		return byte(143 + ceilDiv(d-12*time.Hour, 30*time.Minute)), nil
	case d <= 30*day:
		return byte(166 + ceilDiv(d, day)), nil
	case d <= 63*7*day:
		return byte(192 + ceilDiv(d, 7*day)), nil
	}
	return 0, fmt.Errorf("validity %s is longer than the 63 weeks an SMS can carry", d)
}

// relativeValidityDuration is the inverse of relativeValidity.
func relativeValidityDuration(v byte) time.Duration {
	switch {
	case v <= 143:
		return time.Duration(v+1) * 5 * time.Minute
	case v <= 167:
		return 12*time.Hour + time.Duration(v-143)*30*time.Minute
	case v <= 196:
		return time.Duration(v-166) * 24 * time.Hour
	}
	return time.Duration(v-192) * 7 * 24 * time.Hour
}

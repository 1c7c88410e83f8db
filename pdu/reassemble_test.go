package pdu

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/warthog618/sms/encoding/gsm7/charset"
)

// mustParts encodes text and decodes each part back, as a receiving
// modem would hand them over.
func mustParts(t *testing.T, text string, ref uint8) []*Message {
	t.Helper()
	enc, err := Submit{To: "+15551234567", Text: text, Ref: ref, Options: Options{MaxParts: 255}}.Encode()
	if err != nil {
		t.Fatalf("encode %q: %v", text, err)
	}
	return decodeParts(t, enc, ref)
}

func TestReassemble(t *testing.T) {
	long := strings.Repeat("0123456789", 40) // 400 septets: three parts
	parts := mustParts(t, long, 77)
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	p1, p2, p3 := parts[0], parts[1], parts[2]
	tests := []struct {
		name     string
		parts    []*Message
		complete bool
		text     string
		missing  []int
	}{
		{"in order", []*Message{p1, p2, p3}, true, long, nil},
		{"reversed", []*Message{p3, p2, p1}, true, long, nil},
		{"duplicates", []*Message{p2, p1, p2, p3, p1}, true, long, nil},
		{"first part only", []*Message{p1}, false, long[:153], []int{2, 3}},
		{"middle missing", []*Message{p3, p1}, false, long[:153] + long[306:], []int{2}},
		{"middle only, twice", []*Message{p2, p2}, false, long[153:306], []int{1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reassemble(tt.parts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Complete != tt.complete || got.Text != tt.text || got.Total != 3 || !slices.Equal(got.Missing, tt.missing) {
				t.Errorf("got complete=%v total=%d missing=%v text=%q\nwant complete=%v missing=%v text=%q",
					got.Complete, got.Total, got.Missing, got.Text, tt.complete, tt.missing, tt.text)
			}
		})
	}
}

func TestReassembleSingle(t *testing.T) {
	m, err := Decode("00040DD049B7F93D6D4E0100005201512103542911D9775D0E1ABFC965507A0E8AC96634")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Reassemble([]*Message{m})
	if err != nil || !got.Complete || got.Text != "Your code is 1234" || got.Total != 1 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestReassembleErrors(t *testing.T) {
	a := mustParts(t, strings.Repeat("a", 200), 1)
	b := mustParts(t, strings.Repeat("b", 200), 2)
	c := mustParts(t, strings.Repeat("c", 400), 1)
	single, _ := Decode("00040DD049B7F93D6D4E0100005201512103542911D9775D0E1ABFC965507A0E8AC96634")
	other := *a[1]
	other.From = "+15550000000"
	for name, parts := range map[string][]*Message{
		"different references": {a[0], b[1]},
		"different totals":     {a[0], c[1]},
		"different senders":    {a[0], &other},
		"single with a part":   {single, a[0]},
		"part with a single":   {a[0], single},
	} {
		if _, err := Reassemble(parts); !errors.Is(err, ErrMixedParts) {
			t.Errorf("%s: err = %v, want ErrMixedParts", name, err)
		}
	}
	if _, err := Reassemble(nil); err == nil {
		t.Error("Reassemble(nil) succeeded")
	}
}

// TestReassembleForeignSplits covers parts cut where bridged never cuts but
// other senders do: between an escape and its character, and between the
// halves of a surrogate pair. Joining before decoding recovers the text.
func TestReassembleForeignSplits(t *testing.T) {
	gsm := strings.Repeat("a", 152) + "€" + "end"
	u := toUnits(gsm, NoLanguage)
	escParts := buildParts(t, u, [][2]int{{0, 153}, {153, len(u.septets)}}, 5)
	emoji := strings.Repeat("中", 66) + "😀" + "end"
	u = toUnits(emoji, NoLanguage)
	surParts := buildParts(t, u, [][2]int{{0, 67}, {67, len(u.utf16)}}, 6)
	for name, tt := range map[string]struct {
		parts []*Message
		text  string
	}{"escape split": {escParts, gsm}, "surrogate split": {surParts, emoji}} {
		got, err := Reassemble(tt.parts)
		if err != nil || !got.Complete || got.Text != tt.text {
			t.Errorf("%s: got %q, %v; want %q", name, got.Text, err, tt.text)
		}
	}
}

// buildParts encodes u cut at the given ranges, however bad the cut.
func buildParts(t *testing.T, u *units, ranges [][2]int, ref byte) []*Message {
	t.Helper()
	var out []*Message
	da, _ := encodeAddress("+15551234567")
	dcs := byte(0x00)
	if u.enc == UCS2 {
		dcs = 0x08
	}
	for i, r := range ranges {
		udh := []byte{iecConcat8, 3, ref, byte(len(ranges)), byte(i + 1)}
		tp := append([]byte{0x00, 0x41, 0x00}, da...)
		tp = append(tp, 0x00, dcs)
		tp = append(tp, userData(u, r, udh)...)
		m, err := DecodeBytes(tp)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// gsmAlphabet is every character of the GSM default alphabet and its
// extension table, as the property test draws from it.
func gsmAlphabet() []rune {
	var rs []rune
	for _, r := range charset.DefaultDecoder() {
		rs = append(rs, r)
	}
	for _, r := range charset.DefaultExtDecoder() {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	// 0x1B is the escape septet, not a character.
	return slices.DeleteFunc(slices.Compact(rs), func(r rune) bool { return r == 0x1b })
}

// TestRoundTripProperty encodes random texts, decodes every part, and
// reassembles them shuffled and with repeats: the text must come back.
func TestRoundTripProperty(t *testing.T) {
	var cjk, emoji []rune
	for r := rune(0x4E00); r < 0x4E00+2000; r++ {
		cjk = append(cjk, r)
	}
	for r := rune(0x1F300); r < 0x1F650; r++ {
		emoji = append(emoji, r)
	}
	mixed := append(append(append([]rune{}, gsmAlphabet()...), cjk[:50]...), emoji[:50]...)
	alphabets := map[string][]rune{"gsm": gsmAlphabet(), "chinese": cjk, "emoji": emoji, "mixed": mixed}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	for name, alphabet := range alphabets {
		for i := range 300 {
			n := 1 + rng.IntN(700)
			rs := make([]rune, n)
			for j := range rs {
				rs[j] = alphabet[rng.IntN(len(alphabet))]
			}
			text := string(rs)
			ref := uint8(rng.UintN(256))
			parts := mustParts(t, text, ref)
			if name == "gsm" && parts[0].Encoding != GSM7 {
				t.Fatalf("seed %d %s #%d: GSM text encoded as %s", seed, name, i, parts[0].Encoding)
			}
			shuffled := slices.Clone(parts)
			if len(parts) > 1 { // a repeat of a single-part message is another message
				shuffled = append(shuffled, parts[rng.IntN(len(parts))])
			}
			rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			got, err := Reassemble(shuffled)
			if err != nil || !got.Complete || got.Text != text {
				t.Fatalf("seed %d %s #%d: reassembled %q (complete %v, err %v)\nwant %q", seed, name, i, got.Text, got.Complete, err, text)
			}
			if est := Estimate(text, Options{}); est.Parts != len(parts) {
				t.Fatalf("seed %d %s #%d: Estimate says %d parts, Encode made %d", seed, name, i, est.Parts, len(parts))
			}
		}
	}
}

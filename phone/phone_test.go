package phone

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"bridged/phone/internal/tablegen"
)

// The library is the reference: these tests read numbers with it and with
// this package and require the same answers.

type outcome struct {
	err   string // "" when the number parsed
	e164  string // of a valid number: nobody uses an invalid one's
	valid bool
	short bool
}

func (o outcome) String() string {
	if o.err != "" {
		return "error " + o.err
	}
	return fmt.Sprintf("%s valid=%v short=%v", o.e164, o.valid, o.short)
}

func ours(number, region string) outcome {
	n, err := Parse(number, region)
	if err != nil {
		kind := "other"
		if errors.Is(err, ErrInvalidCountryCode) {
			kind = "country code"
		}
		return outcome{err: kind}
	}
	o := outcome{valid: Valid(n), short: ShortCode(n, region)}
	if o.valid {
		o.e164 = n.E164()
	}
	return o
}

func library(number, region string) outcome {
	n, err := phonenumbers.Parse(number, region)
	if err != nil {
		kind := "other"
		if errors.Is(err, phonenumbers.ErrInvalidCountryCode) {
			kind = "country code"
		}
		return outcome{err: kind}
	}
	o := outcome{
		valid: phonenumbers.IsValidNumber(n),
		short: phonenumbers.IsValidShortNumberForRegion(n, region),
	}
	if o.valid {
		o.e164 = phonenumbers.Format(n, phonenumbers.E164)
	}
	return o
}

// corpus is every example number of libphonenumber's metadata, in the
// ways people write them, plus variations that make most of them invalid.
type sample struct{ number, region string }

func corpus() []sample {
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
		phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
		phonenumbers.UAN, phonenumbers.VOICEMAIL,
	}
	type example struct {
		n      *phonenumbers.PhoneNumber
		region string
	}
	var examples []example
	for _, r := range sortedRegions() {
		for _, ty := range types {
			if n := phonenumbers.GetExampleNumberForType(r, ty); n != nil {
				examples = append(examples, example{n, r})
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			examples = append(examples, example{n, ""})
		}
	}
	var out []sample
	for _, ex := range examples {
		n := ex.n
		e := phonenumbers.Format(n, phonenumbers.E164)
		national := phonenumbers.GetNationalSignificantNumber(n)
		numbers := []string{
			e,
			phonenumbers.Format(n, phonenumbers.INTERNATIONAL),
			phonenumbers.Format(n, phonenumbers.NATIONAL),
			phonenumbers.FormatOutOfCountryCallingNumber(n, "DE"),
			phonenumbers.FormatOutOfCountryCallingNumber(n, "US"),
			national,
			e[1:],          // the calling code without "+"
			e[:len(e)-1],   // a digit short
			e + "5",        // a digit too many
			"+0" + e[1:],   // a stray zero
			"+" + e,        // two plus signs
			"+00" + e[1:],  // a plus before an international prefix
			"0" + national, // a trunk prefix written by habit
			national[:len(national)-1],
		}
		for d := '0'; d <= '9'; d++ {
			numbers = append(numbers, string(d)+national[1:])
		}
		for _, s := range numbers {
			out = append(out, sample{s, ex.region})
		}
	}
	return out
}

func sortedRegions() []string {
	var rs []string
	for r := range phonenumbers.GetSupportedRegions() {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}

// TestSameAsLibrary reads the corpus and compares every outcome.
func TestSameAsLibrary(t *testing.T) {
	regions := append(sortedRegions(), "")
	numbers := corpus()
	checked, differ, valid := 0, 0, 0
	for i, sm := range numbers {
		number := sm.number
		if strings.ContainsFunc(number, func(r rune) bool { return r >= 'A' && r <= 'z' }) {
			continue // letters are refused before parsing: see TestRefusesLetters
		}
		// In its own region, in none, and in a rotating sample of the
		// others: short enough under -race, and every region reads many.
		for _, region := range []string{sm.region, "", regions[i%len(regions)]} {
			checked++
			want, got := library(number, region), ours(number, region)
			if want != got {
				differ++
				if differ <= 20 {
					t.Errorf("%q in %q: library %v, phone %v", number, region, want, got)
				}
			}
			if want.valid {
				valid++
			}
		}
	}
	// Both sides saying "invalid" to everything would agree too.
	if valid < checked/4 {
		t.Errorf("only %d of %d outcomes are valid numbers", valid, checked)
	}
	if differ > 0 {
		t.Errorf("%d of %d outcomes differ", differ, checked)
	}
	t.Logf("%d numbers, %d outcomes compared, %d of them valid", len(numbers), checked, valid)
}

// TestRandomSameAsLibrary compares digit strings nobody wrote on purpose:
// most are invalid, many almost valid.
func TestRandomSameAsLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	regions := append(sortedRegions(), "")
	prefixes := []string{"", "", "+", "00", "011", "0", "+44", "+1", "+86", "+39 0", "(0) "}
	differ := 0
	const n = 25000
	for i := 0; i < n; i++ {
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		for j := 2 + rng.IntN(15); j > 0; j-- {
			b.WriteByte(byte('0' + rng.IntN(10)))
			if rng.IntN(6) == 0 {
				b.WriteString([]string{" ", "-", ".", "/", "(", ")"}[rng.IntN(6)])
			}
		}
		number, region := b.String(), regions[rng.IntN(len(regions))]
		want, got := library(number, region), ours(number, region)
		if want != got {
			differ++
			if differ <= 20 {
				t.Errorf("%q in %q: library %v, phone %v", number, region, want, got)
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d outcomes differ", differ, n)
	}
}

// TestShortCodesSameAsLibrary reads every example of the short-number
// metadata (short codes, emergency, carrier services) in its region.
func TestShortCodesSameAsLibrary(t *testing.T) {
	coll, err := phonenumbers.ShortNumberMetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, m := range coll.GetMetadata() {
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetShortCode(), m.GetEmergency(), m.GetTollFree(),
			m.GetStandardRate(), m.GetPremiumRate(), m.GetCarrierSpecific(), m.GetSmsServices()} {
			s := d.GetExampleNumber()
			if s == "" {
				continue
			}
			count++
			if want, got := library(s, m.GetId()), ours(s, m.GetId()); want != got {
				t.Errorf("short %q in %s: library %v, phone %v", s, m.GetId(), want, got)
			}
		}
	}
	if count < 500 {
		t.Errorf("only %d example short numbers", count)
	}
}

func TestRegions(t *testing.T) {
	for r := range phonenumbers.GetSupportedRegions() {
		if !IsRegion(r) {
			t.Errorf("IsRegion(%q) = false", r)
		}
	}
	for _, r := range []string{"", "gb", "XX", "001", "ZZ"} {
		if IsRegion(r) {
			t.Errorf("IsRegion(%q) = true", r)
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if got, want := MainRegion(cc), phonenumbers.GetRegionCodeForCountryCode(cc); got != want {
			t.Errorf("MainRegion(%d) = %q, library %q", cc, got, want)
		}
	}
	if got := MainRegion(999); got != "" {
		t.Errorf("MainRegion(999) = %q", got)
	}
}

// TestEveryPatternCompiles compiles the whole table, as a request may reach
// any of it.
func TestEveryPatternCompiles(t *testing.T) {
	for _, tr := range territories {
		ps := []string{tr.idd, tr.npParse, tr.leading, tr.general.pattern, tr.shortGeneral.pattern, tr.shortCode.pattern}
		for _, d := range tr.valid {
			ps = append(ps, d.pattern)
		}
		for _, p := range ps {
			if _, err := regexp.Compile("^(?:" + p + ")$"); err != nil {
				t.Errorf("%s: %v", tr.id, err)
			}
		}
	}
}

func TestRefusesLetters(t *testing.T) {
	for _, s := range []string{"MyBank", "+44 7400 12345a", "0800 FLOWERS", "*100#", "+44 7400+123456", "+44 ߂ 7400123456", "", "+", "5", "86)", "+86", "+ +447400123456"} {
		if _, err := Parse(s, "GB"); !errors.Is(err, ErrNotANumber) {
			t.Errorf("Parse(%q) = %v, want ErrNotANumber", s, err)
		}
	}
}

func TestOtherDigitsAndPunctuation(t *testing.T) {
	for _, s := range []string{
		"＋４４ ７４００ １２３４５６",           // full width
		"+٤٤٧٤٠٠١٢٣٤٥٦",             // Arabic-Indic
		"+44\u00a07400\u2013123456", // no-break space, en dash
		"+44 (0)7400 123456",
	} {
		n, err := Parse(s, "")
		if err != nil || n.E164() != "+447400123456" {
			t.Errorf("Parse(%q) = %v, %v", s, n.E164(), err)
		}
	}
}

// TestTablesUpToDate regenerates tables.go from the library in go.mod: a
// changed version without `go generate ./phone` fails here.
func TestTablesUpToDate(t *testing.T) {
	want, err := os.ReadFile("tables.go")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	_, version, ok := strings.Cut(string(mod), tablegen.Library+" ")
	if !ok {
		t.Fatalf("go.mod does not require %s", tablegen.Library)
	}
	version, _, _ = strings.Cut(version, "\n")
	got, err := tablegen.Generate(strings.TrimSpace(version))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tables.go is not what `go generate ./phone` writes now; run it")
	}
}

// FuzzSameAsLibrary compares any input made of what Parse reads (ASCII,
// full-width and Arabic-Indic digits, plus signs and punctuation) in any
// region. The library also reads letters (vanity numbers, "ext. 12") and
// '*', and passes other scripts' digits on unconverted; Parse refuses those.
func FuzzSameAsLibrary(f *testing.F) {
	regions := append(sortedRegions(), "")
	for _, s := range []string{"+447400123456", "07400 123456", "00 86 138 0013 8000", "(202) 555-0100", "+39 06 1234 5678", "88088"} {
		f.Add(s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, number string, r uint16) {
		if strings.ContainsFunc(number, func(r rune) bool {
			return digitValue(r) < 0 && r != '+' && r != '＋' && !strings.ContainsRune(punctuation, r)
		}) {
			return
		}
		region := regions[int(r)%len(regions)]
		if want, got := library(number, region), ours(number, region); want != got {
			t.Errorf("%q in %q: library %v, phone %v", number, region, want, got)
		}
	})
}

func BenchmarkParseValid(b *testing.B) {
	for _, tc := range []struct{ number, region string }{
		{"+447400123456", ""}, {"07400 123456", "GB"}, {"+8613800138000", "GB"}, {"+12015550199", ""},
	} {
		b.Run(tc.number, func(b *testing.B) {
			for b.Loop() {
				n, err := Parse(tc.number, tc.region)
				if err != nil || !Valid(n) {
					b.Fatal(tc.number, err)
				}
			}
		})
		b.Run(tc.number+"/library", func(b *testing.B) {
			for b.Loop() {
				n, err := phonenumbers.Parse(tc.number, tc.region)
				if err != nil || !phonenumbers.IsValidNumber(n) {
					b.Fatal(tc.number, err)
				}
			}
		})
	}
}

// Package phone reads phone numbers as people write them and checks them
// against libphonenumber's numbering plans, giving E.164.
//
// It follows github.com/nyaruka/phonenumbers (Parse, IsValidNumber,
// IsValidShortNumberForRegion) step by step, on tables generated from that
// library's metadata (tables.go, `go generate ./phone`), so the daemon does
// not link the library itself: its package initialisation decodes all of its
// metadata, which costs about 5 MB of resident memory in a process that
// should idle near 12 MB. The tests compare both number by number.
package phone

//go:generate go run ./internal/gen -o tables.go

import (
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The errors of Parse, for errors.Is. A number that parses may still be
// invalid: see Valid.

// ErrNotANumber: no digits or too few, or characters no phone number has
// (letters, a plus sign after the first digit).
var ErrNotANumber = errors.New("not a phone number")

// ErrInvalidCountryCode: no calling code the tables know, or a national
// number with no default region to read it in.
var ErrInvalidCountryCode = errors.New("no known country code")

// ErrTooShort: fewer national digits than any phone number has.
var ErrTooShort = errors.New("too short to be a phone number")

// ErrTooLong: more characters, or national digits, than any phone number
// has.
var ErrTooLong = errors.New("too long to be a phone number")

// The limits of a national significant number, as libphonenumber has them
// (the ITU says 15 digits in all, but there are longer German numbers).
const (
	minNationalLength = 2
	maxNationalLength = 17
	maxCountryCodeLen = 3
	maxInputLength    = 250
)

// Number is a parsed number: a calling code and the national significant
// number, leading zeros included (Italy's numbers keep them).
type Number struct {
	CountryCode int
	National    string
}

// E164 formats n as "+" followed by digits only.
func (n Number) E164() string {
	return "+" + strconv.Itoa(n.CountryCode) + n.National
}

// desc is one pattern of a numbering plan: a number matches it when its
// length is one of lengths (each byte a length; empty means any) and the
// whole number matches pattern.
type desc struct {
	pattern      string
	lengths      string
	localLengths string
}

// territory is one region's numbering plan (or a non-geographic calling
// code's, id "001").
type territory struct {
	id      string
	cc      int
	idd     string // international dialling prefix, a pattern
	npParse string // national prefix as the parser looks for it, a pattern
	npRule  string // replacement for npParse's match, where it is not simply removed
	leading string // leading digits that pick this region among those sharing cc

	general desc
	valid   []desc // a number is valid if the general desc and one of these match

	shortGeneral, shortCode desc // short codes dialled within the region
}

func (d desc) hasLength(n int) bool {
	return d.lengths == "" || strings.IndexByte(d.lengths, byte(n)) >= 0
}

// matches is libphonenumber's isNumberMatchingDesc: length, then re,
// which is d's pattern compiled.
func (d desc) matches(re *regexp.Regexp, national string) bool {
	return d.hasLength(len(national)) && matchWhole(re, national)
}

// regions returns the territories of calling code cc, main region first.
func regions(cc int) []territory {
	i := sort.Search(len(territories), func(i int) bool { return territories[i].cc >= cc })
	j := i
	for j < len(territories) && territories[j].cc == cc {
		j++
	}
	return territories[i:j]
}

// region returns the territory of a region code such as "GB", or nil.
func region(id string) *territory {
	if id == "" || id == "001" {
		return nil
	}
	for i := range territories {
		if territories[i].id == id {
			return &territories[i]
		}
	}
	return nil
}

// IsRegion reports whether id is a region code with a numbering plan, such
// as "GB" (upper case, as ISO 3166 writes it).
func IsRegion(id string) bool { return region(id) != nil }

// MainRegion returns the main region of calling code cc ("US" for 1,
// "001" for a non-geographic code), or "" for a code nobody uses.
func MainRegion(cc int) string {
	if rs := regions(cc); len(rs) > 0 {
		return rs[0].id
	}
	return ""
}

// Parse reads number, written with "+" or the international prefix of
// defaultRegion and a calling code, or as a national number of
// defaultRegion (may be "" when every number has a calling code).
// Spaces, dashes, dots, slashes and parentheses are ignored.
func Parse(number, defaultRegion string) (Number, error) {
	if len(number) > maxInputLength {
		return Number{}, ErrTooLong
	}
	s, plus, err := possibleNumber(number)
	if err != nil {
		return Number{}, err
	}
	def := region(defaultRegion)
	if def == nil && !plus {
		return Number{}, ErrInvalidCountryCode
	}
	cc, national, err := extractCountryCode(s, plus, def)
	if errors.Is(err, ErrInvalidCountryCode) && plus {
		// libphonenumber tries once more without the plus: "+0044..." is
		// read as an international prefix after a stray "+".
		cc, national, err = extractCountryCode(s, false, def)
		if err == nil && cc == 0 {
			err = ErrInvalidCountryCode
		}
	}
	if err != nil {
		return Number{}, err
	}
	plan := def
	if cc == 0 {
		national = s
		cc = def.cc
	} else if rs := regions(cc); rs[0].id != defaultRegion {
		plan = &rs[0]
	}
	if len(national) < minNationalLength {
		return Number{}, ErrTooShort
	}
	if plan != nil {
		// The national prefix is removed only if what is left has a
		// possible length: otherwise the whole may be a short number.
		if stripped, ok := plan.stripNationalPrefix(national); ok {
			switch plan.general.testLength(stripped) {
			case tooShort, localOnly, invalidLength:
			default:
				national = stripped
			}
		}
	}
	if len(national) < minNationalLength {
		return Number{}, ErrTooShort
	}
	if len(national) > maxNationalLength {
		return Number{}, ErrTooLong
	}
	return Number{CountryCode: cc, National: national}, nil
}

// possibleNumber drops what comes before the first digit or plus sign,
// checks the rest holds only digits and punctuation, and returns its digits
// in ASCII and whether it starts with "+" (one or several).
func possibleNumber(number string) (digits string, plus bool, err error) {
	start := strings.IndexFunc(number, func(r rune) bool { return r == '+' || r == '＋' || digitValue(r) >= 0 })
	if start < 0 {
		return "", false, ErrNotANumber
	}
	var b strings.Builder
	leading := true // still in the run of plus signs the number starts with
	for _, r := range number[start:] {
		v := digitValue(r)
		switch {
		case r == '+' || r == '＋':
			if !leading {
				return "", false, ErrNotANumber
			}
			plus = true
			continue
		case v >= 0:
			b.WriteByte(byte('0' + v))
		case strings.ContainsRune(punctuation, r):
		default:
			return "", false, ErrNotANumber
		}
		leading = false
	}
	// Two digits pass only on their own; with anything around them it
	// takes three (libphonenumber's isViablePhoneNumber).
	if n := b.Len(); n < 3 && (n != 2 || utf8.RuneCountInString(number[start:]) != 2) {
		return "", false, ErrNotANumber
	}
	return b.String(), plus, nil
}

// punctuation may appear anywhere in a number: the separators people and
// phone books use, in ASCII and their full-width and typographic forms.
// Not '~', which libphonenumber reads as the start of an extension.
const punctuation = " -.()/[]\u00a0\u00ad\u200b\u2060\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff0e\uff0f\uff08\uff09\uff3b\uff3d\u2053\u223c"

// digitValue returns the value of r as a decimal digit, or -1. It reads
// the digits libphonenumber reads: ASCII, full-width and Arabic-Indic.
func digitValue(r rune) int {
	for _, zero := range []rune{'0', '\uff10', '\u0660', '\u06f0'} {
		if r >= zero && r <= zero+9 {
			return int(r - zero)
		}
	}
	return -1
}

// extractCountryCode reads the calling code of digits (libphonenumber's
// maybeExtractCountryCode): after "+" or def's international prefix it must
// be known; otherwise a number starting with def's own code is read as
// international only where that makes it fit def's plan. cc 0 means none.
func extractCountryCode(digits string, plus bool, def *territory) (cc int, national string, err error) {
	full, international := digits, plus
	if !plus && def != nil {
		if end, ok := matchPrefix(def.patterns().idd, full); ok && (end == len(full) || full[end] != '0') {
			full, international = full[end:], true
		}
	}
	if international {
		if len(full) <= minNationalLength {
			return 0, "", ErrTooShort
		}
		if full[0] == '0' {
			return 0, "", ErrInvalidCountryCode
		}
		for i := 1; i <= maxCountryCodeLen && i <= len(full); i++ {
			code, _ := strconv.Atoi(full[:i])
			if len(regions(code)) > 0 {
				return code, full[i:], nil
			}
		}
		return 0, "", ErrInvalidCountryCode
	}
	if def == nil {
		return 0, "", nil
	}
	own := strconv.Itoa(def.cc)
	if rest, ok := strings.CutPrefix(full, own); ok {
		if stripped, ok := def.stripNationalPrefix(rest); ok {
			rest = stripped
		}
		g := def.patterns().general
		if (!matchWhole(g, full) && matchWhole(g, rest)) || def.general.testLength(full) == tooLong {
			return def.cc, rest, nil
		}
	}
	return 0, "", nil
}

// stripNationalPrefix removes t's national prefix from the start of
// national, or rewrites it by t's rule (libphonenumber's
// maybeStripNationalPrefixAndCarrierCode, without keeping the carrier
// code). It refuses when that would spoil a number that fit the plan.
func (t *territory) stripNationalPrefix(national string) (string, bool) {
	if national == "" || t.npParse == "" {
		return "", false
	}
	p := t.patterns()
	re := p.npParse
	m := re.FindStringSubmatchIndex(national)
	if m == nil {
		return "", false
	}
	viable := matchWhole(p.general, national)
	last := len(m)/2 - 1 // the last capturing group
	var out string
	if t.npRule == "" || m[2*last] < 0 {
		out = national[m[1]:]
	} else {
		out = re.ReplaceAllString(national, t.npRule)
	}
	if viable && !matchWhole(p.general, out) {
		return "", false
	}
	return out, true
}

type lengthResult int

const (
	possible lengthResult = iota
	localOnly
	tooShort
	tooLong
	invalidLength
)

// testLength is libphonenumber's testNumberLength for an unknown kind of
// number: the general description's lengths.
func (d desc) testLength(national string) lengthResult {
	n := len(national)
	if d.lengths == "" {
		return invalidLength
	}
	if strings.IndexByte(d.localLengths, byte(n)) >= 0 {
		return localOnly
	}
	switch {
	case int(d.lengths[0]) == n:
		return possible
	case int(d.lengths[0]) > n:
		return tooShort
	case int(d.lengths[len(d.lengths)-1]) < n:
		return tooLong
	case strings.IndexByte(d.lengths[1:], byte(n)) >= 0:
		return possible
	}
	return invalidLength
}

// Valid reports whether n is a number its country's plan assigns (fixed,
// mobile, toll-free and so on), as libphonenumber's IsValidNumber.
func Valid(n Number) bool {
	t := planFor(n)
	return t != nil && t.isValid(n.National)
}

// planFor picks the region of n among those sharing its calling code: the
// first whose leading digits match, or else whose plan n fits.
func planFor(n Number) *territory {
	rs := regions(n.CountryCode)
	if len(rs) == 1 {
		return &rs[0]
	}
	for i := range rs {
		t := &rs[i]
		if t.leading != "" {
			if _, ok := matchPrefix(t.patterns().leading, n.National); ok {
				return t
			}
		} else if t.isValid(n.National) {
			return t
		}
	}
	return nil
}

func (t *territory) isValid(national string) bool {
	p := t.patterns()
	if !t.general.matches(p.general, national) {
		return false
	}
	for i, d := range t.valid {
		if d.matches(p.valid[i], national) {
			return true
		}
	}
	return false
}

// ShortCode reports whether n, read in region, is one of region's short
// codes (as libphonenumber's IsValidShortNumberForRegion).
func ShortCode(n Number, regionID string) bool {
	t := region(regionID)
	if t == nil || t.cc != n.CountryCode {
		return false
	}
	p := t.patterns()
	return t.shortGeneral.matches(p.shortGeneral, n.National) && t.shortCode.matches(p.shortCode, n.National)
}

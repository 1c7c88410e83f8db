package phone

import (
	"regexp"
	"sync"
)

// patterns are a territory's compiled patterns. A gateway sees numbers of a
// few countries, so they are compiled on first use and kept: nothing at
// start-up, and a request costs no compilation after the first.
type patterns struct {
	idd, npParse, leading   *regexp.Regexp // match at the start
	general                 *regexp.Regexp // match the whole number
	valid                   []*regexp.Regexp
	shortGeneral, shortCode *regexp.Regexp
}

var compiled sync.Map // *territory -> *patterns

// patterns returns t's compiled patterns. The tables come from
// libphonenumber, whose patterns Go's regexp accepts (the library compiles
// them with it); TestEveryPatternCompiles compiles every one.
func (t *territory) patterns() *patterns {
	if p, ok := compiled.Load(t); ok {
		return p.(*patterns)
	}
	p := &patterns{
		idd:          prefix(t.idd),
		npParse:      prefix(t.npParse),
		leading:      prefix(t.leading),
		general:      whole(t.general.pattern),
		shortGeneral: whole(t.shortGeneral.pattern),
		shortCode:    whole(t.shortCode.pattern),
	}
	for _, d := range t.valid {
		p.valid = append(p.valid, whole(d.pattern))
	}
	v, _ := compiled.LoadOrStore(t, p)
	return v.(*patterns)
}

// prefix compiles pattern to match at the start of a string; nil for none.
func prefix(pattern string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	return regexp.MustCompile("^(?:" + pattern + ")")
}

// whole compiles pattern to match a whole string; nil for none.
func whole(pattern string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	return regexp.MustCompile("^(?:" + pattern + ")$")
}

// matchWhole reports whether re (nil: matches nothing) matches all of s.
func matchWhole(re *regexp.Regexp, s string) bool {
	return re != nil && re.MatchString(s)
}

// matchPrefix reports whether re (nil: matches nothing) matches at the
// start of s, and where the match ends.
func matchPrefix(re *regexp.Regexp, s string) (int, bool) {
	if re == nil {
		return 0, false
	}
	m := re.FindStringIndex(s)
	if m == nil {
		return 0, false
	}
	return m[1], true
}

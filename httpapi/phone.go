package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"bridged/phone"
)

// normalise returns number in E.164, reading a number without "+" in
// region. The error says why in words a sender can act on; the caller adds
// the field name.
func normalise(number, region string) (string, error) {
	s := strings.TrimSpace(number)
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	for _, r := range s {
		if unicode.IsLetter(r) {
			return "", fmt.Errorf("%q is not a phone number: alphanumeric addresses can send SMS but not receive them", number)
		}
		if !unicode.IsDigit(r) && !strings.ContainsRune("+ -.()/", r) {
			return "", fmt.Errorf("%q is not a phone number: %q is not allowed in one", number, r)
		}
	}
	international := strings.HasPrefix(s, "+")
	if !international && region == "" {
		return "", fmt.Errorf("%q has no country code and no default country is configured: write it as +<country code><number>", number)
	}
	n, err := phone.Parse(s, region)
	if err != nil {
		if errors.Is(err, phone.ErrInvalidCountryCode) {
			return "", fmt.Errorf("%q does not start with a known country code", number)
		}
		return "", fmt.Errorf("%q is not a phone number", number)
	}
	if phone.Valid(n) {
		return n.E164(), nil
	}
	if !international && phone.ShortCode(n, region) {
		return "", fmt.Errorf("%q is a short code; only full phone numbers are accepted", number)
	}
	in := region
	if international {
		in = phone.MainRegion(n.CountryCode)
	}
	if in == "" || in == "001" {
		return "", fmt.Errorf("%q is not a valid phone number", number)
	}
	return "", fmt.Errorf("%q is not a valid phone number for region %s", number, in)
}

// normaliseFilter normalises a number given to filter a list, where a
// sender may also be alphanumeric ("VODAFONE") or a short code: what does
// not read as a phone number is matched as written.
func normaliseFilter(number, region string) string {
	if e164, err := normalise(number, region); err == nil {
		return e164
	}
	return strings.TrimSpace(number)
}

package pdu

import "github.com/warthog618/sms/encoding/gsm7/charset"

// warthog618/sms builds its GSM 7-bit tables lazily, on first use, into
// package variables with no lock, so the first two concurrent encodes or
// decodes race (go test -race caught it when a modem driver and the
// simulator decoded at once). Building every table here, before any caller
// can run, leaves only reads afterwards.
func init() {
	charset.DefaultDecoder()
	charset.DefaultEncoder()
	charset.DefaultExtEncoder()
	for nli := charset.Start; nli < charset.End; nli++ {
		charset.NewDecoder(nli)
		charset.NewEncoder(nli)
		charset.NewExtDecoder(nli)
		charset.NewExtEncoder(nli)
	}
}

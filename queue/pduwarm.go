package queue

import "bridged/pdu"

// warthog618/sms, under pdu, builds its GSM 7-bit character tables lazily
// in package variables without synchronisation, so the first concurrent
// Enqueue (pdu.Estimate) or Receive (pdu.Decode) calls race (go test -race
// caught it). Building the tables once, before any store exists, leaves
// only reads afterwards. The national language decoding tables, built when
// a received PDU names one, are not covered: that needs the fix in pdu
// (reported), after which this file goes.
func init() {
	for l := pdu.NoLanguage; l <= 13; l++ {
		// A character no table has walks every table of the language.
		pdu.Estimate("中", pdu.Options{Language: l})
	}
	pdu.Decode("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
}

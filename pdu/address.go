package pdu

// EncodeAddress returns number as the address field of a TPDU (TS 23.040
// 9.1.2.5: digit count, type of address, semi-octets), as SMS-SUBMIT
// carries it in TP-DA. It is exported for the network side, which writes
// the same field as TP-OA and TP-RA, so that a number is read one way
// everywhere: "+" and digits international, digits alone national, and
// the separators people type dropped. An invalid number is an error
// naming what is wrong.
func EncodeAddress(number string) ([]byte, error) { return encodeAddress(number) }

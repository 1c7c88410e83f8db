package pdu

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/tpdu"
)

// reader walks a PDU and produces DecodeErrors that point into it.
type reader struct {
	b   []byte
	off int
}

func (r *reader) fail(field string, err error, detail string, args ...any) error {
	return &DecodeError{Field: field, Offset: r.off, Err: err, Detail: fmt.Sprintf(detail, args...)}
}

func (r *reader) byte(field string) (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail(field, ErrTruncated, "")
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) take(field string, n int) ([]byte, error) {
	if left := len(r.b) - r.off; n > left {
		return nil, r.fail(field, ErrOverrun, "needs %d octets, %d left", n, left)
	}
	r.off += n
	return r.b[r.off-n : r.off], nil
}

func (r *reader) smsc() (string, error) {
	n, err := r.byte("SMSC length")
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	// One type octet and up to ten octets of digits (TS 24.011 8.2.5.1).
	if n > 11 {
		r.off--
		return "", r.fail("SMSC length", ErrInvalid, "%d octets, at most 11", n)
	}
	field, err := r.take("SMSC", int(n))
	if err != nil {
		return "", err
	}
	toa := field[0]
	digits, err := semiOctets(field[1:], 2*(int(n)-1), true)
	if err != nil {
		return "", &DecodeError{Field: "SMSC", Offset: 2, Err: ErrInvalid, Detail: err.Error()}
	}
	if (toa>>4)&0x07 == 1 {
		return "+" + digits, nil
	}
	return digits, nil
}

// semiOctets decodes n swapped BCD digits (TS 23.040 9.1.2.3). A trailing
// filler 0xF ends the number early when fillerEnds is set, as in the SMSC
// field whose length counts octets rather than digits.
func semiOctets(b []byte, n int, fillerEnds bool) (string, error) {
	const digits = "0123456789*#abc"
	var sb strings.Builder
	for i := 0; i < n; i++ {
		d := b[i/2] & 0x0f
		if i%2 == 1 {
			d = b[i/2] >> 4
		}
		if d == 0x0f {
			if fillerEnds && i == n-1 {
				break
			}
			return "", fmt.Errorf("filler digit F at digit %d of %d", i+1, n)
		}
		sb.WriteByte(digits[d])
	}
	return sb.String(), nil
}

// address reads TP-OA, TP-DA or TP-RA (TS 23.040 9.1.2.5).
func (r *reader) address(field string) (string, error) {
	start := r.off
	n, err := r.byte(field + " length")
	if err != nil {
		return "", err
	}
	if n > maxAddrDigits {
		r.off--
		return "", r.fail(field+" length", ErrInvalid, "%d digits, at most %d", n, maxAddrDigits)
	}
	toa, err := r.byte(field + " type")
	if err != nil {
		return "", err
	}
	body, err := r.take(field, (int(n)+1)/2)
	if err != nil {
		return "", err
	}
	switch ton := (toa >> 4) & 0x07; ton {
	case 5: // alphanumeric, GSM 7-bit packed (TS 23.040 9.1.2.5)
		septets := gsm7.Unpack7Bit(body, 0)
		if want := int(n) * 4 / 7; len(septets) > want {
			septets = septets[:want]
		}
		text, err := gsm7.Decode(septets)
		if err != nil {
			return "", &DecodeError{Field: field, Offset: start + 2, Err: ErrInvalid, Detail: err.Error()}
		}
		return string(text), nil
	case 7:
		return "", &DecodeError{Field: field + " type", Offset: start + 1, Err: ErrReserved, Detail: fmt.Sprintf("type of number 7 in 0x%02X", toa)}
	default:
		digits, err := semiOctets(body, int(n), false)
		if err != nil {
			return "", &DecodeError{Field: field, Offset: start + 2, Err: ErrInvalid, Detail: err.Error()}
		}
		if ton == 1 {
			return "+" + digits, nil
		}
		return digits, nil
	}
}

// timestamp reads TP-SCTS or TP-DT (TS 23.040 9.2.3.11).
func (r *reader) timestamp(field string) (*time.Time, error) {
	start := r.off
	b, err := r.take(field, 7)
	if err != nil {
		return nil, err
	}
	var f [6]int
	for i := range 6 {
		lo, hi := b[i]&0x0f, b[i]>>4
		if lo > 9 || hi > 9 {
			return nil, &DecodeError{Field: field, Offset: start + i, Err: ErrInvalid, Detail: fmt.Sprintf("0x%02X is not two decimal digits", b[i])}
		}
		f[i] = int(lo)*10 + int(hi)
	}
	lo, hi := b[6]&0x07, b[6]>>4
	if hi > 9 {
		return nil, &DecodeError{Field: field, Offset: start + 6, Err: ErrInvalid, Detail: fmt.Sprintf("time zone 0x%02X is not decimal", b[6])}
	}
	quarters := int(lo)*10 + int(hi)
	if b[6]&0x08 != 0 {
		quarters = -quarters
	}
	year, month, day, hour, minute, sec := f[0], f[1], f[2], f[3], f[4], f[5]
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 || quarters < -72 || quarters > 72 {
		return nil, &DecodeError{Field: field, Offset: start, Err: ErrInvalid,
			Detail: fmt.Sprintf("%02d-%02d-%02d %02d:%02d:%02d zone %d quarter hours is not a time", year, month, day, hour, minute, sec, quarters)}
	}
	// Two-digit years: 70-99 are the 1900s, as in other SMS software.
	if year < 70 {
		year += 2000
	} else {
		year += 1900
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.FixedZone("", quarters*15*60))
	return &t, nil
}

// dcs is what a TP-DCS octet says (TS 23.038 section 4).
type dcs struct {
	enc   Encoding
	class *int
}

func (r *reader) dcs() (dcs, error) {
	v, err := r.byte("TP-DCS")
	if err != nil {
		return dcs{}, err
	}
	bad := func(err error, why string) (dcs, error) {
		r.off--
		return dcs{}, r.fail("TP-DCS", err, "0x%02X: %s", v, why)
	}
	var d dcs
	withClass := func(present bool) {
		if present {
			c := int(v & 0x03)
			d.class = &c
		}
	}
	switch {
	case v&0xc0 == 0x00, v&0xc0 == 0x40: // general data coding, or marked for automatic deletion
		if v&0x20 != 0 {
			return bad(ErrInvalid, "compressed user data (TS 23.042) is not supported")
		}
		switch (v >> 2) & 0x03 {
		case 0:
			d.enc = GSM7
		case 1:
			d.enc = Data8
		case 2:
			d.enc = UCS2
		default:
			return bad(ErrReserved, "reserved alphabet")
		}
		withClass(v&0x10 != 0)
	case v&0xf0 == 0xc0, v&0xf0 == 0xd0: // message waiting indication, GSM 7-bit
		d.enc = GSM7
	case v&0xf0 == 0xe0: // message waiting indication, UCS-2
		d.enc = UCS2
	case v&0xf0 == 0xf0: // data coding / message class
		d.enc = GSM7
		if v&0x04 != 0 {
			d.enc = Data8
		}
		withClass(true)
	default:
		return bad(ErrReserved, "reserved coding group")
	}
	return d, nil
}

// userData reads TP-UDL and TP-UD (TS 23.040 9.2.3.16, 9.2.3.24) into m.
func (r *reader) userData(m *Message, d dcs, udhi bool) error {
	m.Encoding = d.enc
	m.Class = d.class
	udl, err := r.byte("TP-UDL")
	if err != nil {
		return err
	}
	octets := int(udl)
	if d.enc == GSM7 {
		octets = (int(udl)*7 + 7) / 8
	}
	if octets > maxUDOctets {
		r.off--
		return r.fail("TP-UDL", ErrInvalid, "%d is more than one SMS can hold", udl)
	}
	udStart := r.off
	ud, err := r.take("TP-UD", octets)
	if err != nil {
		return err
	}
	// Octets after TP-UDL's worth are ignored, as gammu and Android do:
	// phones have been seen to print PDUs padded past the user data, and
	// TP-UDL is what the sender declared.
	hdrLen := 0
	if udhi {
		if len(ud) == 0 {
			return &DecodeError{Field: "TP-UDH", Offset: udStart, Err: ErrTruncated, Detail: "TP-UDHI is set but there is no user data"}
		}
		hdrLen = int(ud[0]) + 1
		if hdrLen > len(ud) {
			return &DecodeError{Field: "TP-UDHL", Offset: udStart, Err: ErrOverrun, Detail: fmt.Sprintf("header of %d octets in %d octets of user data", hdrLen, len(ud))}
		}
		if m.udh, err = parseUDH(ud[1:hdrLen], udStart+1); err != nil {
			return err
		}
		m.Concat = concatInfo(m.udh)
	}
	switch d.enc {
	case GSM7:
		hdrSeptets := (hdrLen*8 + 6) / 7
		if hdrSeptets > int(udl) {
			return &DecodeError{Field: "TP-UDL", Offset: udStart - 1, Err: ErrInvalid, Detail: fmt.Sprintf("%d septets cannot hold a %d-octet header", udl, hdrLen)}
		}
		fill := hdrSeptets*7 - hdrLen*8
		m.ud = gsm7.Unpack7Bit(ud[hdrLen:], fill)
		if n := int(udl) - hdrSeptets; len(m.ud) > n {
			m.ud = m.ud[:n]
		}
		m.Text = decodeSeptets(m.ud, m.udh)
	case UCS2:
		m.ud = ud[hdrLen:]
		if len(m.ud)%2 != 0 {
			return &DecodeError{Field: "TP-UD", Offset: udStart + hdrLen, Err: ErrInvalid, Detail: fmt.Sprintf("odd number of UCS-2 octets (%d)", len(m.ud))}
		}
		m.Text = decodeUCS2(m.ud)
	default:
		m.ud = ud[hdrLen:]
		m.Data = append([]byte(nil), m.ud...)
	}
	return nil
}

// parseUDH splits a user data header into its information elements.
func parseUDH(b []byte, base int) (tpdu.UserDataHeader, error) {
	var udh tpdu.UserDataHeader
	for i := 0; i < len(b); {
		if i+2 > len(b) || i+2+int(b[i+1]) > len(b) {
			return nil, &DecodeError{Field: "TP-UDH", Offset: base + i, Err: ErrOverrun, Detail: "information element runs past the header"}
		}
		n := int(b[i+1])
		udh = append(udh, tpdu.InformationElement{ID: b[i], Data: b[i+2 : i+2+n]})
		i += 2 + n
	}
	return udh, nil
}

// concatInfo returns the concatenation element, or nil. An element with a
// total or sequence number of zero, or a sequence beyond the total, is
// ignored as TS 23.040 9.2.3.24.1 requires: the part is shown on its own.
func concatInfo(udh tpdu.UserDataHeader) *Concat {
	total, seq, ref, ok := udh.ConcatInfo()
	if !ok || total == 0 || seq == 0 || seq > total {
		return nil
	}
	return &Concat{Ref: ref, Total: total, Seq: seq}
}

// decodeSeptets turns unpacked septets into text, with the national
// language tables the header names (IEI 0x24 single shift, 0x25 locking
// shift: TS 23.040 9.2.3.24.15-16). warthog618/sms's own DecodeUserData
// looks for IEIs 24 and 25 in decimal, so the lookup is done here. Unknown
// septets become spaces rather than failing: a message with one odd
// character is still worth reading.
func decodeSeptets(septets []byte, udh tpdu.UserDataHeader) string {
	var opts []gsm7.DecoderOption
	if ie, ok := udh.IE(iecLocking); ok && len(ie.Data) == 1 && knownLanguage(ie.Data[0]) {
		opts = append(opts, gsm7.WithCharset(int(ie.Data[0])))
	}
	if ie, ok := udh.IE(iecShift); ok && len(ie.Data) == 1 && knownLanguage(ie.Data[0]) {
		opts = append(opts, gsm7.WithExtCharset(int(ie.Data[0])))
	}
	text, err := gsm7.Decode(septets, opts...)
	if err != nil {
		return string(septets)
	}
	return string(text)
}

// decodeUCS2 decodes UTF-16BE; an unpaired surrogate becomes U+FFFD.
func decodeUCS2(b []byte) string {
	w := make([]uint16, len(b)/2)
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(w))
}

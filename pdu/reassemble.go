package pdu

import (
	"errors"
	"fmt"
)

// Reassembled is the state of one multipart message from the parts seen so far.
type Reassembled struct {
	// Complete is true once every part from 1 to Total is present.
	Complete bool
	Total    int
	// Text is the whole text when Complete; otherwise the text of the parts
	// present, in order, so that a message given up on can still be read.
	Text string
	// Data is the joined 8-bit user data, for binary messages.
	Data HexBytes
	// Missing lists the sequence numbers not seen yet, in order.
	Missing []int
}

// ErrMixedParts is returned when the parts given to Reassemble do not
// belong to one message: different senders, references or totals.
var ErrMixedParts = errors.New("parts belong to different messages")

// Reassemble joins the parts of one message, as decoded from the PDUs a
// caller stored for one (sender, reference, total). Parts may come in any
// order and more than once; a repeated sequence number keeps the first.
// A single-part message (no concatenation element) is complete by itself.
//
// Parts are joined before their text is decoded, because other senders'
// encoders may cut between an escape and its character or between the
// halves of a surrogate pair.
func Reassemble(parts []*Message) (Reassembled, error) {
	if len(parts) == 0 {
		return Reassembled{}, errors.New("reassemble: no parts")
	}
	first := parts[0]
	if first.Concat == nil {
		if len(parts) > 1 {
			return Reassembled{}, fmt.Errorf("reassemble: %d parts without a concatenation header: %w", len(parts), ErrMixedParts)
		}
		return Reassembled{Complete: true, Total: 1, Text: first.Text, Data: first.Data}, nil
	}
	total := first.Concat.Total
	bySeq := make([]*Message, total+1)
	for _, p := range parts {
		c := p.Concat
		if c == nil || c.Ref != first.Concat.Ref || c.Total != total || p.From != first.From {
			return Reassembled{}, fmt.Errorf("reassemble: part from %q ref %v with first part from %q ref %d of %d: %w",
				p.From, c, first.From, first.Concat.Ref, total, ErrMixedParts)
		}
		if bySeq[c.Seq] == nil {
			bySeq[c.Seq] = p
		}
	}
	out := Reassembled{Total: total}
	var run []*Message // consecutive present parts of one encoding
	flush := func() {
		if len(run) == 0 {
			return
		}
		var ud []byte
		for _, p := range run {
			ud = append(ud, p.ud...)
		}
		switch run[0].Encoding {
		case GSM7:
			out.Text += decodeSeptets(ud, run[0].udh)
		case UCS2:
			out.Text += decodeUCS2(ud)
		default:
			out.Data = append(out.Data, ud...)
		}
		run = run[:0]
	}
	for seq := 1; seq <= total; seq++ {
		p := bySeq[seq]
		if p == nil {
			flush()
			out.Missing = append(out.Missing, seq)
			continue
		}
		if len(run) > 0 && run[0].Encoding != p.Encoding {
			flush()
		}
		run = append(run, p)
	}
	flush()
	out.Complete = len(out.Missing) == 0
	return out, nil
}

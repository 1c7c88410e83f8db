package modemsim

import (
	"fmt"
	"strings"
	"time"

	"bridged/modem/modemsim/smsc"
	"bridged/pdu"
)

// sameNumber compares numbers by their digits, so "+12015550102" and
// "12015550102" (national format without the plus) are the same phone.
func sameNumber(a, b string) bool {
	return digits(a) != "" && digits(a) == digits(b)
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (n *Network) byNumber(number string) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.modems {
		if sameNumber(m.cfg.Number, number) {
			return m
		}
	}
	return nil
}

// after runs f after d unless the network is closed first.
func (n *Network) after(d time.Duration, f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		n.mu.Lock()
		live := n.timers[t]
		delete(n.timers, t)
		n.mu.Unlock()
		if live {
			f()
		}
	})
	n.timers[t] = true
}

// deliverParts encodes an injected text as the network would deliver it.
func (n *Network) deliverParts(from, text string) (*pdu.Encoded, error) {
	n.mu.Lock()
	n.ref++
	ref := n.ref
	n.mu.Unlock()
	return smsc.Deliver{From: from, Text: text, SMSC: n.opts.SMSC, Timestamp: n.opts.Clock(), Ref: ref,
		Options: pdu.Options{MaxParts: 255}}.Encode()
}

// Status report values (TS 23.040 9.2.3.15).
const (
	stDelivered           = 0x00
	stIncompatibleDestSME = 0x41
)

// submit routes one SMS-SUBMIT part that modem `from` sent with TP-MR mr.
// It runs without any modem's lock held.
func (n *Network) submit(sender *Modem, from string, mr uint8, submitHex string) {
	scts := n.opts.Clock()
	deliver, info, err := smsc.SubmitToDeliver(submitHex, from, n.opts.SMSC, scts)
	if err != nil {
		// The modem checked the PDU already; this is a simulator bug.
		n.log.Error("relay submit", logErr, err)
		return
	}
	n.mu.Lock()
	outcome, delay := n.opts.ReportOutcome, n.opts.ReportDelay
	n.mu.Unlock()
	report := func(st byte) {
		if !info.StatusReport || outcome == ReportNever {
			return
		}
		n.after(delay, func() {
			p, err := smsc.StatusReport{SMSC: n.opts.SMSC, MessageRef: mr, Recipient: info.To,
				Timestamp: scts, Discharge: n.opts.Clock(), Status: st}.Encode()
			if err != nil {
				n.log.Error("status report", logErr, err)
				return
			}
			sender.receive(inbound{part: p, report: true, class: -1})
		})
	}
	st := byte(stDelivered)
	if outcome == ReportFailed {
		st = stIncompatibleDestSME
	}
	if dest := n.byNumber(info.To); dest != nil {
		n.log.Debug("relay", logFrom, from, logTo, info.To, logMR, mr)
		if outcome == ReportFailed {
			report(st)
			return
		}
		dest.receive(inbound{part: deliver, class: classOf(deliver.PDU), onDone: func() { report(st) }})
		return
	}
	msg, err := pdu.Decode(submitHex)
	if err != nil {
		n.log.Error("decode submit", logErr, err)
		return
	}
	n.mu.Lock()
	n.total++
	n.sent = append(n.sent, SentSMS{From: from, To: info.To, MessageRef: int(mr), PDU: submitHex, Message: msg, Time: scts, Seq: n.total})
	if k := n.opts.KeepSent; k > 0 && len(n.sent) >= 2*k {
		// Copied down in one go now and then, not shifted per part.
		n.sent = append(n.sent[:0:0], n.sent[len(n.sent)-k:]...)
	}
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
	n.log.Debug("sent out of the network", logFrom, from, logTo, info.To, logMR, mr)
	report(st)
	if sameNumber(info.To, EchoNumber) {
		n.echoPart(sender, from, msg)
	}
}

// echoPart collects the parts of a message to the echo phone and replies
// once it has them all.
func (n *Network) echoPart(sender *Modem, from string, msg *pdu.Message) {
	parts := []*pdu.Message{msg}
	if msg.Concat != nil {
		key := fmt.Sprintf("%s/%d/%d", from, msg.Concat.Ref, msg.Concat.Total)
		n.mu.Lock()
		n.echo[key] = append(n.echo[key], msg)
		parts = n.echo[key]
		if len(parts) < msg.Concat.Total {
			n.mu.Unlock()
			return
		}
		delete(n.echo, key)
		n.mu.Unlock()
	}
	r, err := pdu.Reassemble(parts)
	if err != nil || !r.Complete {
		n.log.Debug("echo phone cannot join the parts", logErr, err)
		return
	}
	text := r.Text
	if text == "" && len(r.Data) > 0 {
		text = fmt.Sprintf("%d octets of data", len(r.Data))
	}
	n.after(n.opts.EchoDelay, func() {
		if err := sender.Deliver(EchoNumber, "Echo: "+text); err != nil {
			n.log.Error("echo reply", logErr, err)
		}
	})
}

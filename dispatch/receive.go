package dispatch

import (
	"context"
	"errors"
	"time"

	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

// receiveLoop stores what the modem hands over, then lets it delete it.
func (w *worker) receiveLoop(ctx context.Context) {
	for {
		var in *modem.Inbound
		select {
		case <-ctx.Done():
			return
		case in = <-w.m.Inbound():
		}
		if err := w.storeInbound(ctx, in.Received); err != nil {
			// Not acknowledged: the message stays on the modem and comes
			// again with the next sweep.
			w.log.Error("could not store a received message; it stays on the modem", "storage", in.Storage, "index", in.Slot, "err", err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := in.Ack(actx); err != nil && ctx.Err() == nil {
			w.log.Warn("stored, but the modem could not delete it; it will be read again and deduplicated", "storage", in.Storage, "index", in.Slot, "err", err)
		} else if err == nil {
			w.d.acked(ctx, in.Received)
		}
		cancel()
	}
}

// storeInbound stores one received PDU durably: a status report is matched
// to the part it reports on, anything else (an undecodable PDU too, raw)
// goes to the store's Receive. Only after it returns nil may the modem
// delete the PDU.
func (w *worker) storeInbound(ctx context.Context, in pdu.Received) error {
	if in.StatusReport() {
		r, err := queue.ReportFromPDU(in.Modem, in.Message)
		if err != nil {
			return err
		}
		// Matching waits for a part in flight to be recorded.
		w.sending.Lock()
		rep, err := w.d.store.Report(ctx, r)
		w.sending.Unlock()
		if errors.Is(err, queue.ErrNotFound) {
			w.log.Info("status report for no known message", "mr", r.Ref, "status", r.Status)
			return nil
		}
		if err == nil {
			w.log.Debug("status report", "message", rep.MessageID, "part", rep.Seq, "status", rep.Status)
		}
		return err
	}
	rec, err := w.d.store.Receive(ctx, in)
	if err != nil {
		return err
	}
	switch {
	case in.DecodeErr != nil:
		w.log.Warn("received a PDU that does not decode; stored raw", "part", rec.PartID, "err", in.DecodeErr)
	case rec.Duplicate:
		w.log.Debug("received a part already stored", "part", rec.PartID)
	case rec.Message != nil:
		w.log.Info("received a message", "inbox", rec.Message.ID, "parts", rec.Message.Parts)
	default:
		// A part of a multipart message waiting for the others: its group
		// has a release deadline the maintainer must learn of.
		signal(w.d.touched)
	}
	return nil
}

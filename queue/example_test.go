package queue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"bridged/pdu"
	"bridged/queue"
)

// A dispatcher's loop for one modem, and the inbound path: claim what is
// due, confirm each part as +CMGS answers it, sleep until a wake-up or the
// next due time; store a received PDU before deleting it from the SIM.
func Example() {
	dir, _ := os.MkdirTemp("", "queue-example-")
	defer os.RemoveAll(dir)
	s, err := queue.Open(filepath.Join(dir, "bridged.db"), queue.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	wake, stop := s.Subscribe()
	defer stop()

	// The HTTP API: 202 only after this returns.
	res, err := s.Enqueue(ctx, "request-1", queue.NewMessage{To: "+447700900123", Text: "Hello", Report: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("enqueued", res.Messages[0].Status, res.Messages[0].Encoding, res.Messages[0].Parts)

	// The dispatcher, woken by the enqueue.
	<-wake
	req := queue.ClaimRequest{Modem: "modem-1", Limit: 1, Lease: 2 * time.Minute}
	ms, err := s.Claim(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range ms {
		for _, seq := range m.Pending() {
			ref := 42 // AT+CMGS answered +CMGS: 42
			if err := s.PartSent(ctx, *m.Lease, seq, ref); err != nil {
				fmt.Println(err)
				return
			}
		}
	}
	if _, ok, _ := s.NextDue(ctx, req); !ok {
		fmt.Println("nothing due later: wait for a wake-up")
	}

	// The modem driver: a +CDS status report, then a received SMS.
	r, _ := s.Report(ctx, queue.Report{Modem: "modem-1", Ref: 42, Recipient: "447700900123", Outcome: "delivered"})
	fmt.Println("report:", r.Status)
	in, err := s.Receive(ctx, pdu.DecodeReceived("modem-1", "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37", "SM", 3))
	if err != nil {
		fmt.Println(err) // keep it on the SIM; it is read again later
		return
	}
	fmt.Printf("received %q from %s; now AT+CMGD=3\n", in.Message.Text, in.Message.From)
	// Output:
	// enqueued queued gsm7 1
	// nothing due later: wait for a wake-up
	// report: delivered
	// received "hellohello" from 27838890001; now AT+CMGD=3
}

package queue

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"bridged/internal/testutil"
)

// testStart is where the stores' clocks in tests start.
var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// MustOpen opens a store on a fresh file in t.TempDir with an injected
// clock and no jitter, and closes it when the test ends.
func MustOpen(tb testing.TB, opts Options) (*Store, *testutil.Clock, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bridged.db")
	clk := testutil.NewClock(testStart)
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = func(time.Duration) time.Duration { return 0 }
	}
	s, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, clk, path
}

// MustReopen closes s and opens the same file again with opts.
func MustReopen(tb testing.TB, s *Store, path string, opts Options) *Store {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	s2, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("reopen: %v", err)
	}
	tb.Cleanup(func() { s2.Close() })
	return s2
}

func MustEnqueue(tb testing.TB, s *Store, msgs ...NewMessage) []*Message {
	tb.Helper()
	res, err := s.Enqueue(context.Background(), "", msgs...)
	if err != nil {
		tb.Fatalf("enqueue: %v", err)
	}
	return res.Messages
}

// MustExpire enqueues n messages of text valid for a minute, an hour ago,
// and expires them: old messages for Prune to remove. They are enqueued
// pruneBatch at a time, so that no one transaction holds them all.
func MustExpire(tb testing.TB, s *Store, clk *testutil.Clock, n int, text string) {
	tb.Helper()
	msgs := make([]NewMessage, n)
	for i := range msgs {
		msgs[i] = NewMessage{To: "+1555", Text: text, ValidFor: time.Minute}
	}
	for chunk := range slices.Chunk(msgs, pruneBatch) {
		if _, err := s.Enqueue(ctx, "", chunk...); err != nil {
			tb.Fatal(err)
		}
	}
	clk.Advance(time.Hour)
	if got, err := s.Expire(ctx); err != nil || got != n {
		tb.Fatalf("expire %d %v, want %d", got, err, n)
	}
}

func MustClaim(tb testing.TB, s *Store, req ClaimRequest) []*Message {
	tb.Helper()
	if req.Lease == 0 {
		req.Lease = time.Minute
	}
	ms, err := s.Claim(context.Background(), req)
	if err != nil {
		tb.Fatalf("claim: %v", err)
	}
	return ms
}

func MustGet(tb testing.TB, s *Store, id int64) *Message {
	tb.Helper()
	m, err := s.Get(context.Background(), id)
	if err != nil {
		tb.Fatalf("get %d: %v", id, err)
	}
	return m
}

// semiOctets writes digits as swapped BCD with an F filler (TS 23.040 9.1.2.3).
func semiOctets(digits string) []byte {
	if len(digits)%2 == 1 {
		digits += "F"
	}
	var out []byte
	for i := 0; i < len(digits); i += 2 {
		lo, hi := hexDigit(digits[i]), hexDigit(digits[i+1])
		out = append(out, hi<<4|lo)
	}
	return out
}

func hexDigit(c byte) byte {
	if c == 'F' {
		return 0xF
	}
	return c - '0'
}

// address encodes an international number (TS 23.040 9.1.2.5).
func address(number string) []byte {
	d := strings.TrimPrefix(number, "+")
	toa := byte(0x81)
	if strings.HasPrefix(number, "+") {
		toa = 0x91
	}
	return append([]byte{byte(len(d)), toa}, semiOctets(d)...)
}

// scts encodes a service-centre time stamp in UTC (TS 23.040 9.2.3.11).
func scts(t time.Time) []byte {
	t = t.UTC()
	return append(semiOctets(fmt.Sprintf("%02d%02d%02d%02d%02d%02d", t.Year()%100, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())), 0x00)
}

// deliverPDU builds an SMS-DELIVER in UCS-2, with a concatenation element
// when total > 1, as a modem prints it (empty SMSC field first). The test
// writes its own encoder so as not to depend on the codec under test.
func deliverPDU(from, text string, at time.Time, ref, total, seq int) string {
	fo := byte(0x04) // SMS-DELIVER, no more messages
	var ud []byte
	if total > 1 {
		fo |= 0x40 // TP-UDHI
		ud = []byte{0x05, 0x00, 0x03, byte(ref), byte(total), byte(seq)}
	}
	for _, u := range utf16.Encode([]rune(text)) {
		ud = append(ud, byte(u>>8), byte(u))
	}
	b := []byte{0x00, fo}
	b = append(b, address(from)...)
	b = append(b, 0x00, 0x08) // PID, DCS UCS-2
	b = append(b, scts(at)...)
	b = append(b, byte(len(ud)))
	b = append(b, ud...)
	return strings.ToUpper(hex.EncodeToString(b))
}

// statusReportPDU builds an SMS-STATUS-REPORT (TS 23.040 9.2.2.3).
func statusReportPDU(ref int, recipient string, at time.Time, st byte) string {
	b := []byte{0x00, 0x06, byte(ref)}
	b = append(b, address(recipient)...)
	b = append(b, scts(at)...)
	b = append(b, scts(at.Add(time.Minute))...)
	b = append(b, st)
	return strings.ToUpper(hex.EncodeToString(b))
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// holdWriter submits a write that keeps the writer busy until release is
// called: started is closed once the writer runs it, done has its result.
func holdWriter(s *Store) (started <-chan struct{}, release func(), done <-chan error) {
	begun, rel, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(*wtx) error {
			close(begun)
			<-rel
			return nil
		})
	}()
	return begun, func() { close(rel) }, errc
}

// heldBatch has submit start a write under a ctx of its own, and queues a
// holder behind it, so that the writer takes both in one batch, runs the
// write and blocks before the commit. It returns once the writer has taken
// them, with the write's cancel and commit, which releases the batch and
// waits until it is committed. It does not wait for the writer to start
// the holder: that would order the caller's cancel after its write, and
// hide from the race detector a read of the write's results made without
// waiting for its answer.
func heldBatch(t *testing.T, s *Store, submit func(ctx context.Context)) (cancel func(), commit func()) {
	t.Helper()
	started1, release1, done1 := holdWriter(s)
	<-started1
	cctx, cancel := context.WithCancel(context.Background())
	go submit(cctx)
	waitQueued(t, s, 1)
	started2, release2, done2 := holdWriter(s)
	waitQueued(t, s, 2)
	release1()
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	waitQueued(t, s, 0)
	return cancel, func() {
		t.Helper()
		<-started2
		release2()
		if err := <-done2; err != nil {
			t.Fatal(err)
		}
	}
}

// waitQueued waits until n writes wait for the writer. It is not a
// synchronisation the race detector sees, which tests of what a caller may
// read rely on.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	testutil.Wait(t, testutil.Timeout, fmt.Sprintf("%d write(s) queued", n), func() bool { return len(s.ops) == n })
}

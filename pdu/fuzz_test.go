package pdu

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
	"00040DD049B7F93D6D4E0100005201512103542911D9775D0E1ABFC965507A0E8AC96634",
	"07913386094000F0040A81602143658700F54220923295950004DEADBEEF",
	"00440D91683108108300F00008621010800000230F060804123403027B2C4E8C90E85206",
	"00400B915155214365F700106270408103000019050003420201906536FB0DDAF0EE6F399BBCF1813665",
	"00067B0B915155214365F7621152015100006211520151204000",
	"079144775810065031000C914477000910320000A702E834",
	"0041000B915155214365F700000A0500030102019A",
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must be well-formed enough to print and reassemble.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Decode(s)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with a message", err)
			}
			return
		}
		if !utf8.ValidString(m.Text) {
			t.Fatalf("text is not UTF-8: %q", m.Text)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if m.Concat != nil && (m.Concat.Seq < 1 || m.Concat.Seq > m.Concat.Total) {
			t.Fatalf("concat %+v accepted", *m.Concat)
		}
		if _, err := Reassemble([]*Message{m, m}); m.Concat != nil && err != nil {
			t.Fatalf("reassemble a part with itself: %v", err)
		}
	})
}

// FuzzEncode checks that any text bridged accepts comes back intact through
// its own decoder, part by part and reassembled.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"hello", "€[]{}~^\\|", "中文😀", strings.Repeat("@", 161), "a\x1bb"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, ref uint8) {
		enc, err := Submit{To: "+15551234567", Text: text, Ref: ref, Options: Options{MaxParts: 255}}.Encode()
		if err != nil {
			if text == "" || strings.Contains(err.Error(), "parts") {
				return
			}
			t.Fatalf("encode %q: %v", text, err)
		}
		parts := make([]*Message, len(enc.Parts))
		for i, p := range enc.Parts {
			if parts[i], err = Decode(p.PDU); err != nil {
				t.Fatalf("decode part %d of %q: %v", i+1, text, err)
			}
		}
		got, err := Reassemble(parts)
		want := string([]rune(text)) // invalid UTF-8 is sent as U+FFFD
		if err != nil || !got.Complete || got.Text != want {
			t.Fatalf("round trip of %q gave %q (%v)", want, got.Text, err)
		}
	})
}

// TestConcurrentUse encodes and decodes from many goroutines at once, with
// every national language, so that go test -race sees any shared state.
func TestConcurrentUse(t *testing.T) {
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for name := range languageNames {
				lang, _ := ParseLanguage(name)
				enc, err := Submit{To: "+15551234567", Text: "Şğı ü € {} " + name, Ref: uint8(g), Options: Options{Language: lang}}.Encode()
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := Decode(enc.Parts[0].PDU); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

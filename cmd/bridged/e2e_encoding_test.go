package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"bridged/modem/modemsim"
	"bridged/pdu"
)

// TestE2ELanguageTable: [sms] language is one encoding policy for the
// API's estimate and answer, the stored message and what the network
// gets. A Turkish text of 161 characters is three UCS-2 parts without a
// table and two 7-bit parts with the Turkish one: the parts the API
// answers must be the parts that arrive, either way.
func TestE2ELanguageTable(t *testing.T) {
	text := strings.Repeat("Güneşli bir gün, ışık. ", 7)
	for _, tt := range []struct {
		name, extra, encoding string
		parts                 int
	}{
		{"no table: UCS-2 as before", "", "ucs2", 3},
		{"turkish", "[sms]\nlanguage = \"turkish\"\n", "gsm7", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := mustWorld(t, 1, modemsim.Options{})
			d := startDaemon(t, w.config(tt.extra))

			var est struct {
				Encoding string `json:"encoding"`
				Parts    int    `json:"parts"`
			}
			if code := d.do("POST", "/v1/estimate", map[string]any{"text": text}, &est); code != http.StatusOK ||
				est.Encoding != tt.encoding || est.Parts != tt.parts {
				t.Errorf("estimate: %d %+v, want %s in %d parts", code, est, tt.encoding, tt.parts)
			}
			ms := d.send(map[string]any{"to": "+447400123456", "text": text, "report": false})
			if len(ms) != 1 || ms[0].Encoding != tt.encoding || ms[0].Parts != tt.parts {
				t.Fatalf("accepted %+v, want %s in %d parts", ms, tt.encoding, tt.parts)
			}
			if m := d.waitStatus(ms[0].ID, "sent"); m.Parts != tt.parts || m.Encoding != tt.encoding || m.Error != nil {
				t.Errorf("stored %+v, want %s in %d parts", m, tt.encoding, tt.parts)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sent, err := w.net.WaitSent(ctx, tt.parts)
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) != tt.parts {
				t.Fatalf("the network got %d parts, the API answered %d", len(sent), tt.parts)
			}
			parts := make([]*pdu.Message, len(sent))
			for i, s := range sent {
				if s.Message.Encoding != pdu.Encoding(tt.encoding) {
					t.Errorf("part %d arrived as %s, want %s", i+1, s.Message.Encoding, tt.encoding)
				}
				parts[i] = s.Message
			}
			if r, err := pdu.Reassemble(parts); err != nil || !r.Complete || r.Text != text {
				t.Errorf("the network got %q (complete %v, %v), want %q", r.Text, r.Complete, err, text)
			}
		})
	}
}

package config

import (
	"slices"
	"testing"
	"time"
)

func TestStoreRetention(t *testing.T) {
	if got := time.Duration(Default(testDriver).Store.Retention); got != 30*day {
		t.Fatalf("default retention %v, want 30d", got)
	}
	for _, tc := range []struct {
		name, value string
		want        time.Duration
	}{
		{name: "days", value: "90d", want: 90 * day},
		{name: "weeks", value: "2w", want: 2 * week},
		{name: "keep forever", value: "0", want: 0},
		{name: "the shortest", value: "72h", want: 3 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, "[store]\nretention = \""+tc.value+"\"\n")
			if got := time.Duration(c.Store.Retention); got != tc.want {
				t.Fatalf("retention %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, doc, want string }{
		{name: "too short", doc: "[store]\nretention = \"1h\"\n",
			want: `FILE:2: store.retention: 1h is too short: use 0 (keep forever) or at least 3d, as delivery reports come up to 3 days after a send`},
		{name: "off is not a duration", doc: "[store]\nretention = \"off\"\n",
			want: `FILE:2: store.retention: invalid duration "off" (use e.g. 30s, 5m, 24h, 7d)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := problemLines(t, tc.doc); !slices.Contains(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

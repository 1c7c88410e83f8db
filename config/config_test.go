package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"bridged/modem"
)

// TestDriverConfig fills every key of a [[modem]] and checks that each
// reaches the driver's Config, so that a key added to one and not mapped
// fails here rather than being silently ignored.
func TestDriverConfig(t *testing.T) {
	m := Modem{
		ID: "q", Device: "/dev/ttyUSB2", Baud: 9600, PIN: "1234", SMSC: "+447785016005",
		Routes: []string{"+44"}, RatePerMinute: 6, Quirks: "quectel", Storage: "ME", Direct: true, CNMI: "2,1,0,2,0",
		CommandTimeout: Duration(time.Second), SendTimeout: Duration(2 * time.Second), HealthInterval: Duration(3 * time.Second),
		SweepInterval: Duration(4 * time.Second), RegistrationTimeout: Duration(5 * time.Second),
	}
	got := m.DriverConfig()
	want := modem.Config{
		ID: "q", Device: "/dev/ttyUSB2", Baud: 9600, PIN: "1234", SMSC: "+447785016005", Storage: "ME",
		CommandTimeout: time.Second, SendTimeout: 2 * time.Second, HealthInterval: 3 * time.Second,
		SweepInterval: 4 * time.Second, RegistrationTimeout: 5 * time.Second, Quirks: "quectel", Direct: true, CNMI: "2,1,0,2,0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// Every driver field is either mapped or deliberately the daemon's.
	daemon := map[string]bool{"Logger": true, "ReconnectMax": true, "PINJournal": true}
	v := reflect.ValueOf(got)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if v.Field(i).IsZero() && !daemon[name] {
			t.Errorf("modem.Config.%s is not set by DriverConfig", name)
		}
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name   string
		log    Log
		want   string // what a Debug then a Warn record leave in the output
		absent string
	}{
		{name: "text at info", log: Log{Level: "info", Format: "text"}, want: "level=WARN msg=w", absent: "msg=d"},
		{name: "json at debug", log: Log{Level: "debug", Format: "json"}, want: `"level":"DEBUG","msg":"d"`},
		{name: "error hides warnings", log: Log{Level: "error", Format: "text"}, absent: "msg=w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			l := tt.log.Logger(&b)
			l.Debug("d")
			l.Warn("w")
			if tt.want != "" && !strings.Contains(b.String(), tt.want) {
				t.Errorf("output %q does not contain %q", b.String(), tt.want)
			}
			if tt.absent != "" && strings.Contains(b.String(), tt.absent) {
				t.Errorf("output %q contains %q", b.String(), tt.absent)
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"

	"bridged/config"
	"bridged/modem"
)

// TestDriverConfig fills every key of a [[modem]] and checks that each
// reaches the driver's Config, so that a key added to one and not mapped
// fails here rather than being silently ignored.
func TestDriverConfig(t *testing.T) {
	m := config.Modem{
		ID: "q", Device: "/dev/ttyUSB2", Baud: 9600, PIN: "1234", SMSC: "+447785016005",
		Routes: []string{"+44"}, RatePerMinute: 6, Quirks: "quectel", Storage: "ME", Direct: true, CNMI: "2,1,0,2,0",
		CommandTimeout: config.Duration(time.Second), SendTimeout: config.Duration(2 * time.Second), HealthInterval: config.Duration(3 * time.Second),
		SweepInterval: config.Duration(4 * time.Second), RegistrationTimeout: config.Duration(5 * time.Second),
	}
	got := driverConfig(m)
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
			t.Errorf("modem.Config.%s is not set by driverConfig", name)
		}
	}
}

// TestConfigDriverDefaults: the built-in default that check-config prints
// with the driver's and the simulator's own defaults is config's golden
// file, which config's tests check with values of their own.
func TestConfigDriverDefaults(t *testing.T) {
	var out bytes.Buffer
	if err := config.Default(configDriver()).Write(&out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../config/testdata/default.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("check-config of the built-in default differs from config/testdata/default.golden:\n%s", out.String())
	}
}

package config

import (
	"strings"
	"testing"
)

// TestPlaceholderDevice: the packaged configuration's device is refused
// with the key and what to write there, not taken for a port that is not
// plugged in yet.
func TestPlaceholderDevice(t *testing.T) {
	t.Setenv(EnvCredentials, "")
	_, err := parse("bridged.toml", "[[modem]]\nid = \"usb0\"\ndevice = \""+PlaceholderDevice+"\"\n", testDriver)
	if err == nil {
		t.Fatal("the placeholder device validated")
	}
	for _, want := range []string{"bridged.toml:3: modem[0].device:", "placeholder", "bridged modems"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

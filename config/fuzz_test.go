package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse: no document makes Load panic, and every failure is a
// *ValidationError whose problems name the file.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(examplePath); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "[http\n", "[[modem]]\ndevice = \"sim\"\n[modem.x]\n", "a = \"\"\"\nb = 1\n\"\"\"\n",
		"http = { listen = 1 }\n", "modem = [1, 2]\n", "[sms]\ndefault_validity = 9223372036854775807\n",
		"\"a\\\"b\" = 1\n", "[[modem]]\nroutes = [[\"+44\"]]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		t.Setenv(EnvCredentials, "")
		cfg, err := parse("f.toml", doc, testDriver)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil Config without an error")
			}
			return
		}
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) == 0 {
			t.Fatalf("error %v (%T) is not a *ValidationError with problems", err, err)
		}
		for _, p := range verr.Problems {
			if p.File != "f.toml" || p.Line < 0 {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}

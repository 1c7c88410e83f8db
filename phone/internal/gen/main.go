// Command gen writes phone/tables.go: the part of libphonenumber's metadata
// that package phone needs to parse and validate numbers, taken from
// github.com/nyaruka/phonenumbers at the version go.mod names. Run it with
// `go generate ./phone` after changing that version; phone's tests compare
// the result with the library number by number.
package main

import (
	"flag"
	"log"
	"os"
	"runtime/debug"

	"bridged/phone/internal/tablegen"
)

func main() {
	out := flag.String("o", "tables.go", "file to write")
	flag.Parse()
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == tablegen.Library {
				version = d.Version
			}
		}
	}
	if version == "" {
		log.Fatalf("%s is not in this build", tablegen.Library)
	}
	src, err := tablegen.Generate(version)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

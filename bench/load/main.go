// Command load measures bridged end to end: it builds and starts the real
// daemon against simulated modems living in this process (over their
// ptys), drives it over HTTP on 127.0.0.1 and prints what it measured.
// It is run by hand, not in CI:
//
//	go run ./bench/load                 # every scenario
//	go run ./bench/load -only post,latency
//	go run ./bench/load -only mixed20k   # 20,000 messages, 4 modems, inbound alongside
//	go run ./bench/load -webhook -only latency,one,idle,inbound   # with one webhook receiver
//	go run ./bench/load -bin /tmp/bridged-old -only one   # a build of other code, same harness
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

var (
	only        = flag.String("only", "post,latency,one,four,idle", "scenarios to run")
	duration    = flag.Duration("duration", 10*time.Second, "how long the POST scenario runs")
	clients     = flag.Int("clients", 32, "concurrent HTTP clients for the POST scenario")
	idleFor     = flag.Duration("idle", 3*time.Minute, "how long the idle scenario watches the modem")
	after       = flag.Duration("after", 0, "if set, the one-modem scenario then idles this long and reports RSS")
	mixedN      = flag.Int("mixed", 20000, "messages the mixed20k scenario posts")
	gap         = flag.Duration("gap", 0, "latency scenario: pause this long after each message reaches the network before the next post, so that the modem is idle again (its send recorded, its next claim made) when the post comes; 0 posts at once")
	withWebhook = flag.Bool("webhook", false, "give the daemon one [[webhook]], to a receiver in this process that answers 204 at once")
	static      = flag.Bool("static", true, "build the daemon with make dist's flags (make -s print-flags: static, stripped, C code -Os); false: a plain go build")
	prebuilt    = flag.String("bin", "", "run this bridged executable instead of building ./cmd/bridged: A/B runs of two builds with the same harness")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	bin := *prebuilt
	if bin == "" {
		var err error
		if bin, err = build(); err != nil {
			log.Fatal(err)
		}
	}
	for _, s := range strings.Split(*only, ",") {
		switch s {
		case "post":
			post(bin)
		case "latency":
			latency(bin)
		case "one":
			throughput(bin, 1, 0, 2000)
		case "four":
			throughput(bin, 4, time.Second, 0)
		case "idle":
			idle(bin)
		case "inbound":
			inbound(bin)
		case "mixed20k":
			mixed(bin, *mixedN)
		default:
			log.Fatalf("unknown scenario %q", s)
		}
	}
}

func build() (string, error) {
	dir, err := os.MkdirTemp("", "bridged-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bridged")
	args := []string{"build", "-o", bin}
	env := os.Environ()
	if *static {
		// What runs on a Pi, built with the release's flags (make dist):
		// no shared C library mapped beside the binary.
		f, err := releaseFlags()
		if err != nil {
			return "", err
		}
		args = append(args, "-trimpath", "-tags", f["tags"], "-ldflags", f["ldflags"])
		env = append(env, "CGO_CFLAGS="+f["cgo_cflags"])
	}
	cmd := exec.Command("go", append(args, "./cmd/bridged")...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// releaseFlags reads the static build's flags from the Makefile, their one
// place (make -s print-flags: tags=..., ldflags=..., cgo_cflags=...).
func releaseFlags() (map[string]string, error) {
	out, err := exec.Command("make", "-s", "print-flags").Output()
	if err != nil {
		return nil, fmt.Errorf("make -s print-flags (the release's build flags; -static=false builds without them): %w", err)
	}
	f := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			f[k] = v
		}
	}
	for _, k := range []string{"tags", "ldflags", "cgo_cflags"} {
		if f[k] == "" {
			return nil, fmt.Errorf("make -s print-flags gave no %s: %q", k, out)
		}
	}
	return f, nil
}

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
//
// The daemon runs from a copy of the executable written as dpkg installs
// one (see install); -as-built runs the file itself.
package main

import (
	"flag"
	"fmt"
	"io"
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
	asBuilt     = flag.Bool("as-built", false, "run the executable as go build (or -bin) left it, instead of a copy written the way dpkg installs one")
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
	if !*asBuilt {
		var err error
		if bin, err = install(bin); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(filepath.Dir(bin))
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

// install copies the executable to a new file the way dpkg unpacks a
// package's (4,096-byte writes, DPKG_BUFFER_SIZE) and returns its path.
// How a program's file was written decides how much of it the kernel maps
// once it runs: on this machine's kernel (6.18, large folios) the Go
// linker's output, or a file written in one call, comes back in large
// folios mapped whole, 0.6-0.7 MB more RSS than the same bytes written in
// small pieces, which is how a daemon installed from its .deb (or a cp of
// it) is read, and close to a start after a boot (bench/README.md, "Idle
// RSS and how the program was written"). A/B runs of two executables then
// differ only in their code.
func install(bin string) (string, error) {
	src, err := os.Open(bin)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "bridged-bench-installed-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "bridged")
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return "", err
	}
	// Wrapped so that io.CopyBuffer cannot hand the copy to the kernel
	// (copy_file_range) and writes 4 KiB at a time.
	_, err = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, 4096))
	if err != nil {
		dst.Close()
		return "", fmt.Errorf("install %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return "", fmt.Errorf("install %s: %w", path, err)
	}
	return path, nil
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

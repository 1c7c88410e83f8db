package noheapprof

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
)

// TestSamplingOff checks the rate the package's init left: 0, or, in the
// child run below, what GODEBUG says.
func TestSamplingOff(t *testing.T) {
	want := 0
	if v := os.Getenv("NOHEAPPROF_WANT"); v != "" {
		want, _ = strconv.Atoi(v)
	}
	if runtime.MemProfileRate != want {
		t.Errorf("MemProfileRate %d after init, want %d", runtime.MemProfileRate, want)
	}
}

// TestGODEBUGDecides runs this test binary again with a rate in GODEBUG.
func TestGODEBUGDecides(t *testing.T) {
	if os.Getenv("NOHEAPPROF_WANT") != "" {
		return // the child itself
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSamplingOff$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "GODEBUG=memprofilerate=4096", "NOHEAPPROF_WANT=4096")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with GODEBUG=memprofilerate=4096: %v\n%s", err, out)
	}
}

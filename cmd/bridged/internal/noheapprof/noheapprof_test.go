package noheapprof

import (
	"os"
	"runtime"
	"testing"

	"bridged/internal/testutil"
)

// TestSamplingOff checks the rate the package's init left: 0, or, in the
// child run below, what GODEBUG says.
func TestSamplingOff(t *testing.T) {
	want := testutil.EnvInt(t, "NOHEAPPROF_WANT", 0)
	if runtime.MemProfileRate != want {
		t.Errorf("MemProfileRate %d after init, want %d", runtime.MemProfileRate, want)
	}
}

// TestGODEBUGDecides runs this test binary again with a rate in GODEBUG.
func TestGODEBUGDecides(t *testing.T) {
	if os.Getenv("NOHEAPPROF_WANT") != "" {
		return // the child itself
	}
	testutil.Rerun(t, "^TestSamplingOff$", "GODEBUG=memprofilerate=4096", "NOHEAPPROF_WANT=4096")
}

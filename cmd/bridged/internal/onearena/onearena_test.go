package onearena

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"bridged/cmd/bridged/internal/onearena/internal/arenas"
)

// TestOneArena checks that threads mallocing at the same time share one
// arena after the package's init, or, in the child run below, get as many
// as MALLOC_ARENA_MAX allows.
func TestOneArena(t *testing.T) {
	want := 1
	if v := os.Getenv("ONEARENA_WANT"); v != "" {
		want, _ = strconv.Atoi(v)
	}
	got, err := arenas.Heaps(8)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%d malloc arenas with 8 threads allocating, want %d", got, want)
	}
}

// TestEnvironmentDecides runs this test binary again with
// MALLOC_ARENA_MAX=4: the init must leave glibc's limit to it.
func TestEnvironmentDecides(t *testing.T) {
	if os.Getenv("ONEARENA_WANT") != "" {
		return // the child itself
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestOneArena$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=4", "ONEARENA_WANT=4")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with MALLOC_ARENA_MAX=4: %v\n%s", err, out)
	}
}

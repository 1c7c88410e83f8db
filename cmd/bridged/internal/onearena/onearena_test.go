package onearena

import (
	"os"
	"testing"

	"bridged/cmd/bridged/internal/onearena/internal/arenas"
	"bridged/internal/testutil"
)

// TestOneArena checks that threads mallocing at the same time share one
// arena after the package's init, or, in the child run below, get as many
// as MALLOC_ARENA_MAX allows.
func TestOneArena(t *testing.T) {
	want := testutil.EnvInt(t, "ONEARENA_WANT", 1)
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
	testutil.Rerun(t, "^TestOneArena$", "MALLOC_ARENA_MAX=4", "ONEARENA_WANT=4")
}

// Package onearena makes glibc's malloc serve every thread of the process
// from one arena; the bridged command imports it for that side effect
// alone.
//
// SQLite allocates with malloc on whichever OS thread the Go runtime runs
// a cgo call on, and glibc gives each thread that mallocs while another
// holds the lock an arena of its own (up to 8 per core), each keeping its
// freed memory and a partly used top: the idle daemon held SQLite's 0.6 MB
// in three arenas and five near-empty ones, 1.1 MB resident. One writer
// goroutine does the store's writes and a few readers the rest, so the
// lock is rarely contended and one arena costs no measurable throughput
// (bench/README.md, "Idle RSS: one malloc arena, no page-cache block").
//
// A thread keeps the arena it first got, and the Go runtime starts (and
// mallocs on) threads before any package initialises, so the limit is set
// by a C constructor, which the C library runs before the Go runtime
// starts. MALLOC_ARENA_MAX or a glibc.malloc.arena_max tunable in the
// environment still decides. A C library without M_ARENA_MAX (musl) is
// left alone.
package onearena

/*
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void bridged_one_arena(void) {
#ifdef M_ARENA_MAX
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") != NULL || (tunables != NULL && strstr(tunables, "arena_max") != NULL)) {
		return;
	}
	mallopt(M_ARENA_MAX, 1);
#endif
}
*/
import "C"

// Package arenas counts glibc's malloc arenas, for the tests of onearena:
// it is not linked into bridged.
package arenas

/*
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_barrier_t together;

// Each thread mallocs while the others are alive and have malloced too,
// so that glibc, unless limited, gives each one an arena of its own.
static void *alloc(void *arg) {
	void *p = malloc(1024);
	pthread_barrier_wait(&together);
	pthread_barrier_wait(&together);
	free(p);
	return NULL;
}

// count_heaps runs n threads as above and, while they all hold their
// block, counts the heaps malloc_info reports; -1 on an error.
static int count_heaps(int n) {
	pthread_t t[64];
	if (n > 64 || pthread_barrier_init(&together, NULL, n + 1) != 0) {
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&t[i], NULL, alloc, NULL) != 0) {
			return -1;
		}
	}
	pthread_barrier_wait(&together);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int heaps = -1;
	if (f != NULL && malloc_info(0, f) == 0 && fclose(f) == 0) {
		heaps = 0;
		for (char *s = buf; (s = strstr(s, "<heap nr=")) != NULL; s++) {
			heaps++;
		}
	}
	free(buf);
	pthread_barrier_wait(&together);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
	}
	pthread_barrier_destroy(&together);
	return heaps;
}
*/
import "C"

import "fmt"

// Heaps starts threads threads that each malloc a block and hold it until
// all have, and returns how many arenas ("heaps") malloc_info lists then.
func Heaps(threads int) (int, error) {
	n := int(C.count_heaps(C.int(threads)))
	if n < 0 {
		return 0, fmt.Errorf("count malloc arenas with %d threads: failed", threads)
	}
	return n, nil
}

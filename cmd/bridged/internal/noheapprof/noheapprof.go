// Package noheapprof turns off the Go runtime's heap-profile sampling
// before the packages that allocate at start-up initialise; the bridged
// command imports it for that side effect alone.
//
// bridged serves no profiles, yet the sampler keeps a record of every call
// stack it samples (one allocation in about 512 KB), each touching a page
// of a 1.4 MB hash table: 60-170 kB of resident memory after start-up
// (measured), and more as traffic samples new stacks. Go initialises packages in import
// path order once their imports are done, and this one imports only
// packages that allocate next to nothing, so it runs before nearly every
// allocation. GODEBUG=memprofilerate=N in the environment still decides,
// for whoever wants a heap profile.
package noheapprof

import (
	"os"
	"runtime"
	"strings"
)

func init() {
	if !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
}

// Package sqlitemem reads SQLite's count of the memory it has allocated,
// for the tests of queue: it is not linked into bridged.
package sqlitemem

/*
long long sqlite3_memory_used(void);
*/
import "C"

// Used is sqlite3_memory_used: the bytes SQLite has allocated and not
// freed, over all connections of the process.
func Used() int64 { return int64(C.sqlite3_memory_used()) }

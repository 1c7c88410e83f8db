package queue

// sqlite3.h is go-sqlite3's, not on this package's include path; these two
// declarations are SQLite's stable C API.

/*
int sqlite3_config(int, ...);
#define BRIDGED_SQLITE_CONFIG_PAGECACHE 7

// no_bulk_page_cache: no page-cache memory set aside per connection.
static int no_bulk_page_cache(void) {
	return sqlite3_config(BRIDGED_SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
}
*/
import "C"

// SQLite allocates, at each connection's first read, room for 20 pages of
// its cache in one block and writes a header into each of them: 86 kB
// resident per connection at once, most of it never used by the idle
// daemon, whose database is small (0.1-0.4 MB less resident with the two
// connections it keeps open idle; bench/README.md, "Idle RSS: one malloc
// arena, no page-cache block"). Without the block each page is allocated
// when first read, as the cache does anyway once the block is used up.
// sqlite3_config works only before SQLite initialises, at the first open,
// which no package does before main; were it too late, it would fail and
// change nothing but the memory.
func init() {
	C.no_bulk_page_cache()
}

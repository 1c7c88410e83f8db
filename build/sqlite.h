/*
 * SQLite's compile-time options for the release build, forced into every C
 * file of the build with `-include` (the Makefile's STATIC_CGO_CFLAGS, which
 * `make dist`, bench/load and .ci/run's release-flag tests read through
 * `make -s print-flags`). Development builds and `go test -race` do without
 * it; .ci/run also tests the packages that open a store with it, so that a
 * statement needing something left out here fails CI.
 *
 * Why a header: mattn/go-sqlite3 hard-codes -DSQLITE_ENABLE_FTS3,
 * -DSQLITE_ENABLE_FTS3_PARENTHESIS and -DSQLITE_ENABLE_RTREE in its #cgo
 * lines, which cgo puts after CGO_CFLAGS on the command line, so a -U there
 * comes too early; a forced include is read after every -D, before the
 * first line of sqlite3-binding.c. The Makefile adds the header's hash to the
 * flags: Go's build cache does not see a file given by -include, only the
 * flags, so an edit here must change them.
 *
 * Left out, sizes of the loaded program (amd64, -Os; bench/README.md, "Idle
 * RSS: SQLite's build"):
 * - full-text search (FTS3) and R*Tree: no virtual table of either; 123 kB.
 * - the JSON functions: no json_*() and no -> or ->> in any statement;
 *   37 kB.
 * - shared cache (every connection opens the file itself) and the progress
 *   callback (go-sqlite3 never registers one): SQLite's recommended
 *   options; 7 kB.
 * - the date functions' 'localtime' modifier: no statement calls a date
 *   function (times are integers), and it alone links glibc's time-zone
 *   code (localtime, tzset, tzfile) into the static program; 15 kB.
 * Each of these OMITs is a plain #ifndef in the C code, which the
 * amalgamation's generated parser and keyword table never test. The OMITs
 * that would remove more of what is unused (ANALYZE, window functions,
 * virtual tables, ATTACH ...) change the grammar, which in the amalgamation
 * is generated with all features: SQLite documents that they need the
 * parser regenerated, and without it build something subtly broken. The
 * few others (UTF-16, sqlite3_complete, sqlite3_get_table, the
 * compile-option and introspection pragmas, SQLITE_UNTESTABLE) save 6 kB
 * once --gc-sections has dropped the unused API: left in.
 *
 * Kept because a statement uses them: triggers, ALTER TABLE ADD COLUMN,
 * UPSERT, RETURNING, WITH, WITHOUT ROWID, VACUUM and incremental vacuum,
 * SAVEPOINT, pragma functions (pragma_page_count), EXPLAIN and ANALYZE
 * (tests); column declared types and the authorizer (go-sqlite3 calls
 * sqlite3_column_decltype and sqlite3_set_authorizer).
 */
#undef SQLITE_ENABLE_FTS3
#undef SQLITE_ENABLE_FTS3_PARENTHESIS
#undef SQLITE_ENABLE_RTREE
#define SQLITE_OMIT_JSON 1
#define SQLITE_OMIT_SHARED_CACHE 1
#define SQLITE_OMIT_PROGRESS_CALLBACK 1
#define SQLITE_OMIT_LOCALTIME 1

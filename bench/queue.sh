#!/usr/bin/env bash
# Benchmarks of the queue's durable write path (issue 6), as recorded in
# bench/README.md. Run by hand, not in CI.
# Usage: bench/queue.sh [rounds]   (default 3)
# Each round runs every benchmark once; rounds interleave, so that a noisy
# moment on a shared machine hits every benchmark alike rather than one.
# The 1,000,000-message database is built once in bench/out/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
mkdir -p bench/out
go test -c -o bench/out/queue.test ./queue
export BRIDGED_BENCH_DB1M=$PWD/bench/out/big1m.db
cd queue
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= rounds; i++)); do
	../bench/out/queue.test -test.run '^$' -test.bench '^Benchmark(Fsync|Enqueue|EnqueueWith1M|ClaimComplete)$' -test.benchtime 3s |
		grep '^Benchmark'
done
# The 1M-versus-fresh comparison interleaves by itself; 100,000 enqueues each.
../bench/out/queue.test -test.run '^$' -test.bench 'VersusFresh' -test.benchtime 100000x -test.count "$rounds" |
	grep '^Benchmark'

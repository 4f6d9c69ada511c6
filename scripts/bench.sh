#!/usr/bin/env bash
# Run moat's benchmarks: each compares moat with a baseline measured in the
# same run (raw 'runc run' of the same rootfs and spec). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

export MOAT_REQUIRE_PRIVILEGED=1
export MOAT_SHARED_DATA="${MOAT_SHARED_DATA:-$(cd .. && pwd)/shared/data/ethereum}"
count="${BENCH_COUNT:-5}"

go test -run '^$' -bench . -benchtime 30x -count "$count" ./internal/embedded/ ./internal/sandbox/runc/ ./internal/sandbox/runsc/ |
	tee /dev/stderr | awk '
		/^pkg:/ { pkg=$2; sub(/.*\/internal\//, "", pkg) }
		/^Benchmark/ {
			key=pkg "." $1; sub(/-[0-9]+$/, "", key); ms=$3/1e6
			sum[key]+=ms; n[key]++
			if (!(key in lo) || ms < lo[key]) lo[key]=ms
		}
		END {
			printf "\n%-52s %9s %9s %5s\n", "benchmark", "mean ms", "min ms", "runs"
			for (k in sum) printf "%-52s %9.1f %9.1f %5d\n", k, sum[k]/n[k], lo[k], n[k]
		}'

#!/usr/bin/env bash
# Run every test of moat. Privileged tests (runc, network namespaces,
# cgroups) run because this script runs as root; MOAT_REQUIRE_PRIVILEGED=1
# turns their "not root" skip into a failure, so a broken environment cannot
# pass by skipping them all.
set -euo pipefail
cd "$(dirname "$0")/.."

export MOAT_REQUIRE_PRIVILEGED=1
export MOAT_SHARED_DATA="${MOAT_SHARED_DATA:-$(cd .. && pwd)/shared/data/ethereum}"

go vet ./...
# -p 1: the runc integration tests create cgroups and namespaces and
# measure their own cleanup; running packages one at a time keeps them from
# seeing each other's sandboxes.
go test -count=1 -p 1 -timeout 20m ./...

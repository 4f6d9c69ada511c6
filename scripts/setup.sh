#!/usr/bin/env bash
# Install what moat needs on a Debian host and print what was installed.
# Idempotent: a second run installs nothing. Needs root (apt-get, runc in
# /usr/local/sbin, network namespaces and cgroups at run time).
set -euo pipefail

RUNC_VERSION=v1.5.3
RUNC_BIN=/usr/local/sbin/runc

log() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: moat needs root to install packages and to run sandboxes; rerun as root (sudo make ...)" >&2
	exit 1
fi

if ! command -v go >/dev/null 2>&1; then
	echo "setup: Go is not on PATH; install Go $(sed -n 's/^go //p' "$(dirname "$0")/../go.mod") or newer first" >&2
	exit 1
fi

# Debian packages: libseccomp-dev and pkg-config to build runc with seccomp,
# gcc for DuckDB's cgo bindings, iproute2 for 'ip netns', python3 for the
# jobs (sandboxes use the host's /usr/bin/python3), runsc for the gVisor
# backend ('moat run --runtime runsc').
missing=()
for pkg in libseccomp-dev pkg-config gcc iproute2 python3 ca-certificates runsc; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
	log "Debian packages present"
fi

# runc: Debian's 1.1.5 lacks the 2024 and 2025 breakout fixes, so moat
# installs its own current runc built with seccomp support.
runc_ok() {
	[ -x "$RUNC_BIN" ] && "$RUNC_BIN" --version 2>/dev/null | head -1 | grep -q "runc version ${RUNC_VERSION#v}" &&
		"$RUNC_BIN" --version | grep -q '^libseccomp'
}
if runc_ok; then
	log "runc ${RUNC_VERSION#v} present at $RUNC_BIN"
else
	log "building runc ${RUNC_VERSION} with seccomp into $RUNC_BIN (about a minute)"
	GOBIN=$(dirname "$RUNC_BIN") CGO_ENABLED=1 go install -tags seccomp "github.com/opencontainers/runc@${RUNC_VERSION}"
	"$RUNC_BIN" --version | head -1
fi

# Go modules of moat itself.
cd "$(dirname "$0")/.."
go mod download
log "Go modules present"

#!/usr/bin/env bash
# What `make test` needs beyond pip, installed only where missing; `.ci/run` and `make test` both call this script:
#   Chromium (browser tests), tshark (pcap exports), PlantUML (diagram exports), nginx (tests/deploy, make serve),
#   Node.js + npm and the pinned Mermaid parser (tests/exports/mermaid/package-lock.json), redis-server (the tests
#   start private ones too). PostgreSQL is expected installed (scripts/start-services.sh says so if it is not).
# As root it installs them (apt-get, npm ci); otherwise it names the command to run and fails: a missing tool never
# turns into skipped tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# `scripts/install-test-tools.sh nginx` installs only nginx (make serve); no argument: everything make test needs.
wanted=("${@:-chromium tshark plantuml nginx nodejs npm redis-server mermaid}")
wanted=(${wanted[*]})
wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

apt_missing=()
wants chromium && ! have chromium && ! have chromium-browser && apt_missing+=(chromium)
for tool in tshark plantuml nginx npm redis-server; do
    if wants "$tool" && ! have "$tool"; then apt_missing+=("$tool"); fi
done
if wants nodejs && ! have node; then apt_missing+=(nodejs); fi

if [ "${#apt_missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing: ${apt_missing[*]}. Install with:" >&2
        echo "    sudo scripts/install-test-tools.sh $*   (or: sudo apt-get install -y ${apt_missing[*]})" >&2
        exit 1
    fi
    echo "installing ${apt_missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # tshark asks whether non-root users may capture; the answer is not needed here.
    apt-get install -y -q "${apt_missing[@]}" </dev/null
fi

# Mermaid's own parser checks the Mermaid export: reinstall when the lock is newer than the last install.
mermaid=tests/exports/mermaid
if ! wants mermaid; then
    exit 0
fi
if [ ! -d "$mermaid/node_modules/mermaid" ] || [ "$mermaid/package-lock.json" -nt "$mermaid/node_modules/.package-lock.json" ]; then
    echo "installing the pinned Mermaid parser (npm ci --prefix $mermaid)"
    npm ci --prefix "$mermaid" --no-audit --no-fund --loglevel=error </dev/null
fi

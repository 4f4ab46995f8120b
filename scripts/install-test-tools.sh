#!/usr/bin/env bash
# What `make test` needs beyond pip, installed only where missing; `.ci/run` and `make test` both call this script:
#   Chromium (browser tests), tshark (pcap exports), PlantUML (diagram exports), nginx (tests/deploy, make serve),
#   Node.js + npm and the pinned Mermaid parser (tests/exports/mermaid/package-lock.json).
# As root it installs them (apt-get, npm ci); otherwise it names the command to run and fails: a missing tool never
# turns into skipped tests.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

apt_missing=()
have chromium || have chromium-browser || apt_missing+=(chromium)
have tshark || apt_missing+=(tshark)
have plantuml || apt_missing+=(plantuml)
have nginx || apt_missing+=(nginx)
have node || apt_missing+=(nodejs)
have npm || apt_missing+=(npm)

if [ "${#apt_missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "make test needs: ${apt_missing[*]}. Install them with:" >&2
        echo "    sudo scripts/install-test-tools.sh    (or: sudo apt-get install -y ${apt_missing[*]})" >&2
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
if [ ! -d "$mermaid/node_modules/mermaid" ] || [ "$mermaid/package-lock.json" -nt "$mermaid/node_modules/.package-lock.json" ]; then
    echo "installing the pinned Mermaid parser (npm ci --prefix $mermaid)"
    npm ci --prefix "$mermaid" --no-audit --no-fund --loglevel=error </dev/null
fi

#!/usr/bin/env bash
# Graceful restart of the systemd workers, one at a time (a release, a settings change):
#   deploy/rolling-restart.sh 8001 8002 ...
# For each port: nginx stops sending it new connections (`down` in the upstream, reload), the worker restarts (its
# websockets close; the pages reconnect through nginx to the other workers and resume from PostgreSQL), and once its
# /healthz answers it goes back into the upstream. SITE is the nginx site that scripts/serve.py nginx-site wrote.
set -euo pipefail
SITE=${SITE:-/etc/nginx/sites-available/dmmviz}
[ "$#" -gt 0 ] || { echo "usage: $0 PORT..." >&2; exit 2; }
systemctl start dmmviz-setup.service  # migrations of the new release first (RemainAfterExit: restart it to re-run)
for port in "$@"; do
    grep -q "server 127.0.0.1:$port " "$SITE" || { echo "127.0.0.1:$port is not in $SITE" >&2; exit 2; }
    sed -i "s/\(server 127.0.0.1:$port [^;]*\);/\1 down;/" "$SITE" && nginx -t -q && nginx -s reload
    sleep 1
    systemctl restart "dmmviz@$port"
    for _ in $(seq 1 60); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 1
    done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "dmmviz@$port is not healthy; left out of nginx" >&2; exit 1; }
    sed -i "s/\(server 127.0.0.1:$port [^;]*\) down;/\1;/" "$SITE" && nginx -t -q && nginx -s reload
    echo "dmmviz@$port restarted"
done

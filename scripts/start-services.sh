#!/usr/bin/env bash
# Make sure Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) answer on loopback; start them if not.
# Used by .ci/run, `make test` and `make serve`. Starting them needs root (or the services' own user); otherwise the
# script names the command to run and fails.
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

if ! redis_up; then
    echo "starting Redis"
    if [ "$(id -u)" -ne 0 ]; then
        echo "Redis does not answer on 127.0.0.1:6379: start it (sudo systemctl start redis-server)" >&2
        exit 1
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "Redis is not installed: run scripts/install-test-tools.sh (as root)" >&2
        exit 1
    fi
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/dmmviz.log
fi
if ! pg_up; then
    echo "starting PostgreSQL"
    if [ "$(id -u)" -ne 0 ]; then
        echo "PostgreSQL does not answer on 127.0.0.1:5432: start it (sudo systemctl start postgresql)" >&2
        exit 1
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
        echo "PostgreSQL is not installed: apt-get install postgresql, then allow trust for 127.0.0.1 in pg_hba.conf" >&2
        echo "(the tests connect as postgres@127.0.0.1:5432 without a password)" >&2
        exit 1
    fi
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
fi
for _ in $(seq 1 30); do
    if redis_up && pg_up; then
        exit 0
    fi
    sleep 1
done
redis_up || { echo "Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }

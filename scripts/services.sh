#!/usr/bin/env bash
# Starts the local PostgreSQL, Redis and RabbitMQ when they are down (commands from the machine's
# services doc), then waits until each answers. Used by `make test` and so by .ci/run.
set -uo pipefail

wait_for() {  # name, check command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "!! $1 did not come up" >&2
  return 1
}

if ! pg_isready -q -h 127.0.0.1; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
wait_for PostgreSQL "pg_isready -q -h 127.0.0.1"

if ! redis-cli ping >/dev/null 2>&1; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for Redis "redis-cli ping"

if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  echo "==> starting RabbitMQ"
  rabbitmq-server -detached || true
fi
wait_for RabbitMQ "rabbitmq-diagnostics -q ping"

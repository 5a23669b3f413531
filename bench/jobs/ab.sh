#!/usr/bin/env bash
# A/B of Chorus's job processing alone, for telling two builds apart when the
# jobs scenario's ratios drift with the machine: the same Postgres and data,
# builds alternated, nothing else running.
#   bench/jobs/ab.sh PG_PORT REDIS_PORT [LOCKED_QUEUES] BUILD_DIR...
# For each build, in turn and ROUNDS times (default 3): recreates database
# `jobs_ab` on the Postgres at 127.0.0.1:PG_PORT (user postgres), enqueues
# 100,000 `chorus.noop` jobs with that build's chorusctl, starts its chorusd with
# the scenario's settings (one pool `bench:24`, prefetch 500, 4 pool
# connections; LOCKED_QUEUES=bench for locked claims, "" for leases) and times
# it until `chorusctl jobs wait` sees the queue empty, as the scenario does.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,12p "$0" >&2; exit 2; }
PGP="$1" REDIS_PORT="$2" LOCKED="$3"; shift 3
N="${BENCH_JOBS:-100000}" ROUNDS="${ROUNDS:-3}"
DSN="host=127.0.0.1 port=$PGP user=postgres dbname=jobs_ab"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
  for B in "$@"; do
    psql -h 127.0.0.1 -p "$PGP" -U postgres -qAt -c "DROP DATABASE IF EXISTS jobs_ab" -c "CREATE DATABASE jobs_ab" >/dev/null 2>&1
    CHORUS_PG_DSN="$DSN" "$B/tools/chorusctl" migrate >/dev/null
    CHORUS_PG_DSN="$DSN" "$B/tools/chorusctl" --json jobs enqueue --queue bench --kind chorus.noop --count "$N" --batch 1000 >/dev/null
    psql -h 127.0.0.1 -p "$PGP" -U postgres -d jobs_ab -qAt -c "ANALYZE jobs" >/dev/null
    t0=$(date +%s.%N)
    CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/port" \
      CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME=bench CHORUS_JOBS_QUEUES="bench:24" CHORUS_JOBS_PREFETCH=500 \
      CHORUS_JOBS_LOCKED_QUEUES="$LOCKED" CHORUS_PG_POOL_SIZE=4 "$B/tools/chorusd" 2>"$TMP/chorusd.log" &
    pid=$!
    CHORUS_PG_DSN="$DSN" "$B/tools/chorusctl" jobs wait --queue bench --interval 50 --timeout 600 >/dev/null
    t1=$(date +%s.%N)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    rm -f "$TMP/port"
    awk -v b="$B" -v n="$N" -v a="$t0" -v c="$t1" 'BEGIN { printf "jobs_ab %s locked=%s: %.0f jobs/s\n", b, "'"$LOCKED"'", n / (c - a) }'
  done
done

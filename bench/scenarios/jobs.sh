#!/usr/bin/env bash
# jobs: the job queue against graphile-worker 0.17.3 on the same private
# PostgreSQL (fsync on), in the same run, for N no-op jobs (BENCH_JOBS, default
# "20000 100000"):
#   enqueue  — N jobs in batches of 1,000 (Chorus: `chorusctl jobs enqueue`, one
#              INSERT … SELECT unnest per batch; graphile: its batched add_jobs);
#   process  — from starting the worker process until the queue is empty
#              (Chorus: chorusd with one pool `bench:C` running `chorus.noop`,
#              jobs.prefetch=500, once with leases (the default claim) and once
#              with locked claims (jobs.locked_queues=bench); graphile: run()
#              with the same concurrency, a local queue of 500 and batched
#              completion — see bench/jobs/graphile.mjs).
# Each side gets its own database; both include their worker's start-up time
# (chorusd's whole process start; graphile's run(), not node's own start), and
# both tables are ANALYZEd (untimed) between enqueue and processing.
# 2 cores are shared by Postgres and the worker: absolute numbers are
# machine-bound; the ratios Chorus/graphile are the result.
# Knobs: BENCH_JOBS, BENCH_JOBS_CONCURRENCY (default 24), BENCH_RUNS (default 3;
# the median of each figure is printed).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

JOBS="${BENCH_JOBS:-20000 100000}"
CONC="${BENCH_JOBS_CONCURRENCY:-24}"
PREFETCH="${BENCH_JOBS_PREFETCH:-500}"   # graphile's localQueue size in its batched preset
RUNS="${BENCH_RUNS:-3}"
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
CHORUSCTL="$CHORUS_BUILD_DIR/tools/chorusctl"
NODE_DIR="$CHORUS_ROOT/bench/jobs"
[ -x "$CHORUSD" ] && [ -x "$CHORUSCTL" ] || die "build first (bench/run does)"

node_peer "$NODE_DIR" graphile-worker  # its own package.json and lock file under bench/jobs

CHORUSD_PID=""
bench_on_exit() {  # the chorusd of a run cut short
  [ -z "$CHORUSD_PID" ] || { kill -TERM "$CHORUSD_PID" 2>/dev/null; wait "$CHORUSD_PID" 2>/dev/null; }
}
bench_workspace

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=on pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"
pg_ensure_db "$PG_PORT" bench_chorus
pg_ensure_db "$PG_PORT" bench_graphile
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench_chorus"
GRAPHILE_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench_graphile"
CHORUS_PG_DSN="$DSN" "$CHORUSCTL" migrate >/dev/null

psql_value() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench_chorus -tAc "$1"; }  # untimed steps only
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# chorus_run N LOCKED_QUEUES → "ENQUEUE_RATE PROCESS_RATE"
chorus_run() {
  local n="$1" locked="$2" t0 t1 secs out port_file="$TMP/chorusd.port"
  psql_value "DELETE FROM jobs" >/dev/null
  out=$(CHORUS_PG_DSN="$DSN" "$CHORUSCTL" --json jobs enqueue --queue bench --kind chorus.noop --count "$n" --batch 1000)
  local enq
  enq=$(echo "$out" | grep -o '"per_second": *[0-9.e+]*' | grep -o '[0-9.e+]*$')
  psql_value "ANALYZE jobs" >/dev/null  # untimed, as graphile.mjs does for its table
  rm -f "$port_file"
  t0=$(now)
  CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$port_file" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME=bench CHORUS_JOBS_QUEUES="bench:$CONC" CHORUS_JOBS_PREFETCH="$PREFETCH" CHORUS_JOBS_LOCKED_QUEUES="$locked" CHORUS_PG_POOL_SIZE=4 \
    "$CHORUSD" 2>"$TMP/chorusd.log" &
  CHORUSD_PID=$!
  # Polled the way graphile.mjs polls its table: one connection, every 50 ms.
  CHORUS_PG_DSN="$DSN" "$CHORUSCTL" jobs wait --queue bench --interval 50 --timeout 600 >/dev/null \
    || { cat "$TMP/chorusd.log" >&2; die "chorus did not drain $n jobs"; }
  t1=$(now)
  kill -TERM "$CHORUSD_PID"; wait "$CHORUSD_PID" 2>/dev/null || true
  CHORUSD_PID=""
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  printf '%.0f %s\n' "$enq" "$(rate "$n" "$secs")"
}

# graphile_run N → "ENQUEUE_RATE PROCESS_RATE"
graphile_run() {
  local n="$1" out
  out=$(node "$NODE_DIR/graphile.mjs" --dsn "$GRAPHILE_URL" --jobs "$n" --concurrency "$CONC" --local-queue "$PREFETCH" --batch 1000)
  local enq proc
  enq=$(echo "$out" | grep '^graphile enqueue' | grep -o 'rate=[0-9.]*' | cut -d= -f2)
  proc=$(echo "$out" | grep '^graphile process' | grep -o 'rate=[0-9.]*' | cut -d= -f2)
  [ -n "$enq" ] && [ -n "$proc" ] || { echo "$out" >&2; die "graphile-worker run failed"; }
  printf '%.0f %.0f\n' "$enq" "$proc"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

for n in $JOBS; do
  ce=() cp=() le=() lp=() ge=() gp=()
  for r in $(seq 1 "$RUNS"); do
    read -r e p < <(chorus_run "$n" "")
    ce+=("$e"); cp+=("$p")
    read -r e p < <(chorus_run "$n" bench)
    le+=("$e"); lp+=("$p")
    read -r e p < <(graphile_run "$n")
    ge+=("$e"); gp+=("$p")
    say "jobs N=$n run $r: chorus enqueue ${ce[-1]}/s, process lease ${cp[-1]}/s locked ${lp[-1]}/s; graphile enqueue ${ge[-1]}/s process ${gp[-1]}/s"
  done
  CE=$(echo "${ce[*]} ${le[*]}" | median); CP=$(echo "${cp[*]}" | median); LP=$(echo "${lp[*]}" | median)
  GE=$(echo "${ge[*]}" | median); GP=$(echo "${gp[*]}" | median)
  echo "jobs N=$n concurrency=$CONC enqueue: chorus $CE jobs/s, graphile-worker $GE jobs/s, ratio $(ratio "$CE" "$GE")"
  echo "jobs N=$n concurrency=$CONC process (lease claims): chorus $CP jobs/s, graphile-worker $GP jobs/s, ratio $(ratio "$CP" "$GP")"
  echo "jobs N=$n concurrency=$CONC process (locked claims): chorus $LP jobs/s, graphile-worker $GP jobs/s, ratio $(ratio "$LP" "$GP")"
done

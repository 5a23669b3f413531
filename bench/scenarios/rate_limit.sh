#!/usr/bin/env bash
# rate_limit: the rate limiter (issue #6) against rate-limiter-flexible 11.4.0,
# in the same run, on the same private Redis:
#   decisions — closed-loop clients at concurrency 1 and 64 over 10,000 keys for
#     BENCH_SECONDS: Chorus's shard actors with budgets in Redis (shared, leases
#     off: every decision is a script call, batched per shard) and on the node
#     (local), by bench_ratelimit_decisions; RateLimiterRedis (ioredis) and
#     RateLimiterMemory, by bench/ratelimit/rlf.mjs. Limits large enough that
#     nothing is refused. Then the shared case at concurrency 64 with 1, 2 and
#     4 shards (ratelimit.shards).
#   path — what rate_limited() adds on the request's own thread, by
#     bench_ratelimit_path (one thread, one hot client decided from leases).
#   bucket actors — issue #6's other design, by bench_ratelimit_bucket_actors in
#     one process: the shards (local) vs one scheduled actor per bucket behind a
#     striped directory, at concurrency 1 and 64 over 10,000 and 100,000 keys,
#     with clients driven from the replies (as above) and from two HTTP-like
#     threads; decisions/s, p99, create time and RSS per bucket.
#   overhead — wrk -t2 -c64 on GET /api/v1/instance (an actor round trip) through
#     a trusted proxy address, chorusd with ratelimit.enabled=false vs true
#     (one client: its bucket is hot and decided from leases): requests per
#     second, and chorusd's own CPU time per request.
# 2 cores shared by everything: the ratios are the result.
# Knobs: BENCH_SECONDS (default 5 for decisions, 10 for wrk), BENCH_RUNS (default 3, median).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

SECS="${BENCH_SECONDS:-10}"
DSECS=$(( SECS < 5 ? SECS : 5 ))
RUNS="${BENCH_RUNS:-3}"
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
CHORUSCTL="$CHORUS_BUILD_DIR/tools/chorusctl"
DECIDE="$CHORUS_BUILD_DIR/bench/bench_ratelimit_decisions"
BUCKETS="$CHORUS_BUILD_DIR/bench/bench_ratelimit_bucket_actors"
PATHB="$CHORUS_BUILD_DIR/bench/bench_ratelimit_path"
NODE_DIR="$CHORUS_ROOT/bench/ratelimit"
[ -x "$CHORUSD" ] && [ -x "$DECIDE" ] && [ -x "$BUCKETS" ] && [ -x "$PATHB" ] || die "build first (bench/run does)"
command -v wrk >/dev/null || die "wrk is missing (bench/run installs it)"
node_peer "$NODE_DIR" rate-limiter-flexible

bench_workspace

REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
field() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
fields() { grep -o " $1=[0-9.]*" | cut -d= -f2; }  # one per line

for c in 1 64; do
  cs=() cl=() rr=() rm=()
  for _ in $(seq 1 "$RUNS"); do
    cs+=("$("$DECIDE" shared "$REDIS_PORT" "$c" 10000 "$DSECS" | field rate)")
    cl+=("$("$DECIDE" local "$REDIS_PORT" "$c" 10000 "$DSECS" | field rate)")
    out=$(node "$NODE_DIR/rlf.mjs" --redis-port "$REDIS_PORT" --keys 10000 --seconds "$DSECS" --concurrency "$c" \
            --limit 1000000000 --which both)
    rr+=("$(echo "$out" | grep '^rlf redis' | field rate)")
    rm+=("$(echo "$out" | grep '^rlf memory' | field rate)")
    say "decisions c=$c: chorus shared ${cs[-1]}/s local ${cl[-1]}/s; rlf redis ${rr[-1]}/s memory ${rm[-1]}/s"
  done
  CS=$(echo "${cs[*]}" | median); CL=$(echo "${cl[*]}" | median)
  RR=$(echo "${rr[*]}" | median); RM=$(echo "${rm[*]}" | median)
  echo "rate_limit decisions concurrency=$c keys=10000 shared: chorus $CS/s, RateLimiterRedis $RR/s, ratio $(ratio "$CS" "$RR")"
  echo "rate_limit decisions concurrency=$c keys=10000 local: chorus $CL/s, RateLimiterMemory $RM/s, ratio $(ratio "$CL" "$RM")"
done

# Shared decisions by the number of shards (ratelimit.shards), concurrency 64.
for sh in 1 2 4; do
  v=()
  for _ in $(seq 1 "$RUNS"); do v+=("$("$DECIDE" shared "$REDIS_PORT" 64 10000 "$DSECS" "$sh" | field rate)"); done
  echo "rate_limit decisions concurrency=64 keys=10000 shared shards=$sh: chorus $(echo "${v[*]}" | median)/s"
done

# What rate_limited() adds on the request's own thread (in one process: one
# thread, a hot bucket decided from leases).
p=()
for _ in $(seq 1 "$RUNS"); do p+=("$("$PATHB" "$REDIS_PORT" 1 "$DSECS" | field added_ns)"); done
echo "rate_limit path: rate_limited() adds $(echo "${p[*]}" | median) ns per request on its thread (one thread, leases)"

# Shards vs an actor per bucket (node-local decisions, no Redis).
bm() {  # DESIGN C K FIELD → the median over the runs of clients=$clients
  cat "$TMP"/buckets-"$clients"-*.txt | grep "^design=$1 concurrency=$2 keys=$3 " | fields "$4" | median
}
for clients in reply http; do
  detached=0  # the thread-per-bucket probe: once is enough
  [ "$clients" = reply ] && detached=1000
  for r in $(seq 1 "$RUNS"); do
    "$BUCKETS" "$DSECS" 10000,100000 "$detached" stealing "$clients" >"$TMP/buckets-$clients-$r.txt"
    say "bucket actors clients=$clients run $r: bucket actors/shards $(grep '^ratio' "$TMP/buckets-$clients-$r.txt" | fields rate | tr '\n' ' ')"
  done
  for k in 10000 100000; do
    for c in 1 64; do
      S=$(bm shards "$c" "$k" rate); B=$(bm bucket_actors "$c" "$k" rate)
      echo "rate_limit bucket_actors clients=$clients concurrency=$c keys=$k: shards $S/s, bucket actors $B/s," \
        "ratio $(ratio "$B" "$S"); p99 $(bm shards "$c" "$k" p99_us)/$(bm bucket_actors "$c" "$k" p99_us) µs;" \
        "create $(bm shards "$c" "$k" create_ms)/$(bm bucket_actors "$c" "$k" create_ms) ms;" \
        "rss per bucket $(bm shards "$c" "$k" rss_bytes_per_bucket)/$(bm bucket_actors "$c" "$k" rss_bytes_per_bucket) B"
    done
  done
done
D=$(cat "$TMP"/buckets-reply-*.txt | grep '^design=bucket_actors_detached concurrency=64 ' | fields rate | median)
DR=$(cat "$TMP"/buckets-reply-*.txt | grep '^design=bucket_actors_detached concurrency=64 ' | fields rss_bytes_per_bucket | median)
echo "rate_limit bucket_actors detached (a thread per bucket) concurrency=64 keys=1000: $D/s, rss per bucket $DR B"

# Request-path overhead.
PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=off pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
pg_ensure_db "$PG_PORT" bench_rl
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench_rl"
CHORUS_PG_DSN="$DSN" "$CHORUSCTL" migrate >/dev/null
start_node() {  # NAME ENABLED → URL_<NAME>
  local name="$1"
  CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/$name.port" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME="$name" CHORUS_RATELIMIT_ENABLED="$2" CHORUS_CLUSTER_ENABLED=false \
    CHORUS_RATELIMIT_TRUSTED_PROXIES=127.0.0.1 CHORUS_RATELIMIT_ANON=100000000/300 \
    "$CHORUSD" 2>"$TMP/$name.log" &
  PIDS+=($!)
  printf -v "PID_$name" '%s' "$!"
  for _ in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || { cat "$TMP/$name.log" >&2; die "chorusd $name did not start"; }
  printf -v "URL_$name" '%s' "http://127.0.0.1:$(cat "$TMP/$name.port")"
}
start_node off false
start_node on true
curl -sf -H "X-Forwarded-For: 198.51.100.7" "$URL_on/api/v1/instance" -D - -o /dev/null | grep -qi '^x-ratelimit-limit' \
  || die "the limited node did not send rate-limit headers"
# Throughput with wrk on the same 2 cores (wrk also parses the five extra
# headers), and chorusd's own CPU time per request (utime + stime from /proc).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wrk_run() {  # URL PID → "req/s cpu_us_per_request"
  local t0 t1 out
  t0=$(ticks "$2")
  out=$(wrk -t2 -c64 -d"${SECS}s" -H "X-Forwarded-For: 198.51.100.7" "$1/api/v1/instance")
  t1=$(ticks "$2")
  echo "$out" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s="$SECS" \
    '/^ *[0-9]+ requests in/ { n = $1 } /Requests\/sec/ { r = $2 } END { printf "%s %.1f\n", r, t * 1e6 / hz / n }'
}
off=() on=() coff=() con=()
for _ in $(seq 1 "$RUNS"); do
  read -r r c < <(wrk_run "$URL_off" "$PID_off"); off+=("$r"); coff+=("$c")
  read -r r c < <(wrk_run "$URL_on" "$PID_on"); on+=("$r"); con+=("$c")
  say "overhead: limits off ${off[-1]} req/s (${coff[-1]} µs CPU/request), on ${on[-1]} req/s (${con[-1]} µs CPU/request)"
done
OFF=$(echo "${off[*]}" | median); ON=$(echo "${on[*]}" | median)
COFF=$(echo "${coff[*]}" | median); CON=$(echo "${con[*]}" | median)
echo "rate_limit overhead GET /api/v1/instance: chorusd CPU per request off $COFF µs, on $CON µs (+$(awk -v a="$CON" -v b="$COFF" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')%)"
echo "rate_limit overhead GET /api/v1/instance: off $OFF req/s, on $ON req/s, on/off $(ratio "$ON" "$OFF") (overhead $(awk -v a="$ON" -v b="$OFF" 'BEGIN { printf "%.1f", (1 - a / b) * 100 }')%)"

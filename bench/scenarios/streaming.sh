#!/usr/bin/env bash
# streaming: the streaming API (issue #14), three measurements in one run.
#
# (1) Idle connections held: BENCH_NODES chorusd nodes (default 1; 6 joins them
#     into one cluster) each hold BENCH_IDLE_PER_NODE signed-in WebSocket
#     connections on the `user` stream, one user per connection, opened by
#     bench_stream_clients from several loopback source addresses. Reports the
#     connections held and each node's RSS growth per connection (user-space
#     memory: the kernel's socket buffers are not in RSS). Goal: 100,000 on this
#     machine, ≤ 2 KB per connection. One process may hold at most its
#     RLIMIT_NOFILE (the hard limit here is 20,000 and cannot be raised without
#     CAP_SYS_RESOURCE): 100,000 needs several nodes.
# (2) Broadcast: BENCH_SUBSCRIBERS (default 10,000) WebSocket subscribers of
#     `public`; BENCH_EVENTS public statuses are posted and every subscriber
#     must receive every `update` frame. The same client then holds the same
#     number of subscribers of Node's `ws` 8 (bench/streaming/ws_server.mjs),
#     which broadcasts the same frame text the same number of times. Both
#     servers run pinned to core 0 (taskset), the clients on core 1. Reports
#     frames delivered per second and chorusd/ws. Goal: ≥ 4×.
# (3) Post → stream latency: one public status at a time, timed from the POST
#     until its `update` arrives on a `public` subscriber and on a follower's
#     `user` stream (which goes through the fan-out job). p50/p99.
#
# Knobs: BENCH_NODES, BENCH_IDLE_PER_NODE (default 15,000), BENCH_IDLE_STREAM (user),
# BENCH_IDLE_WARM=1 (the users connected once before: per-connection cost without
# per-user state), BENCH_SUBSCRIBERS,
# BENCH_EVENTS (default 50), BENCH_RUNS (broadcast runs per server, median),
# BENCH_POSTS (latency samples, default 300), BENCH_ONLY=idle|broadcast|latency.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

NODES="${BENCH_NODES:-1}"
IDLE="${BENCH_IDLE_PER_NODE:-15000}"
IDLE_STREAM="${BENCH_IDLE_STREAM:-user}"
SUBS="${BENCH_SUBSCRIBERS:-10000}"
EVENTS="${BENCH_EVENTS:-50}"
RUNS="${BENCH_RUNS:-3}"
POSTS="${BENCH_POSTS:-300}"
ONLY="${BENCH_ONLY:-}"
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
CLIENTS="$CHORUS_BUILD_DIR/bench/bench_stream_clients"
[ -x "$CHORUSD" ] && [ -x "$CLIENTS" ] || die "build first (bench/run does)"
for c in curl psql taskset; do command -v "$c" >/dev/null || die "$c is missing"; done
node_peer "$CHORUS_ROOT/bench/streaming" ws
USERS=$(( NODES * IDLE > SUBS ? NODES * IDLE : SUBS ))
HARD=$(ulimit -Hn)
[ "$IDLE" -le $(( HARD - 500 )) ] || die "BENCH_IDLE_PER_NODE=$IDLE is above this machine's open-file hard limit ($HARD) less 500 for the node's own files"
ulimit -n "$HARD"

bench_on_exit() {
  [ ! -s "$TMP/chorusd.log" ] || { echo "streaming: chorusd log (last 10 lines):" >&2; tail -10 "$TMP/chorusd.log" >&2; }
}
bench_workspace

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=off pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
pg_ensure_db "$PG_PORT" bench
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"
sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -v ON_ERROR_STOP=1 -qtA "$@"; }
CHORUS_PG_DSN="$DSN" "$CHORUS_BUILD_DIR/tools/chorusctl" migrate >/dev/null

# --- seed: USERS users (token "tok-N"); an author (token "tok-author") followed by the
# first 100 of them, for the latency; a loner nobody follows (token "tok-loner"), whose
# public posts make the broadcast events (no home fan-out beside the broadcast).
say "seeding $USERS users with tokens and two authors"
sql <<SQL
INSERT INTO oauth_apps (id, name, redirect_uris, scopes, client_id, client_secret_hash)
  VALUES (1, 'bench', '{urn:ietf:wg:oauth:2.0:oob}', 'read write', 'bench-client', 'x');
INSERT INTO accounts (id, username, followers_count) VALUES (9000001, 'author', 100), (9000002, 'loner', 0);
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  VALUES (9000001, 'author@example.com', 'x', true, now()), (9000002, 'loner@example.com', 'x', true, now());
INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes)
  VALUES (29999998, encode(sha256('tok-author'::bytea), 'hex'), 1, 9000001, 'read write'),
         (29999999, encode(sha256('tok-loner'::bytea), 'hex'), 1, 9000002, 'read write');
INSERT INTO accounts (id, username, following_count) SELECT 10000000 + g, 'user' || g, 0 FROM generate_series(0, $USERS) g;
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  SELECT 10000000 + g, 'user' || g || '@example.com', 'x', true, now() FROM generate_series(0, $USERS) g;
INSERT INTO follows (id, account_id, target_account_id)
  SELECT 20000000 + g, 10000000 + g, 9000001 FROM generate_series(0, 99) g;
UPDATE accounts SET following_count = 1 WHERE id BETWEEN 10000000 AND 10000099;
INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes)
  SELECT 30000000 + g, encode(sha256(('tok-' || g)::bytea), 'hex'), 1, 10000000 + g, 'read write'
  FROM generate_series(0, $USERS) g;
VACUUM ANALYZE;
SQL

declare -A PID URL PORT
# start_node NAME [taskset CPUS] [ENV=VALUE...]
start_node() {
  local name="$1"; shift
  local pin=()
  if [ "${1:-}" = taskset ]; then pin=(taskset -c "$2"); shift 2; fi
  rm -f "$TMP/$name.port"
  env "$@" CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/$name.port" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME="$name" CHORUS_CLUSTER_SECRET=bench-cluster-secret CHORUS_PG_POOL_SIZE=4 \
    CHORUS_RATELIMIT_ENABLED=false CHORUS_HTTP_MAX_CONNECTIONS=$(( HARD - 200 )) "${pin[@]}" "$CHORUSD" 2>>"$TMP/chorusd.log" &
  PID[$name]=$!
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || die "chorusd $name did not start"
  PORT[$name]="$(cat "$TMP/$name.port")"
  URL[$name]="http://127.0.0.1:${PORT[$name]}"
}
stop_node() { kill -TERM "${PID[$1]}" 2>/dev/null || true; wait "${PID[$1]}" 2>/dev/null || true; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
members() { curl -s "${URL[$1]}/api/v1/chorus/admin/cluster" | grep -o '"state":"alive"' | wc -l; }
SOURCES=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9

# wait_for FILE PATTERN SECONDS — until a line of FILE matches (or die).
wait_for() {
  for _ in $(seq 1 $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "no '$2' in $1 after $3 s: $(tail -3 "$1" 2>/dev/null)"
}

# --- (1) idle connections ----------------------------------------------------------------
if [ -z "$ONLY" ] || [ "$ONLY" = idle ]; then
  say "(1) $NODES node(s), $IDLE signed-in $IDLE_STREAM-stream connections each"
  names=()
  for i in $(seq 1 "$NODES"); do names+=("node-$i"); start_node "node-$i"; done
  if [ "$NODES" -gt 1 ]; then
    for _ in $(seq 1 300); do
      ok=1; for n in "${names[@]}"; do [ "$(members "$n")" -eq $(( NODES - 1 )) ] || ok=0; done
      [ "$ok" -eq 1 ] && break; sleep 0.1
    done
    [ "$ok" -eq 1 ] || die "the $NODES nodes did not join"
  fi
  # With BENCH_IDLE_WARM=1 the same users connect and leave once first, so the
  # per-user state that outlives a connection (cached tokens, outboxes within
  # their resume window, the allocator's high-water mark of the handshakes) is
  # in the baseline and the growth is the connections' own.
  if [ "${BENCH_IDLE_WARM:-0}" = 1 ]; then
    k=0
    for n in "${names[@]}"; do
      "$CLIENTS" --port "${PORT[$n]}" --path "/api/v1/streaming?stream=${IDLE_STREAM}&access_token=tok-{i}" --index-offset $(( k * IDLE )) \
        --connections "$IDLE" --sources "$SOURCES" --mode idle --hold-seconds 1 --timeout-seconds 300 > "$TMP/warm.$n" 2>&1 ||
        die "warm-up round failed: $(tail -1 "$TMP/warm.$n")"
      k=$(( k + 1 ))
    done
    for n in "${names[@]}"; do
      for _ in $(seq 1 100); do
        [ "$(curl -s "${URL[$n]}/metrics" | awk '/^chorus_stream_connections /{ print int($2) }')" = 0 ] && break; sleep 0.1
      done
    done
  fi
  declare -A RSS0
  for n in "${names[@]}"; do RSS0[$n]=$(rss_kb "${PID[$n]}"); done
  k=0; cpids=()
  for n in "${names[@]}"; do
    "$CLIENTS" --port "${PORT[$n]}" --path "/api/v1/streaming?stream=${IDLE_STREAM}&access_token=tok-{i}" --index-offset $(( k * IDLE )) \
      --connections "$IDLE" --sources "$SOURCES" --mode idle --hold-seconds 100000 --timeout-seconds 300 > "$TMP/idle.$n" 2>&1 &
    cpids+=($!); PIDS+=($!)
    k=$(( k + 1 ))
  done
  for n in "${names[@]}"; do wait_for "$TMP/idle.$n" connected 300; done
  # Settled: the outboxes' activations are done when RSS stops growing.
  for _ in $(seq 1 30); do
    a=0; for n in "${names[@]}"; do a=$(( a + $(rss_kb "${PID[$n]}") )); done
    sleep 1
    b=0; for n in "${names[@]}"; do b=$(( b + $(rss_kb "${PID[$n]}") )); done
    [ $(( b - a )) -lt 1024 ] && break
  done
  total=0; worst=0; lines=""
  for n in "${names[@]}"; do
    held=$(curl -s "${URL[$n]}/metrics" | awk '/^chorus_stream_connections /{ print int($2) }')
    grow=$(( $(rss_kb "${PID[$n]}") - RSS0[$n] ))
    per=$(( grow * 1024 / IDLE ))
    total=$(( total + ${held:-0} ))
    [ "$per" -gt "$worst" ] && worst=$per
    lines="$lines $n: ${held:-?} open, RSS +$(( grow / 1024 )) MB ($per B/connection);"
    echo "  $n: $(cat "$TMP/idle.$n" | head -1); server reports ${held:-?} open connections; RSS ${RSS0[$n]} kB → $(rss_kb "${PID[$n]}") kB" >&2
  done
  echo "streaming idle ($IDLE_STREAM stream, $([ "${BENCH_IDLE_WARM:-0}" = 1 ] && echo "users seen before" || echo "new users")): $total connections held on $NODES node(s) (goal 100,000); worst RSS growth per connection $worst B (goal <= 2048);$lines"
  for p in "${cpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for n in "${names[@]}"; do stop_node "$n"; done
fi

# --- (2) broadcast to SUBS subscribers, chorusd vs ws ------------------------------------
# The servers' CPU time (user + kernel, which on loopback includes much of the
# receivers' TCP work) and write syscalls during a run, when `perf` can count
# them: the CPU cost per frame does not depend on what else the machine does.
cpu_start() {
  command -v perf >/dev/null || return 0
  perf stat -x, -e task-clock,syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sendmsg \
    -p "$1" -o "$TMP/perf.$2" 2>/dev/null &
  echo $! > "$TMP/perf.$2.pid"
  sleep 0.2  # perf attaches asynchronously; only the accounting waits, not a result
}
cpu_stop() {
  [ -s "$TMP/perf.$1.pid" ] || return 0
  local p; p=$(cat "$TMP/perf.$1.pid"); rm -f "$TMP/perf.$1.pid"
  kill -INT "$p" 2>/dev/null
  # (called in a command substitution: perf is not this shell's child to wait for)
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  awk -F, -v frames=$(( SUBS * EVENTS )) '
    $3 == "task-clock" { ms = $1 } $3 ~ /sys_enter_writev$/ { wv = $1 } $3 ~ /sys_enter_write$/ { w = $1 } $3 ~ /sys_enter_sendmsg$/ { sm = $1 }
    END { if (ms == "") exit; printf "; server CPU %.0f ms = %.2f us/frame, %d write syscalls = %.2f frames/syscall", ms, ms * 1000 / frames, wv + w + sm, frames / ((wv + w + sm) ? (wv + w + sm) : 1) }' "$TMP/perf.$1"
}
if [ -z "$ONLY" ] || [ "$ONLY" = broadcast ]; then
  say "(2) $SUBS subscribers of public, $EVENTS events, $RUNS run(s) per server; servers on core 0, clients on core 1"
  post() { curl -sf -o /dev/null -H "Authorization: Bearer tok-loner" -H 'Content-Type: application/json' \
    --data "{\"status\":\"$1\",\"visibility\":\"public\"}" "${URL[bcast]}/api/v1/statuses"; }
  start_node bcast taskset 0
  # The frame text Chorus sends for one such status: taken from a real subscriber.
  "$CLIENTS" --port "${PORT[bcast]}" --path '/api/v1/streaming?stream=public&access_token=tok-0' --connections 1 \
    --mode latency --post-token tok-loner --posts 1 > "$TMP/sample" 2>&1 || die "no update frame from chorusd: $(cat "$TMP/sample")"
  : > "$TMP/runs.chorus"; : > "$TMP/runs.ws"
  WS_PORT="$(free_port)"
  taskset -c 0 node "$CHORUS_ROOT/bench/streaming/ws_server.mjs" "$WS_PORT" > "$TMP/ws.log" 2>&1 &
  WS_PID=$!; PIDS+=($!)
  wait_for "$TMP/ws.log" listening 30
  for r in $(seq 1 "$RUNS"); do
    # chorusd: EVENTS posts of the same length as the ws frame's status.
    taskset -c 1 "$CLIENTS" --port "${PORT[bcast]}" --path '/api/v1/streaming?stream=public&access_token=tok-{i}' \
      --connections "$SUBS" --sources "$SOURCES" --mode count --expect "$EVENTS" --timeout-seconds 300 > "$TMP/count" 2>&1 &
    c=$!
    wait_for "$TMP/count" ready 300
    cpu_start "${PID[bcast]}" chorus
    for e in $(seq 1 "$EVENTS"); do post "broadcast $r $e, a status of ordinary length with a few words of text in it" & done
    wait $c || die "chorusd broadcast incomplete: $(tail -1 "$TMP/count")"
    line=$(tail -1 "$TMP/count"); echo "  run $r/$RUNS chorusd: $line$(cpu_stop chorus)" >&2
    echo "$line" | sed 's/.*frames\/s //' >> "$TMP/runs.chorus"
    # ws: the same subscribers, the same frame text (a real chorusd update frame for such a status).
    FRAME=$(curl -sf -H "Authorization: Bearer tok-loner" "${URL[bcast]}/api/v1/accounts/9000002/statuses?limit=1" |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const st=JSON.parse(s)[0];process.stdout.write(JSON.stringify({stream:["public"],event:"update",payload:JSON.stringify(st)}))})')
    taskset -c 1 "$CLIENTS" --port "$WS_PORT" --path '/x{i}' --connections "$SUBS" --sources "$SOURCES" --mode count \
      --expect "$EVENTS" --timeout-seconds 300 > "$TMP/count" 2>&1 &
    c=$!
    wait_for "$TMP/count" ready 300
    for _ in $(seq 1 100); do [ "$(curl -sf "http://127.0.0.1:$WS_PORT/count")" = "$SUBS" ] && break; sleep 0.1; done
    cpu_start "$WS_PID" ws
    n=$(curl -sf -XPOST --data-binary "$FRAME" "http://127.0.0.1:$WS_PORT/broadcast?n=$EVENTS")
    [ "$n" = "$SUBS" ] || die "the ws server broadcast to $n subscribers, not $SUBS"
    wait $c || die "ws broadcast incomplete: $(tail -1 "$TMP/count")"
    line=$(tail -1 "$TMP/count"); echo "  run $r/$RUNS ws: $line (frame ${#FRAME} bytes)$(cpu_stop ws)" >&2
    echo "$line" | sed 's/.*frames\/s //' >> "$TMP/runs.ws"
  done
  C=$(median < "$TMP/runs.chorus"); W=$(median < "$TMP/runs.ws")
  awk -v c="$C" -v w="$W" -v n="$SUBS" -v e="$EVENTS" 'BEGIN {
    printf "streaming broadcast to %d subscribers, %d events: chorusd %.0f frames/s, ws 8 %.0f frames/s, ratio %.2f (goal >= 4)\n", n, e, c, w, c / w }'
  kill -TERM "$WS_PID" 2>/dev/null || true
  stop_node bcast
fi

# --- (3) post → stream latency ------------------------------------------------------------
if [ -z "$ONLY" ] || [ "$ONLY" = latency ]; then
  say "(3) post → update latency, $POSTS posts, on public and on a follower's user stream"
  start_node lat
  P=$("$CLIENTS" --port "${PORT[lat]}" --path '/api/v1/streaming?stream=public&access_token=tok-0' --mode latency \
    --post-token tok-author --posts "$POSTS")
  U=$("$CLIENTS" --port "${PORT[lat]}" --path '/api/v1/streaming?stream=user&access_token=tok-1' --mode latency \
    --post-token tok-author --posts "$POSTS")
  echo "streaming latency, public stream: $P"
  echo "streaming latency, follower's user stream (through fan-out): $U"
  stop_node lat
fi

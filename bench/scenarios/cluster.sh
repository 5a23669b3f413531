#!/usr/bin/env bash
# cluster: three chorusd nodes on loopback joined into one actor cluster (issue #13),
# sharing one Postgres and one Redis. Three measurements in one run:
#
# (1) Cached home timeline reads of one user (GET /api/v1/timelines/home?limit=20,
#     wrk -t2 -c64) through the node that owns the user's feed vs through a node
#     that does not (one remote home_query per read, over BASP). BENCH_RUNS
#     interleaved runs each, medians; reports req/s, p99 and non-owner/owner.
#     Goal: ≥ 0.8× the owner's throughput, p99 ≤ 2× the owner's.
# (2) One request/response of those messages (home_query → status_view with an
#     8 KB rendered page) to a local actor vs an actor in another process over BASP
#     (TCP) and over mutual TLS: bench_cluster_rtt, p50/p99 and remote/local.
# (3) Ownership hand-over after kill -9: BENCH_USERS users (default 3000) with
#     live feeds spread over the three nodes; node-c is killed with SIGKILL and
#     every user's home is read through the two survivors until it answers with a
#     full page: the time until every user is served again (goal ≤ 5 s), p50/p99.
#
# 2 cores are shared by wrk, three chorusd, Postgres and Redis: the ratios are the
# result. The nodes run in plain BASP (1, 3) with a shared secret. Knobs:
# BENCH_SECONDS, BENCH_RUNS, BENCH_USERS; BENCH_PERF=1 profiles the non-owner node
# under the read load with perf (BENCH_PERF_ARGS go to perf report) and stops.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

SECS="${BENCH_SECONDS:-10}"
RUNS="${BENCH_RUNS:-3}"
USERS="${BENCH_USERS:-3000}"
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
RTT="$CHORUS_BUILD_DIR/bench/bench_cluster_rtt"
[ -x "$CHORUSD" ] && [ -x "$RTT" ] || die "build first (bench/run does)"
for c in wrk curl psql; do command -v "$c" >/dev/null || die "$c is missing (bench/run installs it)"; done
command -v node >/dev/null || ensure_packages nodejs

bench_on_exit() {
  [ ! -s "$TMP/chorusd.log" ] || { echo "cluster: chorusd log (last 10 lines):" >&2; tail -10 "$TMP/chorusd.log" >&2; }
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

declare -A PID URL
start_node() {
  local name="$1"; shift
  rm -f "$TMP/$name.port"
  env "$@" CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/$name.port" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME="$name" CHORUS_CLUSTER_SECRET=bench-cluster-secret \
    CHORUS_RATELIMIT_ENABLED=false CHORUS_FEED_MAX_LIVE=100000 "$CHORUSD" 2>>"$TMP/chorusd.log" &
  PID[$name]=$!
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || die "chorusd $name did not start"
  URL[$name]="http://127.0.0.1:$(cat "$TMP/$name.port")"
}
for n in node-a node-b node-c; do start_node "$n"; done
members() { curl -s "${URL[$1]}/api/v1/chorus/admin/cluster" | grep -o '"state":"alive"' | wc -l; }
for _ in $(seq 1 200); do
  [ "$(members node-a)" -eq 2 ] && [ "$(members node-b)" -eq 2 ] && [ "$(members node-c)" -eq 2 ] && break
  sleep 0.1
done
[ "$(members node-a)" -eq 2 ] || die "the three nodes did not join"

# --- seed: 50 authors with 4,000 statuses; BENCH_USERS users following 5 of them,
# each with a token inserted directly (token "tok-N", stored as its SHA-256).
say "seeding 50 authors, 4,000 statuses and $USERS users with tokens"
BASE=$(( $(date +%s%3N) << 16 ))
sql <<SQL
INSERT INTO oauth_apps (id, name, redirect_uris, scopes, client_id, client_secret_hash)
  VALUES (1, 'bench', '{urn:ietf:wg:oauth:2.0:oob}', 'read write', 'bench-client', 'x');
INSERT INTO accounts (id, username, followers_count) SELECT 9000000 + g, 'author' || g, 1 FROM generate_series(1, 50) g;
INSERT INTO statuses (id, account_id, text, content, created_at)
  SELECT $BASE - g, 9000001 + (g % 50), 'status number ' || g || ' with a few words of text, like a real post would have',
         '<p>status number ' || g || ' with a few words of text, like a real post would have</p>', now() - g * interval '1 second'
  FROM generate_series(1, 4000) g;
INSERT INTO accounts (id, username, following_count) SELECT 10000000 + g * 7919, 'user' || g, 5 FROM generate_series(1, $USERS) g;
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  SELECT 10000000 + g * 7919, 'user' || g || '@example.com', 'x', true, now() FROM generate_series(1, $USERS) g;
INSERT INTO follows (id, account_id, target_account_id)
  SELECT 20000000 + g * 5 + k, 10000000 + g * 7919, 9000001 + ((g + k * 11) % 50)
  FROM generate_series(1, $USERS) g, generate_series(0, 4) k;
INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes)
  SELECT 30000000 + g, encode(sha256(('tok-' || g)::bytea), 'hex'), 1, 10000000 + g * 7919, 'read write'
  FROM generate_series(1, $USERS) g;
VACUUM ANALYZE;
SQL
seq 2 "$USERS" | awk '{ printf "tok-%d %d\n", $1, 10000000 + $1 * 7919 }' > "$TMP/users"

# --- (1) the same user's cached reads through its owner and through another node --------
READER=tok-1
curl -sf -H "Authorization: Bearer $READER" "${URL[node-a]}/api/v1/timelines/home?limit=20" > "$TMP/page.json"
ITEMS=$(grep -o '"visibility":' "$TMP/page.json" | wc -l)
[ "$ITEMS" -eq 20 ] || die "the reader's page has $ITEMS statuses, expected 20"
OWNER=""
for n in node-a node-b node-c; do
  live=$(curl -s "${URL[$n]}/api/v1/chorus/admin/actors?kind=feeds" | grep -o '"live":[0-9]*' | cut -d: -f2)
  [ "${live:-0}" -eq 1 ] && OWNER=$n
done
[ -n "$OWNER" ] || die "no node holds the reader's feed"
OTHER=node-a; [ "$OWNER" = node-a ] && OTHER=node-b
WRK_TOKEN="$READER"  # wrk_line and median: bench/lib.sh
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${PID[$1]}/stat"; }  # utime + stime, in clock ticks
TICK_MS=$(( 1000 / $(getconf CLK_TCK) ))
cmp -s "$TMP/page.json" <(curl -sf -H "Authorization: Bearer $READER" "${URL[$OTHER]}/api/v1/timelines/home?limit=20") ||
  die "the owner and $OTHER answer different bytes"
if [ -n "${BENCH_PERF:-}" ]; then  # profile the non-owner under its read load, then stop
  command -v perf >/dev/null || die "perf is missing"
  perf record -F 999 -g -o "$TMP/perf.data" -p "${PID[$OTHER]}" -- sleep "$SECS" 2>/dev/null &
  wrk_line "${URL[$OTHER]}/api/v1/timelines/home?limit=20" 2 64 "$SECS" >&2
  wait $!
  perf report -i "$TMP/perf.data" --stdio ${BENCH_PERF_ARGS:---no-children} --percent-limit 1 2>/dev/null | grep -v '^$' | head -150
  exit 0
fi
say "(1) wrk -t2 -c64 -d${SECS}s the reader's home through its owner ($OWNER) and through $OTHER, $RUNS run(s) each"
# measure_pair A B: RUNS interleaved wrk runs of the reader's page through the
# owner (label A) and through $OTHER (label B), each line "req/s p50 p99 non2xx
# owner_cpu_us other_cpu_us" (CPU per read of each node's process) in $TMP/runs.LABEL.
measure_pair() {
  : > "$TMP/runs.$1"; : > "$TMP/runs.$2"
  for r in $(seq 1 "$RUNS"); do
    for s in "$1" "$2"; do
      if [ "$s" = "$1" ]; then u="${URL[$OWNER]}"; else u="${URL[$OTHER]}"; fi
      o0=$(cpu_ticks "$OWNER"); x0=$(cpu_ticks "$OTHER")
      line=$(wrk_line "$u/api/v1/timelines/home?limit=20" 2 64 "$SECS")
      o1=$(cpu_ticks "$OWNER"); x1=$(cpu_ticks "$OTHER")
      cpu=$(awk -v l="$line" -v s="$SECS" -v t="$TICK_MS" -v o=$(( o1 - o0 )) -v x=$(( x1 - x0 )) \
        'BEGIN { split(l, f, " "); n = f[1] * s; printf "%.1f %.1f", o * t * 1000 / n, x * t * 1000 / n }')
      echo "  run $r/$RUNS $s: $line (req/s p50 p99 non-2xx); CPU per read: owner $(echo "$cpu" | cut -d' ' -f1) us, $OTHER $(echo "$cpu" | cut -d' ' -f2) us" >&2
      echo "$line $cpu" >> "$TMP/runs.$s"
    done
  done
}
measure_pair owner other
O=$(median < "$TMP/runs.owner")
X=$(median < "$TMP/runs.other")

# (1b) the same non-owner without keeping the owner's pages: every read is a
# home_query round trip to the owner (what a read costs when the page changed).
say "(1b) $OTHER restarted with feed.remote_pages=false, $RUNS run(s) each"
kill -TERM "${PID[$OTHER]}"; wait "${PID[$OTHER]}" 2>/dev/null || true
start_node "$OTHER" CHORUS_FEED_REMOTE_PAGES=false
for _ in $(seq 1 200); do [ "$(members "$OTHER")" -eq 2 ] && [ "$(members "$OWNER")" -eq 2 ] && break; sleep 0.1; done
[ "$(members "$OTHER")" -eq 2 ] || die "$OTHER did not rejoin"
measure_pair owner2 uncached
O2=$(median < "$TMP/runs.owner2")
U=$(median < "$TMP/runs.uncached")

# --- (2) remote vs local round trip of the same messages ------------------------------
say "(2) home_query → status_view (8 KB page), 20,000 round trips each: local actor, BASP, mutual TLS"
RTT_PORT="$(free_port)"
"$RTT" serve "$RTT_PORT" > "$TMP/rtt.serve" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q listening "$TMP/rtt.serve" && break; sleep 0.05; done
RTT_TCP=$("$RTT" measure "$RTT_PORT" 20000 8192)
"$CHORUS_ROOT/scripts/cluster-certs" "$TMP/certs" rtt-a rtt-b
RTT_TLS_PORT="$(free_port)"
"$RTT" serve "$RTT_TLS_PORT" "$TMP/certs" rtt-a > "$TMP/rtt.tls" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q listening "$TMP/rtt.tls" && break; sleep 0.05; done
RTT_TLS=$("$RTT" measure "$RTT_TLS_PORT" 20000 8192 "$TMP/certs" rtt-b)

# --- (3) hand-over after kill -9 ---------------------------------------------------------
say "(3) $USERS users' feeds live across the three nodes; kill -9 node-c; every user read through the survivors"
HANDOVER="$CHORUS_ROOT/bench/cluster/handover.mjs"
node "$HANDOVER" warm "${URL[node-a]}" "$TMP/users" >&2
for n in node-a node-b node-c; do
  echo "  $n live feeds: $(curl -s "${URL[$n]}/api/v1/chorus/admin/actors?kind=feeds" | grep -o '"live":[0-9]*' | cut -d: -f2)" >&2
done
echo "  owners computed by the script (the reader's feed is live at its owner too): $(node "$HANDOVER" owners node-a,node-b,node-c "$TMP/users")" >&2
H=$(node "$HANDOVER" handover "${PID[node-c]}" "${URL[node-a]},${URL[node-b]}" "$TMP/users" 20 node-a,node-b,node-c node-c)

read -r orps op50 op99 _ ocpu_o ocpu_x <<< "$O"
read -r xrps xp50 xp99 _ xcpu_o xcpu_x <<< "$X"
awk -v o="$orps" -v x="$xrps" -v op="$op99" -v xp="$xp99" -v own="$OWNER" -v oth="$OTHER" 'BEGIN {
  printf "cluster reads: owner (%s) %.0f req/s p99 %.2f ms; non-owner (%s) %.0f req/s p99 %.2f ms; throughput ratio %.2f (goal >= 0.8), p99 ratio %.2f (goal <= 2)\n", own, o, op, oth, x, xp, x / o, xp / op }'
awk -v a="$ocpu_o" -v b="$xcpu_x" -v c="$xcpu_o" 'BEGIN {
  printf "cluster reads, CPU per read: through the owner %.1f us (its process); through another node %.1f us there + %.1f us at the owner; front node / owner-served %.2f, whole path / owner-served %.2f\n", a, b, c, b / a, (b + c) / a }'
read -r o2rps _ o2p99 _ o2cpu_o _ <<< "$O2"
read -r urps _ up99 _ ucpu_o ucpu_x <<< "$U"
awk -v o="$o2rps" -v x="$urps" -v op="$o2p99" -v xp="$up99" -v a="$o2cpu_o" -v b="$ucpu_x" -v c="$ucpu_o" 'BEGIN {
  printf "cluster reads without remote pages (a round trip to the owner per read): owner %.0f req/s p99 %.2f ms; non-owner %.0f req/s p99 %.2f ms; throughput ratio %.2f, p99 ratio %.2f; CPU per read %.1f us there + %.1f us at the owner vs %.1f us owner-served (front %.2f, whole path %.2f)\n", o, op, x, xp, x / o, xp / op, b, c, a, b / a, (b + c) / a }'
echo "cluster round trip over BASP: $RTT_TCP"
echo "cluster round trip over mutual TLS: $RTT_TLS"
echo "cluster hand-over after kill -9 of node-c: $H (goal: max <= 5000 ms)"

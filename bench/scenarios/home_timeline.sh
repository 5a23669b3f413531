#!/usr/bin/env bash
# home_timeline: the feed actors, three measurements in one run.
#
# (1) Cached home timeline reads: GET /api/v1/timelines/home?limit=20,
#     authenticated, wrk -t2 -c64, against nginx serving the very same response
#     bytes as a static file (same request, same Authorization header). Median of
#     BENCH_RUNS interleaved runs; reports req/s, p99 and chorusd/nginx.
# (2) Fan-out lag for an author with 10,000 active followers (every follower has a
#     timeline mirror in Redis): 40 posts one after another (each delivered first), lag = commit → last follower's mirror
#     updated, from chorusd's chorus_fanout_lag_seconds histogram; baseline: the
#     same 10,000 ZADDs written raw with redis-cli --pipe in the same run.
# (3) Page 1 vs page 500 (max_id = the 9,980th newest entry) of a 12,000-status
#     home timeline, wrk -t1 -c1: p50/p99 of each and their ratio. The feed caches
#     the newest 800 entries; older pages are one keyset query in Postgres.
#
# 2 cores are shared by wrk, chorusd, Postgres, Redis and nginx: absolute numbers
# are machine-bound, the ratios are the result. Knobs: BENCH_SECONDS, BENCH_RUNS,
# BENCH_FOLLOWERS (10000); BENCH_ONLY_READS=1 runs one read measurement of each
# server and stops; BENCH_PERF=1 profiles chorusd under the read load with perf
# (BENCH_PERF_ARGS are passed to perf report) and stops.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

SECS="${BENCH_SECONDS:-10}"
RUNS="${BENCH_RUNS:-3}"
FOLLOWERS="${BENCH_FOLLOWERS:-10000}"
POSTS=40
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
CHORUSCTL="$CHORUS_BUILD_DIR/tools/chorusctl"
[ -x "$CHORUSD" ] && [ -x "$CHORUSCTL" ] || die "build first (bench/run does)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
for c in wrk curl psql redis-cli "$NGINX"; do command -v "$c" >/dev/null || die "$c is missing (bench/run installs it)"; done

bench_on_exit() {
  [ ! -s "$TMP/chorusd.log" ] || { echo "home_timeline: chorusd log (last 10 lines):" >&2; tail -10 "$TMP/chorusd.log" >&2; }
}
bench_workspace
mkdir -p "$TMP/nginx"

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=off pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
pg_ensure_db "$PG_PORT" bench
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"
sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -v ON_ERROR_STOP=1 -qtA "$@"; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# start_chorusd NAME [ENV=VALUE...] → prints its URL
start_chorusd() {
  local name="$1"; shift
  env CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/$name.port" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME="$name" CHORUS_CLUSTER_ENABLED=false "$@" "$CHORUSD" 2>>"$TMP/chorusd.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || die "chorusd $name did not start"
}
start_chorusd bench
URL="http://127.0.0.1:$(cat "$TMP/bench.port")"
# A second node on the same Postgres and Redis without the rendered-page cache:
# what a read costs when it is really computed (part 1b and part 3). Both nodes
# stay out of the cluster (cluster.enabled=false), so each serves every feed
# itself: reads through another node are bench/scenarios/cluster.sh. It runs no
# feeds pool, so every fan-out job runs on the first node, whose histogram part 2 reads.
start_chorusd nocache CHORUS_FEED_PAGE_CACHE_MS=0 CHORUS_JOBS_QUEUES=default:8,maintenance:2
URL_NOCACHE="http://127.0.0.1:$(cat "$TMP/nocache.port")"

json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
app=$(curl -sf -X POST "$URL/api/v1/apps" -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d "scopes=read write")
CID=$(echo "$app" | json_field client_id)
SECRET=$(echo "$app" | json_field client_secret)
# token_for USER → an access token for a new local account
token_for() {
  local password
  password=$(CHORUS_PG_DSN="$DSN" "$CHORUSCTL" accounts create "$1" --email "$1@example.com" --confirmed |
             sed -n 's/^New password: //p')
  curl -sf -X POST "$URL/oauth/token" -d grant_type=password -d "client_id=$CID" -d "client_secret=$SECRET" \
    -d username="$1" -d "password=$password" -d "scope=read write" | json_field access_token
}
READER_TOKEN=$(token_for reader)
STAR_TOKEN=$(token_for star)
[ -n "$READER_TOKEN" ] && [ -n "$STAR_TOKEN" ] || die "no tokens"
READER=$(sql -c "SELECT id FROM accounts WHERE username = 'reader'")
STAR=$(sql -c "SELECT id FROM accounts WHERE username = 'star'")

# --- seed: 50 authors the reader follows, 12,000 statuses; 10,000 followers of star
say "seeding 12,000 statuses by 50 followed authors and $FOLLOWERS active followers of star"
BASE=$(( $(date +%s%3N) << 16 ))   # older than anything chorusd will generate
sql <<SQL
INSERT INTO accounts (id, username, followers_count) SELECT 9000000 + g, 'author' || g, 1 FROM generate_series(1, 50) g;
INSERT INTO follows (id, account_id, target_account_id) SELECT 9100000 + g, $READER, 9000000 + g FROM generate_series(1, 50) g;
UPDATE accounts SET following_count = 50 WHERE id = $READER;
INSERT INTO statuses (id, account_id, text, content, created_at)
  SELECT $BASE - g, 9000001 + (g % 50), 'status number ' || g || ' with a few words of text, like a real post would have',
         '<p>status number ' || g || ' with a few words of text, like a real post would have</p>', now() - g * interval '1 second'
  FROM generate_series(1, 12000) g;
INSERT INTO accounts (id, username) SELECT 20000000 + g, 'fan' || g FROM generate_series(1, $FOLLOWERS) g;
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  SELECT 20000000 + g, 'fan' || g || '@example.com', 'x', true, now() FROM generate_series(1, $FOLLOWERS) g;
INSERT INTO follows (id, account_id, target_account_id) SELECT 30000000 + g, 20000000 + g, $STAR FROM generate_series(1, $FOLLOWERS) g;
UPDATE accounts SET followers_count = $FOLLOWERS WHERE id = $STAR;
VACUUM ANALYZE;
SQL
# Every follower has a timeline mirror (an active user's feed), so every push writes.
seq 1 "$FOLLOWERS" | awk '{ printf "ZADD chorus:home:%d 0 ~c\r\n", 20000000 + $1 }' | rcli --pipe >/dev/null

# --- (1) cached reads vs nginx with the same bytes ------------------------------------
curl -sf -H "Authorization: Bearer $READER_TOKEN" "$URL/api/v1/timelines/home?limit=20" > /dev/null  # activate
curl -sf -H "Authorization: Bearer $READER_TOKEN" "$URL/api/v1/timelines/home?limit=20" > "$TMP/nginx/home.json"
ITEMS=$(grep -o '"visibility":' "$TMP/nginx/home.json" | wc -l)
[ "$ITEMS" -ge 20 ] || die "home timeline has $ITEMS items, expected 20"
NGINX_PORT="$(free_port)"
nginx_conf "$TMP/nginx" "$NGINX_PORT" "    location = /api/v1/timelines/home {
      default_type \"application/json; charset=utf-8\";
      alias $TMP/nginx/home.json;
    }"
nginx_start "$NGINX" "$TMP/nginx" "$NGINX_PORT"
PIDS+=("$NGINX_PID")
cmp -s "$TMP/nginx/home.json" <(curl -sf "http://127.0.0.1:$NGINX_PORT/api/v1/timelines/home?limit=20") ||
  die "nginx does not serve the same bytes"
WRK_TOKEN="$READER_TOKEN"  # wrk_line and median: bench/lib.sh

if [ -n "${BENCH_PERF:-}" ]; then  # profile chorusd under the read load, then stop
  command -v perf >/dev/null || die "perf is missing"
  perf record -F 999 -g -o "$TMP/perf.data" -p "${PIDS[0]}" -- sleep "$SECS" 2>/dev/null &
  wrk_line "$URL/api/v1/timelines/home?limit=20" 2 64 "$SECS" >&2
  wait $!
  perf report -i "$TMP/perf.data" --stdio ${BENCH_PERF_ARGS:---no-children} --percent-limit 1 2>/dev/null | grep -v '^$' | head -120
  exit 0
fi
[ -z "${BENCH_ONLY_READS:-}" ] || { for s in nginx chorusd; do u=$URL; [ $s = nginx ] && u="http://127.0.0.1:$NGINX_PORT"; echo "$s $(wrk_line "$u/api/v1/timelines/home?limit=20" 2 64 "$SECS")"; done; exit 0; }
say "(1) wrk -t2 -c64 -d${SECS}s GET /api/v1/timelines/home?limit=20, $RUNS run(s) each, interleaved"
: > "$TMP/runs.nginx"; : > "$TMP/runs.chorusd"
for r in $(seq 1 "$RUNS"); do
  for s in nginx chorusd; do
    if [ $s = nginx ]; then u="http://127.0.0.1:$NGINX_PORT"; else u="$URL"; fi
    line=$(wrk_line "$u/api/v1/timelines/home?limit=20" 2 64 "$SECS")
    echo "  run $r/$RUNS $s: $line (req/s p50 p99 non-2xx)" >&2
    echo "$line" >> "$TMP/runs.$s"
  done
done
N=$(median < "$TMP/runs.nginx")
C=$(median < "$TMP/runs.chorusd")
curl -sf -H "Authorization: Bearer $READER_TOKEN" "$URL_NOCACHE/api/v1/timelines/home?limit=20" > /dev/null
say "(1b) the same on the node without the page cache, $RUNS run(s)"
: > "$TMP/runs.nocache"
for r in $(seq 1 "$RUNS"); do
  line=$(wrk_line "$URL_NOCACHE/api/v1/timelines/home?limit=20" 2 64 "$SECS")
  echo "  run $r/$RUNS chorusd (no page cache): $line" >&2
  echo "$line" >> "$TMP/runs.nocache"
done
NC=$(median < "$TMP/runs.nocache")
hits=$(curl -s "$URL_NOCACHE/metrics" | awk '/^chorus_hot_status_cache_total\{result="hit"\}/ {h=$2} /^chorus_hot_status_cache_total\{result="miss"\}/ {m=$2} END {if (h+m > 0) printf "%.4f", h/(h+m)}')

# --- (3) page 1 vs page 500 -----------------------------------------------------------
# nth_id N → the id of the Nth newest entry of the reader's timeline (a page's max_id)
nth_id() {
  sql -c "SELECT s.id FROM statuses s JOIN follows f ON f.target_account_id = s.account_id AND f.account_id = $READER
          ORDER BY s.id DESC OFFSET $(( $1 - 1 )) LIMIT 1"
}
MAX_ID=$(nth_id 9980)     # page 500 starts after the 9,980th entry
MAX_ID_40=$(nth_id 780)   # page 40: the last page inside the cached 800
MAX_ID_41=$(nth_id 800)   # page 41: the first page Postgres answers
P500_COUNT=$(curl -sf -H "Authorization: Bearer $READER_TOKEN" "$URL/api/v1/timelines/home?limit=20&max_id=$MAX_ID" | grep -o '"visibility":' | wc -l)
[ "$P500_COUNT" -eq 20 ] || die "page 500 has $P500_COUNT items"
say "(3) wrk -t1 -c1 -d${SECS}s page 1 and page 500 on the node without the page cache"
P1=$(wrk_line "$URL_NOCACHE/api/v1/timelines/home?limit=20" 1 1 "$SECS")
P500=$(wrk_line "$URL_NOCACHE/api/v1/timelines/home?limit=20&max_id=$MAX_ID" 1 1 "$SECS")
P40=$(wrk_line "$URL_NOCACHE/api/v1/timelines/home?limit=20&max_id=$MAX_ID_40" 1 1 "$SECS")
P41=$(wrk_line "$URL_NOCACHE/api/v1/timelines/home?limit=20&max_id=$MAX_ID_41" 1 1 "$SECS")

# --- (2) fan-out lag to 10,000 followers ------------------------------------------------
say "(2) $POSTS posts by an author with $FOLLOWERS followers, one at a time (each delivered before the next)"
LAST_KEY="chorus:home:$((20000000 + FOLLOWERS))"
for i in $(seq 1 "$POSTS"); do
  curl -sf -o "$TMP/post.json" -X POST -H "Authorization: Bearer $STAR_TOKEN" "$URL/api/v1/statuses" -d "status=fan-out+$i" ||
    die "post $i failed"
  LAST_ID=$(grep -o '/statuses/[0-9]*"' "$TMP/post.json" | head -1 | tr -dc 0-9)  # keys are sorted: "account" comes before "id"
  [ -n "$LAST_ID" ] || die "no status id in $(head -c 300 "$TMP/post.json")"
  for _ in $(seq 1 1000); do
    rcli ZRANGE "$LAST_KEY" 0 -1 | grep -q "^0*$LAST_ID:" && break
    sleep 0.01
  done
  rcli ZRANGE "$LAST_KEY" 0 -1 | grep -q "^0*$LAST_ID:" || die "the last follower never received post $i"
done
for _ in $(seq 1 100); do
  n=$(curl -s "$URL/metrics" | awk '/^chorus_fanout_lag_seconds_count/ {print $2}')
  [ "${n:-0}" -ge "$POSTS" ] && break
  sleep 0.1
done
# p50/p99 from the cumulative buckets (linear inside a bucket, as Prometheus does).
LAG=$(curl -s "$URL/metrics" | awk -F'[ "]' '
  /^chorus_fanout_lag_seconds_bucket/ { le = $2; c = $NF; if (le == "+Inf") le = 1e9; n++; B[n] = le; C[n] = c }
  /^chorus_fanout_lag_seconds_count/ { total = $2 }
  function q(p,   i, want, lo, plo) { want = p * total; lo = 0; plo = 0
    for (i = 1; i <= n; i++) { if (C[i] >= want) { return lo + (B[i] - lo) * (want - plo) / (C[i] - plo > 0 ? C[i] - plo : 1) } lo = B[i]; plo = C[i] } }
  END { printf "%.2f %.2f %d\n", q(0.5) * 1000, q(0.99) * 1000, total }')
STAGES=$(curl -s "$URL/metrics" | awk -F'[ "{}]' '/^chorus_fanout_stage_seconds_(sum|count)/ { v[$1 "_" $3] = $NF }
  END { printf "recipients query %.1f ms, mirror writes %.1f ms (mean per batch)",
        1000 * v["chorus_fanout_stage_seconds_sum_recipients"] / v["chorus_fanout_stage_seconds_count_recipients"],
        1000 * v["chorus_fanout_stage_seconds_sum_write"] / v["chorus_fanout_stage_seconds_count_write"] }')
# Baseline: the raw Redis writes of one fan-out (10,000 ZADDs + trims), pipelined by redis-cli.
seq 1 "$FOLLOWERS" | awk '{ printf "ZADD chorus:raw:%d 0 m\r\nZCARD chorus:raw:%d\r\n", $1, $1 }' > "$TMP/raw.txt"
t0=$(date +%s%N); rcli --pipe < "$TMP/raw.txt" > /dev/null; t1=$(date +%s%N)
RAW_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')

# --- report --------------------------------------------------------------------------
echo "home_timeline: 2 shared cores (wrk, chorusd, Postgres, Redis, nginx); median of $RUNS runs of ${SECS}s"
echo "(1) cached home reads, limit=20 ($(wc -c < "$TMP/nginx/home.json") bytes), wrk -t2 -c64:"
printf '  %-8s %10s %9s %9s %7s\n' server req/s p50_ms p99_ms non2xx
set -- $N; printf '  %-8s %10s %9s %9s %7s\n' nginx "$1" "$2" "$3" "$4"
set -- $C; printf '  %-8s %10s %9s %9s %7s\n' chorusd "$1" "$2" "$3" "$4"
set -- $NC; printf '  %-8s %10s %9s %9s %7s   (second node, feed.page_cache_ms=0)\n' chorusd "$1" "$2" "$3" "$4"
awk -v c="${C%% *}" -v nc="${NC%% *}" -v n="${N%% *}" -v h="$hits" 'BEGIN { printf "  chorusd/nginx = %.2f; without the page cache %.2f (hot-status cache hit ratio %s)\n", c / n, nc / n, h }'
set -- $LAG
echo "(2) fan-out to $FOLLOWERS followers, $3 posts: lag p50 $1 ms, p99 $2 ms ($STAGES); raw redis-cli --pipe of the same writes $RAW_MS ms; p50/raw = $(awk -v a="$1" -v b="$RAW_MS" 'BEGIN { printf "%.2f", a / b }')"
set -- $P1; p1_50=$2; p1_99=$3; p1_rps=$1
set -- $P500; p5_50=$2; p5_99=$3; p5_rps=$1
set -- $P40; p40_50=$2; p40_99=$3
set -- $P41; p41_50=$2; p41_99=$3
echo "(3) wrk -t1 -c1, node without page cache, p50/p99 ms: page 1 $p1_50/$p1_99 ($p1_rps req/s), page 40 $p40_50/$p40_99 (memory), page 41 $p41_50/$p41_99 (Postgres), page 500 $p5_50/$p5_99 ($p5_rps req/s)"
echo "    page500/page1 p50 = $(awk -v a="$p5_50" -v b="$p1_50" 'BEGIN { printf "%.2f", a / b }'), page500/page41 p50 = $(awk -v a="$p5_50" -v b="$p41_50" 'BEGIN { printf "%.2f", a / b }') (both from Postgres: depth costs nothing)"

#!/usr/bin/env bash
# notifications: what the endpoints clients poll all the time cost, in one run.
#
# A reader with 2,000 notifications of mixed types from 300 accounts (1,000
# favourites of 97 of its statuses, 400 reblogs, 300 mentions, 300 follows; every
# activity exists, so everything is shown) and a home timeline of 50 followed
# authors. wrk -t2 -c32, authenticated (a token inserted directly), median of
# BENCH_RUNS interleaved runs of:
#   home    GET /api/v1/timelines/home?limit=40   (baseline: the same server's
#           cached home timeline of the same viewer at the same page size: the
#           cheapest authenticated read of 40 rendered statuses this server
#           can do, so the ratio says what notifications cost beyond that)
#   v1      GET /api/v1/notifications?limit=40
#   v2      GET /api/v2/notifications?limit=40
#   unread  GET /api/v1/notifications/unread_count
#   unread2 GET /api/v2/notifications/unread_count
# Then the SQL alone (EXPLAIN ANALYZE of the v1 page query, planning and
# execution ms) and, with BENCH_PERF=1, a perf profile of chorusd under the v1
# load instead of the runs.
#
# 2 cores are shared by wrk, chorusd, Postgres and Redis: absolute numbers are
# machine-bound, the ratios are the result. Knobs: BENCH_SECONDS, BENCH_RUNS,
# BENCH_PG_POOL (chorusd's pg pool size, default 4).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

SECS="${BENCH_SECONDS:-10}"
RUNS="${BENCH_RUNS:-3}"
CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
CHORUSCTL="$CHORUS_BUILD_DIR/tools/chorusctl"
[ -x "$CHORUSD" ] && [ -x "$CHORUSCTL" ] || die "build first (bench/run does)"
for c in wrk curl psql redis-cli; do command -v "$c" >/dev/null || die "$c is missing (bench/run installs it)"; done

bench_on_exit() {
  [ ! -s "$TMP/chorusd.log" ] || { echo "notifications: chorusd log (last 10 lines):" >&2; tail -10 "$TMP/chorusd.log" >&2; }
}
bench_workspace

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=off pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
pg_ensure_db "$PG_PORT" bench
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"
sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -v ON_ERROR_STOP=1 -qtA "$@"; }
CHORUS_PG_DSN="$DSN" "$CHORUSCTL" migrate >/dev/null

# --- seed ------------------------------------------------------------------------------
say "seeding a reader with 2,000 notifications from 300 accounts and a 2,000-status home timeline"
NOW_MS=$(date +%s%3N)
BASE=$(( (NOW_MS - 86400000) << 16 ))  # statuses: a day old, older than anything chorusd makes
sql <<SQL
INSERT INTO oauth_apps (id, name, redirect_uris, scopes, client_id, client_secret_hash)
  VALUES (1, 'bench', '{urn:ietf:wg:oauth:2.0:oob}', 'read write', 'bench-client', 'x');
INSERT INTO accounts (id, username) VALUES (8000000, 'reader');
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  VALUES (8000000, 'reader@example.com', 'x', true, now());
INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes)
  VALUES (29999999, encode(sha256('tok-reader'::bytea), 'hex'), 1, 8000000, 'read write');
-- 300 senders (local users), 50 of them followed by the reader, who posts 100 statuses.
INSERT INTO accounts (id, username) SELECT 9000000 + g, 'sender' || g FROM generate_series(1, 300) g;
INSERT INTO users (account_id, email, password_hash, confirmed, last_active_at)
  SELECT 9000000 + g, 'sender' || g || '@example.com', 'x', true, now() FROM generate_series(1, 300) g;
INSERT INTO follows (id, account_id, target_account_id) SELECT 9100000 + g, 8000000, 9000000 + g FROM generate_series(1, 50) g;
INSERT INTO statuses (id, account_id, text, content, created_at)
  SELECT $BASE - 100000 - g, 8000000, 'my status ' || g, '<p>my status ' || g || '</p>', now() - interval '1 day' - g * interval '1 minute'
  FROM generate_series(1, 100) g;
-- The home timeline: 2,000 statuses by the 50 followed senders.
INSERT INTO statuses (id, account_id, text, content, created_at)
  SELECT $BASE - g, 9000001 + (g % 50), 'status number ' || g || ' with a few words of text, like a real post would have',
         '<p>status number ' || g || ' with a few words of text, like a real post would have</p>', now() - interval '1 day' + g * interval '1 second'
  FROM generate_series(1, 2000) g;
-- The activities: 1,000 favourites, 400 reblogs, 300 mentions, 300 follows of the reader.
INSERT INTO favourites (id, account_id, status_id)
  SELECT 40000000 + g, 9000001 + (g % 300), $BASE - 100000 - 1 - (g % 97) FROM generate_series(0, 999) g;
INSERT INTO statuses (id, account_id, text, content, reblog_of_id, created_at)
  SELECT $BASE - 50000 - g, 9000001 + (g % 300), '', '', $BASE - 100000 - 1 - (g % 89), now() - interval '1 day'
  FROM generate_series(0, 399) g;
INSERT INTO statuses (id, account_id, text, content, in_reply_to_account_id, created_at)
  SELECT $BASE - 60000 - g, 9000001 + (g % 300), '@reader hello ' || g, '<p>@reader hello ' || g || '</p>', 8000000, now() - interval '1 day'
  FROM generate_series(0, 299) g;
INSERT INTO mentions (status_id, account_id) SELECT $BASE - 60000 - g, 8000000 FROM generate_series(0, 299) g;
INSERT INTO follows (id, account_id, target_account_id) SELECT 41000000 + g, 9000001 + g, 8000000 FROM generate_series(0, 299) g;
UPDATE accounts SET following_count = 50, followers_count = 300, statuses_count = 100 WHERE id = 8000000;
-- The notifications, newest first one every 37 s over the last ~20 hours, interleaved types.
INSERT INTO notifications (id, account_id, from_account_id, type, status_id, activity_id, group_key, created_at)
  SELECT ((($NOW_MS - k * 37000) << 16) | k), 8000000, x.from_id, x.type, x.status_id, x.activity_id,
         CASE WHEN x.type IN ('favourite', 'reblog') THEN x.type || '-' || x.status_id || '-' || (($NOW_MS - k * 37000) / 3600000)
              WHEN x.type = 'follow' THEN 'follow-' || (($NOW_MS - k * 37000) / 3600000) END,
         to_timestamp(($NOW_MS - k * 37000) / 1000.0)
  FROM (SELECT row_number() OVER (ORDER BY (a.ord * 7919) % 2003) AS k, a.* FROM (
          SELECT g AS ord, 'favourite' AS type, f.account_id AS from_id, f.status_id, f.id AS activity_id
            FROM favourites f, LATERAL (SELECT f.id - 40000000 AS g) q
          UNION ALL SELECT 1000 + (s.reblog_of_id % 400 + 400) % 400, 'reblog', s.account_id, s.reblog_of_id, s.id
            FROM statuses s WHERE s.reblog_of_id IS NOT NULL
          UNION ALL SELECT 1400 + (s.id % 300 + 300) % 300, 'mention', s.account_id, s.id, s.id
            FROM statuses s WHERE s.in_reply_to_account_id = 8000000
          UNION ALL SELECT 1700 + (w.id - 41000000), 'follow', w.account_id, NULL, w.id
            FROM follows w WHERE w.target_account_id = 8000000) a) x;
VACUUM ANALYZE;
SQL
NOTIFS=$(sql -c "SELECT count(*) FROM notifications WHERE account_id = 8000000")
[ "$NOTIFS" -eq 2000 ] || die "seeded $NOTIFS notifications, expected 2000"

env CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/bench.port" \
  CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME=bench CHORUS_CLUSTER_ENABLED=false CHORUS_RATELIMIT_ENABLED=false \
  CHORUS_PG_POOL_SIZE="${BENCH_PG_POOL:-4}" "$CHORUSD" 2>>"$TMP/chorusd.log" &
PIDS+=($!)
for _ in $(seq 1 300); do [ -s "$TMP/bench.port" ] && break; sleep 0.1; done
[ -s "$TMP/bench.port" ] || die "chorusd did not start"
URL="http://127.0.0.1:$(cat "$TMP/bench.port")"
WRK_TOKEN=tok-reader  # wrk_line: bench/lib.sh

declare -A PATHS=(
  [home]="/api/v1/timelines/home?limit=40"
  [v1]="/api/v1/notifications?limit=40"
  [v2]="/api/v2/notifications?limit=40"
  [unread]="/api/v1/notifications/unread_count"
  [unread2]="/api/v2/notifications/unread_count"
)
ORDER=(home v1 v2 unread unread2)
for k in "${ORDER[@]}"; do  # warm up, and check that each answers what it should
  curl -sf -H "Authorization: Bearer tok-reader" "$URL${PATHS[$k]}" > "$TMP/$k.json" || die "$k: $URL${PATHS[$k]} failed"
done
[ "$(grep -o '"visibility":' "$TMP/home.json" | wc -l)" -ge 40 ] || die "home has fewer than 40 statuses"
[ "$(grep -o '"group_key":' "$TMP/v1.json" | wc -l)" -eq 40 ] || die "v1 has not 40 notifications: $(head -c 300 "$TMP/v1.json")"
[ "$(grep -o '"group_key":' "$TMP/v2.json" | wc -l)" -eq 40 ] || die "v2 has not 40 groups: $(head -c 300 "$TMP/v2.json")"
grep -q '"count":100}' "$TMP/unread.json" || die "unread_count (no marker, capped at 100): $(cat "$TMP/unread.json")"

if [ -n "${BENCH_PERF:-}" ]; then  # profile chorusd under the v1 load, then stop
  command -v perf >/dev/null || die "perf is missing"
  perf record -F 999 -g -o "$TMP/perf.data" -p "${PIDS[0]}" -- sleep "$SECS" 2>/dev/null &
  wrk_line "$URL${PATHS[${BENCH_PERF_PATH:-v1}]}" 2 32 "$SECS" >&2
  wait $!
  # shellcheck disable=SC2086  # several arguments
  perf report -i "$TMP/perf.data" --stdio ${BENCH_PERF_ARGS:---no-children} --percent-limit 1 2>/dev/null | grep -v '^$' | head -120
  exit 0
fi

say "wrk -t2 -c32 -d${SECS}s, $RUNS run(s) of each, interleaved"
for r in $(seq 1 "$RUNS"); do
  for k in "${ORDER[@]}"; do
    line=$(wrk_line "$URL${PATHS[$k]}" 2 32 "$SECS")
    echo "  run $r/$RUNS $k: $line (req/s p50 p99 non-2xx)" >&2
    echo "$line" >> "$TMP/runs.$k"
  done
done

# The SQL alone: the v1 page as chorusd asks it (types = all known, no account, not filtered).
explain() {
  sql -c "EXPLAIN (ANALYZE, TIMING OFF) $1" | awk '/Planning Time/ {p = $3} /Execution Time/ {e = $3} END {printf "planning %s ms, execution %s ms", p, e}'
}
PG_V1=$(explain "SELECT n.id FROM notifications n WHERE n.account_id = 8000000 AND NOT n.filtered ORDER BY n.id DESC LIMIT 40")

echo "notifications: 2 shared cores (wrk, chorusd, Postgres, Redis); reader with $NOTIFS notifications; median of $RUNS runs of ${SECS}s, wrk -t2 -c32"
printf '  %-8s %-40s %10s %9s %9s %7s %8s\n' what path req/s p50_ms p99_ms non2xx vs_home
H=$(median < "$TMP/runs.home")
for k in "${ORDER[@]}"; do
  # shellcheck disable=SC2046  # the fields of the median line
  set -- $(median < "$TMP/runs.$k")
  printf '  %-8s %-40s %10s %9s %9s %7s %8s\n' "$k" "${PATHS[$k]}" "$1" "$2" "$3" "$4" \
    "$(awk -v a="$1" -v b="${H%% *}" 'BEGIN { printf "%.3f", a / b }')"
done
echo "  the bare page query (ids only, no visibility rule): $PG_V1"

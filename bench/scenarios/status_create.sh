#!/usr/bin/env bash
# status_create: POST /api/v1/statuses through the full HTTP path, with the
# batching writer (many concurrent posts committed in one transaction) against
# the naive path (statuses.batch_writes=false: one transaction per post), in the
# same run, on the same private PostgreSQL with fsync ON (commits are what
# batching saves). wrk -t2 -c64, every request a new post by the same account.
#
# 2 cores are shared by wrk, chorusd and Postgres: absolute numbers are
# machine-bound; the ratio batched/naive is the result.
# Knobs: BENCH_SECONDS (default 10), BENCH_RUNS (default 3).
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
command -v wrk >/dev/null || die "wrk is missing (bench/run installs it)"

bench_workspace

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=on pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"

json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# start_node NAME BATCH → sets URL_<NAME> and TOKEN_<NAME>
start_node() {
  local name="$1" batch="$2" db="bench_$1"
  pg_ensure_db "$PG_PORT" "$db"
  local dsn="host=127.0.0.1 port=$PG_PORT user=postgres dbname=$db"
  CHORUS_PG_DSN="$dsn" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/$name.port" \
    CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME="$name" CHORUS_STATUSES_BATCH_WRITES="$batch" CHORUS_PG_POOL_SIZE=4 \
    "$CHORUSD" 2>"$TMP/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || { cat "$TMP/$name.log" >&2; die "chorusd $name did not start"; }
  local url="http://127.0.0.1:$(cat "$TMP/$name.port")"
  local app cid secret password token
  app=$(curl -sf -X POST "$url/api/v1/apps" -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d "scopes=read write")
  cid=$(echo "$app" | json_field client_id)
  secret=$(echo "$app" | json_field client_secret)
  password=$(CHORUS_PG_DSN="$dsn" "$CHORUSCTL" accounts create bencher --email bench@example.com --confirmed | sed -n 's/^New password: //p')
  token=$(curl -sf -X POST "$url/oauth/token" -d grant_type=password -d "client_id=$cid" -d "client_secret=$secret" \
            -d username=bencher -d "password=$password" -d "scope=read write" | json_field access_token)
  [ -n "$token" ] || die "no token for $name"
  printf -v "URL_$name" '%s' "$url"
  printf -v "TOKEN_$name" '%s' "$token"
}

start_node batched true
start_node naive false

cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "status=hello+from+the+benchmark+%23bench&visibility=public"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA

declare -A RESULTS
run_one() {  # NAME → "req/s p50 p99 non2xx"
  local name="$1" url token out
  url="URL_$name"; token="TOKEN_$name"
  out=$(TOKEN="${!token}" timeout $((SECS + 30)) wrk -t2 -c64 -d"${SECS}s" --latency -s "$TMP/post.lua" "${!url}/api/v1/statuses")
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$rps $p50 $p99 ${non2xx:-0}"
}

echo "==> wrk -t2 -c64 -d${SECS}s POST /api/v1/statuses, ${RUNS} run(s) each, interleaved" >&2
for r in $(seq 1 "$RUNS"); do
  for name in batched naive; do
    line=$(run_one "$name")
    echo "  run $r/$RUNS $name: $line (req/s p50 p99 non-2xx)" >&2
    RESULTS[$name]+="$line"$'\n'
  done
done

median() {  # lines "rps p50 p99 non2xx" → the median line by rps
  printf '%s' "$1" | sed '/^$/d' | sort -n -k1,1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}
B=$(median "${RESULTS[batched]}")
N=$(median "${RESULTS[naive]}")
rows_b=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench_batched -tAc "SELECT count(*) FROM statuses")
rows_n=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench_naive -tAc "SELECT count(*) FROM statuses")
stats=$(curl -s "$URL_batched/api/v1/chorus/admin/actors?kind=batcher" | grep -o '"batches":[0-9]*\|"items":[0-9]*\|"max_batch":[0-9]*' | tr '\n' ' ')
echo "status_create: POST /api/v1/statuses, wrk -t2 -c64 -d${SECS}s, median of ${RUNS}, Postgres fsync on, 2 shared cores"
printf '%-10s %10s %10s %10s %8s\n' path "req/s" p50 p99 non2xx
set -- $B; printf '%-10s %10s %10s %10s %8s\n' batched "$1" "$2" "$3" "$4"
set -- $N; printf '%-10s %10s %10s %10s %8s\n' naive "$1" "$2" "$3" "$4"
echo "rows written: batched $rows_b, naive $rows_n; batcher: $stats"
awk -v b="${B%% *}" -v n="${N%% *}" 'BEGIN { printf "status_create: batched/naive = %.2f\n", b / n }'

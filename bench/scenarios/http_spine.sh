#!/usr/bin/env bash
# http_spine: what the Beast -> CAF spine costs on GET /health.
#
# Three servers return the same body bytes on 127.0.0.1:
#   nginx         `return 200 '<body>'` from a generated config, one worker (the ceiling)
#   beast_inline  build/bench/bench_beast_inline: chorusd's Beast server code, answered
#                 in the handler, no actor
#   chorusd       the real thing: HTTP -> short-lived actor -> node actor -> reply
# Each gets `wrk -t2 -c64 -d${BENCH_SECONDS}s --latency /health` BENCH_RUNS times,
# interleaved (nginx, inline, chorusd, nginx, ...) so drift hits all three alike; the
# median run (by req/s) per server is reported.
#
# The machine has 2 cores and wrk shares them with the server under test (and with
# anything else running), so absolute numbers are machine-bound and noisy: the
# ratios (chorusd/nginx, chorusd/beast_inline) are what to compare over time.
# nginx runs worker_processes 1 so it does not claim both cores for itself.
#
# Needs the binaries in $CHORUS_BUILD_DIR (bench/run builds them), nginx, wrk, curl,
# PostgreSQL 15 and redis-server. Starts a private Postgres (fsync off) and Redis on
# free loopback ports like scripts/test; everything it starts is stopped on exit.
# Knobs: BENCH_SECONDS (default 10), BENCH_RUNS (default 3).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

SECS="${BENCH_SECONDS:-10}"
RUNS="${BENCH_RUNS:-3}"
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer, got '$SECS'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
THREADS=2
CONNS=64

CHORUSD="$CHORUS_BUILD_DIR/tools/chorusd"
INLINE="$CHORUS_BUILD_DIR/bench/bench_beast_inline"
for b in "$CHORUSD" "$INLINE"; do
  [ -x "$b" ] || die "$b is missing: build first (bench/run does)"
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || die "nginx is missing (bench/run installs nginx-light)"
for c in wrk curl psql redis-server redis-cli; do
  command -v "$c" >/dev/null || die "$c is missing"
done

TMP="$(mktemp -d /tmp/chorus-bench.XXXXXX)"
chmod 755 "$TMP"
PG_DATA="$TMP/pg"
mkdir -p "$PG_DATA"
chown postgres:postgres "$PG_DATA"
CHORUSD_PID='' INLINE_PID='' NGINX_PID='' WRK_PID='' PG_STARTED=''

# stop_pid PID SECONDS — TERM, wait up to SECONDS, then KILL; reaps the child.
stop_pid() {
  local pid="$1" secs="$2" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    printf 'warning: pid %s ignored TERM for %ss; killing\n' "$pid" "$secs" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 5
  stop_pid "$NGINX_PID" 10       # TERM = fast shutdown; the master takes its worker along
  stop_pid "$INLINE_PID" 10
  stop_pid "$CHORUSD_PID" 15     # before Postgres and Redis, which it is connected to
  redis_stop
  [ -z "$PG_STARTED" ] || pg_stop "$PG_DATA"
  # Servers log at warn and above only: anything here is worth a look.
  local f
  for f in "$TMP/chorusd.log" "$TMP/inline.log" "$TMP/nginx/error.log" "$TMP/nginx/stdout.log"; do
    [ -s "$f" ] || continue
    printf 'http_spine: %s is not empty (last 20 lines):\n' "${f#"$TMP"/}" >&2
    tail -20 "$f" >&2
  done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_port_file FILE PID NAME LOG — prints the port once FILE holds one (60 s at most).
wait_port_file() {
  local f="$1" pid="$2" name="$3" logf="$4" p
  for _ in $(seq 1 600); do
    if [ -s "$f" ]; then
      p="$(tr -dc 0-9 < "$f")"
      [ -n "$p" ] && { echo "$p"; return 0; }
    fi
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logf" >&2; die "$name exited during startup (log above)"; }
    sleep 0.1
  done
  tail -20 "$logf" >&2
  die "$name wrote no port to $f within 60 s"
}

# fetch NAME PORT — GET /health into $TMP/body.NAME; dies unless the status is 200.
fetch() {
  local name="$1" port="$2" out
  out="$(curl -sS --max-time 5 -o "$TMP/body.$name" -w '%{http_code} %{content_type}' \
         "http://127.0.0.1:$port/health")" || die "GET /health on $name (port $port) failed"
  [ "${out%% *}" = 200 ] || die "GET /health on $name answered ${out%% *}: $(head -c 300 "$TMP/body.$name")"
  printf '%s\n' "${out#* }" > "$TMP/ctype.$name"
}

# --- Postgres and Redis, as scripts/test starts them --------------------------
PG_PORT="$(free_port)"
say "postgres on 127.0.0.1:$PG_PORT (fsync off)"
PG_STARTED=1
CHORUS_PG_FSYNC=off pg_start "$PG_DATA" "$PG_PORT" "$TMP/postgres.log"
pg_ensure_db "$PG_PORT" chorus
REDIS_PORT="$(free_port)"
say "redis on 127.0.0.1:$REDIS_PORT"
redis_start "$TMP/redis" "$REDIS_PORT"

# --- chorusd -------------------------------------------------------------------
say "starting chorusd"
CHORUS_HTTP_HOST=127.0.0.1 \
CHORUS_HTTP_PORT="$(free_port)" \
CHORUS_HTTP_PORT_FILE="$TMP/chorusd.port" \
CHORUS_HTTP_SHUTDOWN_GRACE_MS=2000 \
CHORUS_PG_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=chorus" \
CHORUS_REDIS_HOST=127.0.0.1 \
CHORUS_REDIS_PORT="$REDIS_PORT" \
CHORUS_LOG_LEVEL=warn \
CHORUS_NODE_NAME=bench \
  "$CHORUSD" > "$TMP/chorusd.log" 2>&1 &
CHORUSD_PID=$!
CHORUSD_PORT="$(wait_port_file "$TMP/chorusd.port" "$CHORUSD_PID" chorusd "$TMP/chorusd.log")"
fetch chorusd "$CHORUSD_PORT"
BODY="$(cat "$TMP/body.chorusd"; printf x)"
BODY="${BODY%x}"   # keep any trailing newline byte-exact
case "$BODY" in
  *'$'*) die "the /health body contains '\$', which nginx's return would expand: $BODY" ;;
  '') die "chorusd returned an empty /health body" ;;
esac

# --- bench_beast_inline ----------------------------------------------------------
say "starting bench_beast_inline"
CHORUS_HTTP_HOST=127.0.0.1 CHORUS_LOG_LEVEL=warn \
  "$INLINE" "$TMP/inline.port" bench > "$TMP/inline.log" 2>&1 &
INLINE_PID=$!
INLINE_PORT="$(wait_port_file "$TMP/inline.port" "$INLINE_PID" bench_beast_inline "$TMP/inline.log")"

# --- nginx -----------------------------------------------------------------------
NGINX_PORT="$(free_port)"
mkdir -p "$TMP/nginx"
esc="${BODY//\\/\\\\}"
esc="${esc//\'/\\\'}"
nginx_conf "$TMP/nginx" "$NGINX_PORT" "    location = /health {
      default_type \"application/json; charset=utf-8\";
      return 200 '$esc';
    }"
say "starting nginx on 127.0.0.1:$NGINX_PORT"
nginx_start "$NGINX" "$TMP/nginx" "$NGINX_PORT"

# --- same bytes everywhere ---------------------------------------------------------
declare -A PORT=([nginx]="$NGINX_PORT" [beast_inline]="$INLINE_PORT" [chorusd]="$CHORUSD_PORT")
SERVERS=(nginx beast_inline chorusd)
fetch chorusd "$CHORUSD_PORT"
fetch beast_inline "$INLINE_PORT"
fetch nginx "$NGINX_PORT"
for s in nginx beast_inline; do
  cmp -s "$TMP/body.chorusd" "$TMP/body.$s" ||
    die "body differs: chorusd '$(cat "$TMP/body.chorusd")' vs $s '$(cat "$TMP/body.$s")'"
  cmp -s "$TMP/ctype.chorusd" "$TMP/ctype.$s" ||
    printf 'warning: Content-Type differs: chorusd %s, %s %s\n' \
      "$(cat "$TMP/ctype.chorusd")" "$s" "$(cat "$TMP/ctype.$s")" >&2
done
say "identical bodies ($(wc -c < "$TMP/body.chorusd") bytes): $BODY"

# --- measure ---------------------------------------------------------------------
# parse_wrk FILE — prints "req_per_s p50_us p99_us non2xx socket_errors".
parse_wrk() {
  awk '
    function us(v) {
      if (v ~ /us$/) return v + 0
      if (v ~ /ms$/) return v * 1000
      if (v ~ /m$/)  return v * 60e6
      if (v ~ /s$/)  return v * 1e6
      return v + 0
    }
    /^Requests\/sec:/                { rps = $2 }
    $1 == "50%"                      { p50 = us($2) }
    $1 == "99%"                      { p99 = us($2) }
    /Non-2xx or 3xx responses:/      { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); serr = $4 + $6 + $8 + $10 }
    END {
      if (rps == "" || p50 == "" || p99 == "") exit 1
      printf "%s %.0f %.0f %d %d\n", rps, p50, p99, non2xx + 0, serr + 0
    }' "$1"
}

say "wrk -t$THREADS -c$CONNS -d${SECS}s --latency, $RUNS run(s) per server, interleaved"
for ((r = 1; r <= RUNS; r++)); do
  for s in "${SERVERS[@]}"; do
    out="$TMP/wrk.$s.$r"
    timeout -k 5 $((SECS + 30)) \
      wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:${PORT[$s]}/health" \
      > "$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || { WRK_PID=; cat "$out" >&2; die "wrk against $s failed"; }
    WRK_PID=
    line="$(parse_wrk "$out")" || { cat "$out" >&2; die "cannot parse wrk output for $s"; }
    echo "$line" >> "$TMP/runs.$s"
    read -r rps p50 p99 n2 se <<< "$line"
    printf '  run %d/%d %-13s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d  socket errors %d\n' \
      "$r" "$RUNS" "$s" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
      "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$n2" "$se" >&2
  done
  for s in "${SERVERS[@]}"; do
    case $s in nginx) pid=$NGINX_PID ;; beast_inline) pid=$INLINE_PID ;; chorusd) pid=$CHORUSD_PID ;; esac
    kill -0 "$pid" 2>/dev/null || die "$s died during the run (logs in $TMP are removed on exit)"
  done
done

# --- report ------------------------------------------------------------------------
# Median run by req/s (for an even count, the lower of the two middle runs: a real run).
declare -A RPS P50 P99 N2 SE
for s in "${SERVERS[@]}"; do
  n="$(wc -l < "$TMP/runs.$s")"
  read -r rps p50 p99 _ _ <<< "$(sort -n -k1,1 "$TMP/runs.$s" | sed -n "$(( (n + 1) / 2 ))p")"
  RPS[$s]=$rps P50[$s]=$p50 P99[$s]=$p99
  N2[$s]="$(awk '{t += $4} END {print t + 0}' "$TMP/runs.$s")"
  SE[$s]="$(awk '{t += $5} END {print t + 0}' "$TMP/runs.$s")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "http_spine: GET /health, wrk -t$THREADS -c$CONNS -d${SECS}s, median of $RUNS, $(nproc) cores shared by wrk and server (absolute numbers are machine-bound; compare ratios)"
printf '%-13s %10s %9s %9s %9s\n' server req/s p50_ms p99_ms vs_nginx
for s in "${SERVERS[@]}"; do
  printf '%-13s %10.0f %9.2f %9.2f %9s\n' "$s" "${RPS[$s]}" \
    "$(awk -v v="${P50[$s]}" 'BEGIN{print v/1000}')" "$(awk -v v="${P99[$s]}" 'BEGIN{print v/1000}')" \
    "$(ratio "${RPS[$s]}" "${RPS[nginx]}")"
done
for s in "${SERVERS[@]}"; do
  if [ "${N2[$s]}" != 0 ] || [ "${SE[$s]}" != 0 ]; then
    echo "http_spine: WARNING $s: ${N2[$s]} non-2xx responses, ${SE[$s]} socket errors over all runs"
  fi
done
echo "http_spine: chorusd/nginx = $(ratio "${RPS[chorusd]}" "${RPS[nginx]}"), chorusd/beast_inline = $(ratio "${RPS[chorusd]}" "${RPS[beast_inline]}")"

# Shared by scripts/up and scripts/test. Sourced, not run.
# shellcheck shell=bash

CHORUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHORUS_BUILD_DIR="${CHORUS_BUILD_DIR:-$CHORUS_ROOT/build}"
PG_BINDIR="${CHORUS_PG_BINDIR:-/usr/lib/postgresql/15/bin}"

# Debian packages the build, the server and the tests need.
CHORUS_PACKAGES=(
  build-essential cmake pkg-config ccache git ca-certificates curl openssl
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpqxx-dev libhiredis-dev nlohmann-json3-dev libcurl4-openssl-dev
  libwebp-dev libssl-dev libjpeg62-turbo-dev libpng-dev libgtest-dev libargon2-dev
  postgresql-15 redis-server
)

# Node.js for the bundled NSFW detector (ml/nsfw-detector) and the test clients
# (tests/clients): Debian's `nodejs` and `npm` (Node 18.17 or later), installed
# only when `node` or `npm` is missing, so a NodeSource nodejs (which carries its
# own npm and conflicts with Debian's) is kept.
CHORUS_NODE_PACKAGES=(nodejs npm)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs only what is missing; a no-op (well under a second) when all is present.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian images here ship a policy-rc.d that keeps services from auto-starting; keep it that way.
  apt-get update -qq || apt-get update
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_chorus() {
  local type="${CHORUS_BUILD_TYPE:-Release}"
  say "building ($type) in $CHORUS_BUILD_DIR"
  cmake -S "$CHORUS_ROOT" -B "$CHORUS_BUILD_DIR" -DCMAKE_BUILD_TYPE="$type" \
        -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build "$CHORUS_BUILD_DIR" -j"$(nproc)" "$@"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now. The range stays
# below Linux's ephemeral ports (32768+), which outgoing connections take.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( RANDOM % 12000 + 20000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# A directory the postgres user can reach. Data under a path postgres cannot
# traverse (e.g. /root/...) is placed in /var/lib/chorus/<hash> and linked.
pg_data_dir() {
  local want="$1"
  mkdir -p "$(dirname "$want")"
  if [ -L "$want" ]; then readlink -f "$want"; return; fi
  if [ -d "$want" ]; then echo "$want"; return; fi
  mkdir -p "$want"
  chown postgres:postgres "$want"
  if runuser -u postgres -- test -w "$want" 2>/dev/null; then
    echo "$want"
    return
  fi
  rmdir "$want"
  local alt="/var/lib/chorus/$(echo -n "$want" | sha256sum | cut -c1-16)"
  mkdir -p "$alt"
  chown postgres:postgres "$alt"
  ln -s "$alt" "$want"
  echo "$alt"
}

# pg_try_start DATA_DIR PORT LOGFILE — initdb on first use, then start on
# 127.0.0.1:PORT (TCP only); returns 1 if the server does not come up.
pg_try_start() {
  local data="$1" port="$2" logf="$3"
  if [ ! -f "$data/PG_VERSION" ]; then
    chown postgres:postgres "$data"
    runuser -u postgres -- "$PG_BINDIR/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null || die "initdb failed in $data"
  fi
  touch "$logf"
  chown postgres:postgres "$logf"
  runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$data" -l "$logf" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=${CHORUS_PG_FSYNC:-on} -c max_connections=200" \
    start >/dev/null
}

pg_start() {
  pg_try_start "$@" && return 0
  tail -20 "$3" >&2
  die "postgres did not start (log: $3)"
}

pg_stop() {
  local data="$1"
  [ -f "$data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# pg_ensure_db PORT DBNAME
pg_ensure_db() {
  local port="$1" db="$2"
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$db\"" >/dev/null
  fi
}

# redis_start DIR PORT — runs in the background; prints nothing; sets REDIS_PID.
# Fails (returns 1) if it does not come up, e.g. the port was taken meanwhile.
redis_try_start() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$dir" --logfile "$dir/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  redis_stop
  return 1
}

redis_start() {
  redis_try_start "$1" "$2" && return 0
  tail -20 "$1/redis.log" >&2
  die "redis did not start on port $2"
}

# stop_child PID — stops a child process started by this shell (nothing when PID is empty).
stop_child() {
  [ -n "${1:-}" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

redis_stop() {
  stop_child "${REDIS_PID:-}"
  REDIS_PID=
}

ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null || ensure_packages "${CHORUS_NODE_PACKAGES[@]}"
}

# npm_ci DIR — `npm ci` from DIR's package-lock.json when node_modules is missing or
# the lock file changed since the last install (a stamp holds its hash).
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.chorus-lock.sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  say "npm ci in ${dir#"$CHORUS_ROOT"/} (from its package-lock.json)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $dir"
  echo "$want" > "$stamp"
}

# detector_start LOGFILE — starts the bundled NSFW detector (ml/nsfw-detector) on a
# free loopback port, waits up to 120 s for GET /health to answer 200, and sets
# DETECTOR_PID and DETECTOR_URL. Dies if it exits or does not become healthy.
detector_start() {
  local logf="$1" port attempt
  local dir="$CHORUS_ROOT/ml/nsfw-detector"
  npm_ci "$dir"
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    HOST=127.0.0.1 PORT="$port" node "$dir/server.mjs" >>"$logf" 2>&1 &
    DETECTOR_PID=$!
    DETECTOR_URL="http://127.0.0.1:$port"
    local deadline=$(( SECONDS + 120 ))
    while [ $SECONDS -lt $deadline ]; do
      if curl -fsS -o /dev/null --max-time 2 "$DETECTOR_URL/health" 2>/dev/null; then
        return 0
      fi
      kill -0 "$DETECTOR_PID" 2>/dev/null || break
      sleep 0.2
    done
    detector_stop
    grep -q EADDRINUSE "$logf" 2>/dev/null || break  # only a lost port race is worth another try
  done
  tail -20 "$logf" >&2
  die "the NSFW detector did not become healthy (log: $logf)"
}

detector_stop() {
  stop_child "${DETECTOR_PID:-}"
  DETECTOR_PID=
}

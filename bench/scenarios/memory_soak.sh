#!/usr/bin/env bash
# memory_soak: does chorusd's memory stop growing under a long mixed load, or
# does it leak? One chorusd on a private PostgreSQL (fsync off) and Redis;
# SOAK_USERS accounts registered through the Mastodon API (POST /api/v1/apps,
# client_credentials token, POST /api/v1/accounts), each following SOAK_FOLLOWS
# others; then SOAK_MINUTES of mixed load from loopback (exempt from rate
# limits) by a python3 driver (http.client, keep-alive, SOAK_THREADS threads,
# paced to SOAK_RATE requests/s in total):
#   posts 40%, replies 10%, favourites 15%, home timeline 15%,
#   public timeline 10%, account reads 10%.
# Every SOAK_INTERVAL seconds it samples chorusd's VmRSS / RssAnon
# (/proc/PID/status), the posts made so far, and the gauges that bound memory:
# live feed actors, hot-status cache size, cached OAuth tokens, trend scores,
# rate-limit local buckets, actor mailboxes (GET /metrics and
# GET /api/v1/chorus/admin/actors). Prints one table row per sample, then
# RSS growth per 1,000 posts in the first and the second half of the load:
# cache fill shows as growth that flattens in the second half; a leak keeps
# a constant slope.
#
# Knobs: SOAK_MINUTES (10), SOAK_USERS (300), SOAK_FOLLOWS (30),
# SOAK_THREADS (8), SOAK_RATE (200 req/s; 0 = unpaced), SOAK_INTERVAL (10 s),
# SOAK_CSV (also write the samples to this file), SOAK_ENV (extra VAR=VALUE
# words for chorusd, e.g. "CHORUS_FEED_MAX_LIVE=20 MALLOC_ARENA_MAX=2"),
# CHORUSD / CHORUSCTL (binaries; default the build tree).
# 2 cores are shared by the driver, chorusd, Postgres and Redis.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

MINUTES="${SOAK_MINUTES:-10}"
USERS="${SOAK_USERS:-300}"
FOLLOWS="${SOAK_FOLLOWS:-30}"
THREADS="${SOAK_THREADS:-8}"
RATE="${SOAK_RATE:-200}"
INTERVAL="${SOAK_INTERVAL:-10}"
CHORUSD="${CHORUSD:-$CHORUS_BUILD_DIR/tools/chorusd}"
CHORUSCTL="${CHORUSCTL:-$CHORUS_BUILD_DIR/tools/chorusctl}"
[ -x "$CHORUSD" ] && [ -x "$CHORUSCTL" ] || die "build first (bench/run does), or set CHORUSD and CHORUSCTL"
for c in python3 curl psql redis-server redis-cli; do command -v "$c" >/dev/null || die "$c is missing"; done

bench_on_exit() {
  [ ! -s "$TMP/chorusd.log" ] || { echo "memory_soak: chorusd log (last 5 lines):" >&2; tail -5 "$TMP/chorusd.log" >&2; }
}
bench_workspace

PG_PORT="$(free_port)"
CHORUS_PG_FSYNC=off pg_start "$TMP/pg" "$PG_PORT" "$TMP/pg.log"
pg_ensure_db "$PG_PORT" soak
DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=soak"
REDIS_PORT="$(free_port)"
redis_start "$TMP/redis" "$REDIS_PORT"

CHORUS_PG_DSN="$DSN" "$CHORUSCTL" migrate >/dev/null
CHORUS_PG_DSN="$DSN" "$CHORUSCTL" settings registrations open >/dev/null
# shellcheck disable=SC2086  # SOAK_ENV is a list of words on purpose
env CHORUS_PG_DSN="$DSN" CHORUS_REDIS_PORT="$REDIS_PORT" CHORUS_HTTP_PORT=0 CHORUS_HTTP_PORT_FILE="$TMP/chorusd.port" \
  CHORUS_LOG_LEVEL=warn CHORUS_NODE_NAME=soak ${SOAK_ENV:-} "$CHORUSD" 2>>"$TMP/chorusd.log" &
CHORUSD_PID=$!
PIDS+=("$CHORUSD_PID")
for _ in $(seq 1 300); do [ -s "$TMP/chorusd.port" ] && break; sleep 0.1; done
[ -s "$TMP/chorusd.port" ] || die "chorusd did not start"
URL="http://127.0.0.1:$(cat "$TMP/chorusd.port")"
say "chorusd pid $CHORUSD_PID at $URL${SOAK_ENV:+ with $SOAK_ENV}; $USERS users x $FOLLOWS follows, then ${MINUTES} min at ${RATE} req/s"

cat > "$TMP/soak.py" <<'PY'
import http.client, json, os, random, sys, threading, time, urllib.parse, collections

PORT = int(os.environ["SOAK_PORT"]); PID = int(os.environ["SOAK_PID"])
USERS = int(os.environ["SOAK_USERS"]); FOLLOWS = int(os.environ["SOAK_FOLLOWS"])
THREADS = int(os.environ["SOAK_THREADS"]); RATE = float(os.environ["SOAK_RATE"])
SECS = float(os.environ["SOAK_MINUTES"]) * 60; INTERVAL = float(os.environ["SOAK_INTERVAL"])
CSV = os.environ.get("SOAK_CSV", "")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

def log(*a): print(*a, file=sys.stderr, flush=True)

class Conn:
    def __init__(self): self.c = None
    def req(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                if self.c is None: self.c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse(); data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError):
                if self.c: self.c.close()
                self.c = None
                if attempt: return 0, b""

def form(d): return urllib.parse.urlencode(d)
def auth(tok, extra=None):
    h = {"Authorization": "Bearer " + tok}
    if extra: h.update(extra)
    return h

def parallel(fn, items, n):
    items = list(items); out = [None] * len(items); lock = threading.Lock(); idx = [0]
    def work():
        c = Conn()
        while True:
            with lock:
                i = idx[0]; idx[0] += 1
            if i >= len(items): return
            out[i] = fn(c, items[i])
    ts = [threading.Thread(target=work) for _ in range(n)]
    [t.start() for t in ts]; [t.join() for t in ts]
    return out

# --- setup: app, app token, users, follows -------------------------------------------
c = Conn()
s, b = c.req("POST", "/api/v1/apps", form({"client_name": "soak", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                           "scopes": "read write follow"}), FORM)
assert s == 200, (s, b[:300]); app = json.loads(b)
s, b = c.req("POST", "/oauth/token", form({"grant_type": "client_credentials", "client_id": app["client_id"],
             "client_secret": app["client_secret"], "scope": "read write follow"}), FORM)
assert s == 200, (s, b[:300]); app_token = json.loads(b)["access_token"]
tag = "%x" % random.getrandbits(24)

def register(c, i):
    name = "soak%s_%d" % (tag, i)
    s, b = c.req("POST", "/api/v1/accounts", form({"username": name, "email": name + "@example.com",
                 "password": "a-long-password-%d" % i, "agreement": "true"}), auth(app_token, FORM))
    if s != 200: log("register", name, s, b[:200]); return None
    tok = json.loads(b)["access_token"]
    s, b = c.req("GET", "/api/v1/accounts/verify_credentials", None, auth(tok))
    if s != 200: log("verify", name, s, b[:200]); return None
    return (tok, json.loads(b)["id"])

t0 = time.time()
users = [u for u in parallel(register, range(USERS), 4) if u]
log("registered %d users in %.1f s" % (len(users), time.time() - t0))
assert len(users) >= USERS * 0.9, "too many registrations failed"
pairs = []
for i, (tok, _) in enumerate(users):
    for j in random.sample([k for k in range(len(users)) if k != i], min(FOLLOWS, len(users) - 1)):
        pairs.append((tok, users[j][1]))
t0 = time.time()
fs = parallel(lambda c, p: c.req("POST", "/api/v1/accounts/%s/follow" % p[1], "", auth(p[0], FORM))[0], pairs, THREADS)
log("%d follows (%d ok) in %.1f s" % (len(pairs), sum(1 for x in fs if x == 200), time.time() - t0))

# --- sampler -----------------------------------------------------------------------------
counts = collections.Counter(); clock = threading.Lock()
recent = collections.deque(maxlen=2000)   # status ids to reply to and favourite

def proc_kb(field):
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith(field + ":"): return int(line.split()[1])
    return 0

def scrape(c):
    g = {}
    s, b = c.req("GET", "/metrics")
    mailbox = 0
    for line in b.decode(errors="replace").splitlines():
        if line.startswith("#"): continue
        k, _, v = line.rpartition(" ")
        try: v = float(v)
        except ValueError: continue
        if k == "chorus_feed_live_actors": g["feeds"] = int(v)
        elif k.startswith("chorus_actor_mailbox{"): mailbox += int(v)
        elif k == "chorus_http_connections": g["conns"] = int(v)
        elif k.startswith("chorus_queue_depth{queue=\"feeds\""): g["fanq"] = int(v)
    g["mbox"] = mailbox
    s, b = c.req("GET", "/api/v1/chorus/admin/actors")
    try: d = json.loads(b)
    except ValueError: d = {"actors": []}
    g["actors"] = d.get("total", 0)
    buckets = 0
    for a in d.get("actors", []):
        k, ct = a["kind"], a.get("counters", {})
        if k == "status_cache": g["hot"] = ct.get("size", 0)
        elif k == "oauth": g["tokens"] = ct.get("cached_tokens", 0)
        elif k == "trends": g["trend_st"] = ct.get("statuses", 0); g["trend_tg"] = ct.get("tags", 0)
        elif k == "ratelimit": buckets += ct.get("local_buckets", 0)
    g["rl_bkts"] = buckets
    return g

COLS = ["t_s", "rss_kb", "anon_kb", "posts", "reqs", "errs", "feeds", "hot", "tokens", "trend_st", "trend_tg",
        "rl_bkts", "actors", "mbox", "fanq", "conns"]
samples = []
def sample(c, t):
    g = scrape(c)
    with clock: posts, reqs, errs = counts["posted"], sum(counts[k] for k in OPS), counts["err"]
    row = dict(t_s=int(t), rss_kb=proc_kb("VmRSS"), anon_kb=proc_kb("RssAnon"), posts=posts, reqs=reqs, errs=errs, **g)
    samples.append(row)
    print(" ".join("%9s" % row.get(k, "-") for k in COLS), flush=True)
    if CSV:
        with open(CSV, "a") as f: f.write(",".join(str(row.get(k, "")) for k in COLS) + "\n")

# --- load ---------------------------------------------------------------------------------
OPS = ["post", "reply", "fav", "home", "public", "account"]
WEIGHTS = [40, 10, 15, 15, 10, 10]
stop = threading.Event()

def one(c, op):
    tok, me = random.choice(users)
    if op in ("post", "reply"):
        d = {"status": "soak %s %d #soak%d some words so a post has a realistic size, like people write" %
                       (op, random.getrandbits(32), random.randrange(50)), "visibility": "public"}
        if op == "reply":
            if not recent: return 200
            d["in_reply_to_id"] = random.choice(recent)
        s, b = c.req("POST", "/api/v1/statuses", form(d), auth(tok, FORM))
        if s == 200:
            with clock: counts["posted"] += 1
            try: recent.append(json.loads(b)["id"])
            except (ValueError, KeyError): pass
        return s
    if op == "fav":
        if not recent: return 200
        s, _ = c.req("POST", "/api/v1/statuses/%s/favourite" % random.choice(recent), "", auth(tok, FORM))
        return s
    if op == "home": return c.req("GET", "/api/v1/timelines/home?limit=20", None, auth(tok))[0]
    if op == "public": return c.req("GET", "/api/v1/timelines/public?limit=20", None, auth(tok))[0]
    return c.req("GET", "/api/v1/accounts/%s" % random.choice(users)[1], None, auth(tok))[0]

def worker():
    c = Conn(); per = THREADS / RATE if RATE > 0 else 0; nxt = time.time()
    while not stop.is_set():
        op = random.choices(OPS, WEIGHTS)[0]
        s = one(c, op)
        with clock:
            counts[op] += 1
            if s != 200: counts["err"] += 1; counts["err_%s_%d" % (op, s)] += 1
        if per:
            nxt += per; d = nxt - time.time()
            if d > 0: time.sleep(d)
            elif d < -1: nxt = time.time()

print(" ".join("%9s" % k for k in COLS), flush=True)
if CSV:
    with open(CSV, "w") as f: f.write(",".join(COLS) + "\n")
sc = Conn(); start = time.time()
sample(sc, 0)
ws = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
[w.start() for w in ws]
k = 1
while True:
    nxt = start + k * INTERVAL
    if nxt > start + SECS: break
    time.sleep(max(0, nxt - time.time()))
    sample(sc, time.time() - start); k += 1
stop.set(); [w.join(35) for w in ws]
time.sleep(2)
sample(sc, time.time() - start)   # after the load: queues drained?

# --- summary ------------------------------------------------------------------------------
errs = {k: v for k, v in counts.items() if k.startswith("err_")}
log("requests: %s; errors: %s" % (dict((k, counts[k]) for k in OPS), errs or "none"))
load = samples[:-1]
mid = load[len(load) // 2]
def slope(a, b):
    dp = b["posts"] - a["posts"]
    return (b["rss_kb"] - a["rss_kb"]) / (dp / 1000.0) if dp > 0 else float("nan")
first, last = load[0], load[-1]
print("memory_soak: %d posts in %.0f min; RSS %.1f -> %.1f MiB (peak-to-start %+.1f MiB); "
      "RSS growth per 1,000 posts: first half %.1f KB, second half %.1f KB (%d..%d s, %d..%d s)" % (
      last["posts"], SECS / 60, first["rss_kb"] / 1024, last["rss_kb"] / 1024,
      (max(s["rss_kb"] for s in load) - first["rss_kb"]) / 1024,
      slope(first, mid), slope(mid, last), first["t_s"], mid["t_s"], mid["t_s"], last["t_s"]))
PY

SOAK_PORT="${URL##*:}" SOAK_PID="$CHORUSD_PID" SOAK_USERS="$USERS" SOAK_FOLLOWS="$FOLLOWS" SOAK_THREADS="$THREADS" \
  SOAK_RATE="$RATE" SOAK_MINUTES="$MINUTES" SOAK_INTERVAL="$INTERVAL" SOAK_CSV="${SOAK_CSV:-}" \
  timeout $(( MINUTES * 60 + 900 )) python3 "$TMP/soak.py"
kill -0 "$CHORUSD_PID" 2>/dev/null || die "chorusd died during the soak"

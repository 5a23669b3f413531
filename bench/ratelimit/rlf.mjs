// Chorus rate-limiter benchmark: the rate-limiter-flexible 11.4.0 side (bench only).
//
// What it measures: the cost of one rate-limit decision, i.e. one
// `await limiter.consume(key)` (1 point), for
//   memory: RateLimiterMemory -- in-process Map, no I/O; the floor any
//           limiter in a Node process can reach.
//   redis:  RateLimiterRedis over ioredis 5.9.3 -- the store limiter you run
//           when several nodes must share one budget (what Chorus does).
// Each limiter gets points = --limit and duration = --period seconds (Chorus's
// default policies are Mastodon's: 300 per 300 s), and a keyPrefix unique to
// this run and limiter, so runs never see each other's counters in a shared
// Redis (the keys expire after --period; nothing is deleted).
//
// Load: a closed loop. --concurrency async "clients" in this one Node process,
// each calling consume() again as soon as the previous call settles. Keys come
// from one shared round-robin cursor over --keys distinct keys (k0..k{K-1}), so
// every key sees the same number of calls. A decision is a consume() that
// resolved (allowed) or rejected with a RateLimiterRes (limited): both are
// counted. Any other rejection (a Redis/connection error) fails the run -- no
// insuranceLimiter is configured, so errors are not masked. If a key runs out
// of points the run still counts those rejections, but says so on stderr:
// with the defaults that needs > limit*keys = 3M calls in warm-up + window, so
// raise --limit when the memory limiter is that fast.
//
// Timing: --warmup-ms (default 1000) untimed, then a --seconds window. A call
// counts if it completes inside the window. Latency is per consume() call,
// performance.now() before the call to after its promise settles, so it
// includes the time the call waits for the other clients on the event loop (at
// concurrency C ~ C x the per-call cost for memory; for redis, ioredis's socket
// queue and Redis itself). Percentiles come from a histogram with 0.05 us
// buckets up to 20 ms (exact values above), nearest-rank, reported as the
// bucket's upper edge. The two performance.now() calls add some tens of ns.
//
// Settings, as the 11.x docs show them (node_modules/rate-limiter-flexible
// README.md and CONTEXT.md "Redis-Specific Setup"): ioredis is the default,
// recommended client and is created with { enableOfflineQueue: false };
// useRedisPackage stays false because it is only for the `redis` package v4+
// (with ioredis it would call eval() with node-redis's argument shape). Per
// consume, RateLimiterRedis 11.4.0 runs one Lua script (SET NX EX + INCRBY +
// PTTL) registered with ioredis defineCommand(): the first call on a
// connection is EVAL, the rest EVALSHA -- one round trip, no MULTI. ioredis's
// own defaults are kept: one connection, enableAutoPipelining false (commands
// are written to the socket as they are issued, none held back to batch).
//
// Usage:
//   node bench/ratelimit/rlf.mjs --redis-port P [--redis-host 127.0.0.1]
//        [--keys 10000] [--seconds 5] [--concurrency 1] [--limit 300]
//        [--period 300] [--which memory|redis|both] [--warmup-ms 1000]
//        [--timeout SECONDS]
//   (--redis-port is required unless --which memory)
// Output (stdout, one line per limiter, memory first):
//   rlf <memory|redis> concurrency=<C> keys=<K> decisions=<N> seconds=<s> rate=<decisions/s> p50_us=<us> p99_us=<us>
//   seconds: 3 decimals; rate: integer; p50_us/p99_us: microseconds, 2 decimals.
// Exit 0 on success; 1 on error; 2 on the overall timeout.

import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import Redis from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

const USAGE =
  "usage: node bench/ratelimit/rlf.mjs --redis-port P [--redis-host H] [--keys K] " +
  "[--seconds S] [--concurrency C] [--limit L] [--period SECONDS] " +
  "[--which memory|redis|both] [--warmup-ms MS] [--timeout SECONDS]";

function die(msg, code = 1) {
  process.stderr.write(`rlf.mjs: ${msg}\n`);
  process.exit(code);
}

function intOpt(values, name, def, min) {
  const raw = values[name];
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) die(`--${name} must be a non-negative integer, got '${raw}'\n${USAGE}`);
  const v = Number(raw);
  if (v < min) die(`--${name} must be >= ${min}, got ${v}`);
  return v;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      "redis-port": { type: "string" },
      "redis-host": { type: "string" },
      keys: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string" },
      limit: { type: "string" },
      period: { type: "string" },
      which: { type: "string" },
      "warmup-ms": { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (e) {
  die(`${e.message}\n${USAGE}`);
}
if (values.help) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}

const which = values.which ?? "both";
if (!["memory", "redis", "both"].includes(which)) die(`--which must be memory, redis or both, got '${which}'`);
const kinds = which === "both" ? ["memory", "redis"] : [which];
const needRedis = kinds.includes("redis");
if (needRedis && values["redis-port"] === undefined) die(`--redis-port is required for the redis limiter\n${USAGE}`);
const redisPort = intOpt(values, "redis-port", 0, 1);
const redisHost = values["redis-host"] ?? "127.0.0.1";
const K = intOpt(values, "keys", 10000, 1);
const seconds = intOpt(values, "seconds", 5, 1);
const C = intOpt(values, "concurrency", 1, 1);
const limit = intOpt(values, "limit", 300, 1);
const period = intOpt(values, "period", 300, 1);
const warmupMs = intOpt(values, "warmup-ms", 1000, 0);
const timeoutS = intOpt(values, "timeout", kinds.length * (Math.ceil(warmupMs / 1000) + seconds) + 30, 1);

let phase = "setup";
// Never hang: hard exit after --timeout seconds whatever is pending. (A
// memory-limiter loop that never leaves the microtask queue would starve this
// timer, but that loop ends by itself: every call checks the clock.)
const deadline = setTimeout(() => {
  die(`timed out after ${timeoutS} s (phase: ${phase})`, 2);
}, timeoutS * 1000);

// Latency histogram: 0.05 us buckets below 20 ms, exact values above.
const BUCKET_US = 0.05;
const NBUCKETS = Math.round(20000 / BUCKET_US);
class Histogram {
  constructor() {
    this.counts = new Float64Array(NBUCKETS);
    this.over = [];
    this.n = 0;
  }
  add(us) {
    const i = Math.floor(us / BUCKET_US);
    if (i < NBUCKETS) this.counts[i]++;
    else this.over.push(us);
    this.n++;
  }
  // Nearest rank: the smallest value v with #(samples <= v) >= ceil(p * n).
  percentile(p) {
    const rank = Math.max(1, Math.ceil(p * this.n));
    let seen = 0;
    for (let i = 0; i < NBUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return (i + 1) * BUCKET_US;
    }
    this.over.sort((a, b) => a - b);
    return this.over[rank - seen - 1];
  }
}

const KEYS = Array.from({ length: K }, (_, i) => `k${i}`);
const runId = `rlfbench-${Date.now().toString(36)}-${process.pid}`;

async function measure(kind, limiter) {
  const hist = new Histogram();
  let cursor = 0;
  let decisions = 0; // in the window
  let rejectedAll = 0; // warm-up + window, for the out-of-points note
  let callsAll = 0;
  let failure = null;
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + seconds * 1000;

  async function client() {
    for (;;) {
      const key = KEYS[cursor];
      cursor = cursor + 1 === K ? 0 : cursor + 1;
      const a = performance.now();
      try {
        await limiter.consume(key);
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) {
          failure ??= e;
          return;
        }
        rejectedAll++;
      }
      const b = performance.now();
      callsAll++;
      if (b >= windowStart && b < windowEnd) {
        decisions++;
        hist.add((b - a) * 1000);
      }
      if (b >= windowEnd || failure) return;
    }
  }

  phase = `${kind}: run`;
  await Promise.all(Array.from({ length: C }, client));
  if (failure) {
    if (typeof failure === "object") failure.benchPhase ??= phase;
    throw failure;
  }
  if (decisions === 0) throw new Error(`${kind}: no decision completed inside the window`);
  if (rejectedAll > 0) {
    process.stderr.write(
      `rlf.mjs: note: ${kind}: ${rejectedAll} of ${callsAll} calls (warm-up included) were ` +
        `rejections -- keys ran out of points (limit=${limit}); they count as decisions. ` +
        `Raise --limit to measure allowed decisions only.\n`,
    );
  }
  const s = seconds;
  const fmt = (x, d) => x.toFixed(d);
  console.log(
    `rlf ${kind} concurrency=${C} keys=${K} decisions=${decisions} seconds=${fmt(s, 3)} ` +
      `rate=${fmt(decisions / s, 0)} p50_us=${fmt(hist.percentile(0.5), 2)} p99_us=${fmt(hist.percentile(0.99), 2)}`,
  );
}

async function connectRedis() {
  phase = "redis: connect";
  // As documented for RateLimiterRedis + ioredis; everything else ioredis default.
  const client = new Redis({ host: redisHost, port: redisPort, enableOfflineQueue: false });
  let lastError = null;
  client.on("error", (e) => {
    lastError = e;
  });
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`redis at ${redisHost}:${redisPort} not ready after 5 s: ${lastError?.message ?? "no error reported"}`)),
        5000,
      );
      client.once("ready", () => {
        clearTimeout(t);
        resolve();
      });
    });
  } catch (e) {
    client.disconnect();
    throw e;
  }
  return client;
}

async function main() {
  for (const kind of kinds) {
    const opts = { points: limit, duration: period, keyPrefix: `${runId}-${kind}` };
    if (kind === "memory") {
      await measure(kind, new RateLimiterMemory(opts));
    } else {
      const client = await connectRedis();
      try {
        await measure(kind, new RateLimiterRedis({ storeClient: client, ...opts }));
      } finally {
        phase = "redis: quit";
        await client.quit().catch(() => client.disconnect());
      }
    }
  }
}

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  (e) => die(`error in phase '${e?.benchPhase ?? phase}': ${e?.stack ?? e}`),
);

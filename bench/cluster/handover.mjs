// bench/cluster (part 3): ownership hand-over after kill -9. Node ≥ 18, no packages.
//   node handover.mjs warm URL USERS_FILE          — read every user's home once (activates their feeds)
//   node handover.mjs owners NAMES USERS_FILE      — how many users each node owns
//   node handover.mjs handover PID URLS USERS_FILE EXPECT NAMES VICTIM
// USERS_FILE has "token account_id" lines. Owners are computed as chorusd does
// (rendezvous hashing, actors/cluster/placement.cpp) over NAMES (comma-separated).
// handover: SIGKILLs PID (node VICTIM), then reads the home timeline of every user
// VICTIM owned through the surviving nodes (URLS, comma-separated, alternated), 64
// in flight, each again and again until it answers 200 with at least EXPECT
// statuses; prints how long after the kill those users were served again: max
// (every one served), p50, p99, and the failed attempts on the way.
import { readFileSync } from "node:fs";

const [mode, ...args] = process.argv.slice(2);
const limit = 20;
const M = (1n << 64n) - 1n;

function splitmix64(x) {
  x = (x + 0x9e3779b97f4a7c15n) & M;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M;
  return x ^ (x >> 31n);
}
function fnv1a(s) {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(s)) h = ((h ^ BigInt(c)) * 0x100000001b3n) & M;
  return h;
}
function owner(names, account) {
  let best = null, bestW = -1n;
  for (const n of [...names].sort()) {
    const w = splitmix64(fnv1a(n) ^ splitmix64(BigInt(account)));
    if (w > bestW) { best = n; bestW = w; }
  }
  return best;
}
function users(file) {
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => {
    const [token, id] = l.split(" ");
    return { token, id };
  });
}

async function home(url, token) {
  try {
    const r = await fetch(`${url}/api/v1/timelines/home?limit=${limit}`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    const body = await r.text();
    if (r.status !== 200) return -1;
    return JSON.parse(body).length;
  } catch {
    return -1;
  }
}

async function pool(items, inFlight, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

if (mode === "warm") {
  const [url, file] = args;
  const tokens = users(file).map((u) => u.token);
  let bad = 0;
  await pool(tokens, 32, async (t) => { if ((await home(url, t)) < 0) bad++; });
  console.log(`warmed ${tokens.length} feeds, ${bad} failed`);
} else if (mode === "owners") {
  const [names, file] = args;
  const count = {};
  for (const u of users(file)) { const o = owner(names.split(","), u.id); count[o] = (count[o] || 0) + 1; }
  console.log(Object.keys(count).sort().map((k) => `${k} ${count[k]}`).join(", "));
} else if (mode === "handover") {
  const [pid, urlList, file, expectText, names, victim] = args;
  const urls = urlList.split(",");
  const expect = Number(expectText);
  const tokens = users(file).filter((u) => owner(names.split(","), u.id) === victim).map((u) => u.token);
  const t0 = performance.now();
  process.kill(Number(pid), "SIGKILL");
  const served = [];
  let failures = 0, n = 0;
  await pool(tokens, 64, async (t) => {
    for (;;) {
      const url = urls[n++ % urls.length];
      const got = await home(url, t);
      if (got >= expect) { served.push(performance.now() - t0); return; }
      failures++;
      if (performance.now() - t0 > 60000) { served.push(Infinity); return; }
    }
  });
  served.sort((a, b) => a - b);
  const at = (q) => served[Math.min(served.length - 1, Math.floor(served.length * q))].toFixed(1);
  console.log(`users of ${victim} ${served.length}: served again after max_ms ${served[served.length - 1].toFixed(1)} p50_ms ${at(0.5)} ` +
              `p99_ms ${at(0.99)} failed_attempts ${failures}`);
} else {
  console.error("usage: handover.mjs warm URL USERS | owners NAMES USERS | handover PID URLS USERS EXPECT NAMES VICTIM");
  process.exit(2);
}

// bench/cluster (part 3): ownership hand-over after kill -9. Node ≥ 18, no packages.
//   node handover.mjs warm URL TOKENS_FILE          — read every user's home once (activates their feeds)
//   node handover.mjs handover PID URLS TOKENS_FILE EXPECT
// handover: SIGKILLs PID, then reads every user's home timeline through the
// surviving nodes (URLS, comma-separated, alternated), 64 in flight, each user
// again and again until it answers 200 with at least EXPECT statuses; prints how
// long after the kill each user was served again: max (every user served), p50,
// p99, and the failed attempts on the way.
import { readFileSync } from "node:fs";

const [mode, ...args] = process.argv.slice(2);
const limit = 20;

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
  const tokens = readFileSync(file, "utf8").split("\n").filter(Boolean);
  let bad = 0;
  await pool(tokens, 32, async (t) => { if ((await home(url, t)) < 0) bad++; });
  console.log(`warmed ${tokens.length} feeds, ${bad} failed`);
} else if (mode === "handover") {
  const [pid, urlList, file, expectText] = args;
  const urls = urlList.split(",");
  const expect = Number(expectText);
  const tokens = readFileSync(file, "utf8").split("\n").filter(Boolean);
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
  console.log(`handover users ${served.length} max_ms ${served[served.length - 1].toFixed(1)} p50_ms ${at(0.5)} ` +
              `p99_ms ${at(0.99)} failed_attempts ${failures}`);
} else {
  console.error("usage: handover.mjs warm URL TOKENS | handover PID URLS TOKENS EXPECT");
  process.exit(2);
}

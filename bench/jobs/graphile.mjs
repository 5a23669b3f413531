// Chorus job-queue benchmark: the graphile-worker 0.17.3 side (bench only).
//
// What it measures, against one PostgreSQL database (schema graphile_worker):
//   1. ENQUEUE: N no-op jobs of task `noop`, inserted in batches of B through
//      WorkerUtils.addJobs() -- the documented batched path in 0.17, which is a
//      thin wrapper over the SQL function graphile_worker.add_jobs(job_spec[])
//      (https://worker.graphile.org/docs/library/add-jobs). One client, the
//      batches one after the other.
//   2. PROCESS: time from calling run() (includes pool connect + the cheap
//      migration check) until graphile_worker._private_jobs (the jobs table in
//      0.17; `graphile_worker.jobs` is only a view over it) is empty, polled every
//      --poll-ms (default 50 ms) on a separate connection with EXISTS. A completed job is
//      deleted from that table, so "empty" == all N jobs done and committed.
//   Untimed steps: migrations, deleting leftover jobs + VACUUM before ENQUEUE,
//   and ANALYZE of the jobs table between ENQUEUE and PROCESS (see below).
//
// Settings: the "With batching" preset from graphile's own performance page,
// https://worker.graphile.org/docs/performance (as of 0.17):
//     concurrentJobs: 24, maxPoolSize: 25,
//     localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0
// i.e. the local queue fetches/locks up to 500 jobs per query and hands them to
// the 24 in-process workers, and completions/failures are flushed in batches
// (delay 0 = "whatever completed in the same tick"). Option names and the
// preset form (preset.worker.*) are checked against 0.17.3's dist/index.d.ts
// and https://worker.graphile.org/docs/config. pollInterval stays at its
// default (2000 ms; jobs already queued are picked up without waiting for it).
// Every setting is a flag; --local-queue -1 and --complete-batch-delay -1 turn
// batching off (graphile's defaults). Signal handling is off (noHandleSignals)
// and graphile's logging is silenced so only the two result lines are printed.
//
// Usage:
//   node bench/jobs/graphile.mjs --dsn postgres://... --jobs N
//        [--batch 1000] [--concurrency 24] [--local-queue 500]
//        [--max-pool C+1] [--complete-batch-delay 0] [--fail-batch-delay 0]
//        [--poll-ms 50] [--timeout 600] [--skip-analyze]
// Output (stdout, one line each):
//   graphile enqueue N=<N> seconds=<s> rate=<jobs/s>
//   graphile process N=<N> seconds=<s> rate=<jobs/s> concurrency=<C> local_queue=<size>
// Exit 0 on success; 1 on error; 2 on the overall timeout.

import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";

const USAGE =
  "usage: node bench/jobs/graphile.mjs --dsn <postgres url> --jobs N " +
  "[--batch B] [--concurrency C] [--local-queue SIZE|-1] [--max-pool P] " +
  "[--complete-batch-delay MS|-1] [--fail-batch-delay MS|-1] [--poll-ms MS] " +
  "[--timeout SECONDS] [--skip-analyze]";

function die(msg, code = 1) {
  process.stderr.write(`graphile.mjs: ${msg}\n`);
  process.exit(code);
}

function intOpt(values, name, def, min) {
  const raw = values[name];
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) die(`--${name} must be an integer, got '${raw}'\n${USAGE}`);
  const v = Number(raw);
  if (v < min) die(`--${name} must be >= ${min}, got ${v}`);
  return v;
}

// parseArgs refuses "--local-queue -1" (a value that looks like a flag); accept
// it by rewriting a negative-number value into the "--opt=-1" form.
const argv = [];
for (const a of process.argv.slice(2)) {
  const prev = argv[argv.length - 1];
  if (/^-\d+$/.test(a) && prev?.startsWith("--") && !prev.includes("=")) argv[argv.length - 1] = `${prev}=${a}`;
  else argv.push(a);
}

let values;
try {
  ({ values } = parseArgs({
    args: argv,
    options: {
      dsn: { type: "string" },
      jobs: { type: "string" },
      batch: { type: "string" },
      concurrency: { type: "string" },
      "local-queue": { type: "string" },
      "max-pool": { type: "string" },
      "complete-batch-delay": { type: "string" },
      "fail-batch-delay": { type: "string" },
      "poll-ms": { type: "string" },
      timeout: { type: "string" },
      "skip-analyze": { type: "boolean" },
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
if (!values.dsn) die(`--dsn is required\n${USAGE}`);
if (values.jobs === undefined) die(`--jobs is required\n${USAGE}`);

const dsn = values.dsn;
const N = intOpt(values, "jobs", 0, 1);
const B = intOpt(values, "batch", 1000, 1);
const C = intOpt(values, "concurrency", 24, 1);
const localQueueSize = intOpt(values, "local-queue", 500, -1);
const maxPool = intOpt(values, "max-pool", Math.max(C + 1, 2), 2);
const completeDelay = intOpt(values, "complete-batch-delay", 0, -1);
const failDelay = intOpt(values, "fail-batch-delay", 0, -1);
const pollMs = intOpt(values, "poll-ms", 50, 1);
const timeoutS = intOpt(values, "timeout", 600, 1);
const skipAnalyze = values["skip-analyze"] === true;
if (localQueueSize === 0) die("--local-queue must be -1 (off) or >= 1");

// Never hang: hard exit after --timeout seconds whatever is pending.
const deadline = setTimeout(() => {
  die(`timed out after ${timeoutS} s (phase: ${phase})`, 2);
}, timeoutS * 1000);

const silent = new Logger(() => () => {});
// Explicit, so GRAPHILE_WORKER_SCHEMA / a .graphile-workerrc can't move it.
const SCHEMA = "graphile_worker";
const TABLE = `${SCHEMA}._private_jobs`;
let phase = "setup";

const fmt = (x, d) => x.toFixed(d);

async function main() {
  // --- setup (untimed) ---
  phase = "migrate";
  await runMigrations({ connectionString: dsn, schema: SCHEMA, logger: silent });

  const mon = new pg.Client({ connectionString: dsn });
  await mon.connect();
  const count = async () =>
    Number((await mon.query(`select count(*)::bigint as n from ${TABLE}`)).rows[0].n);
  // The drain poll: EXISTS stops at the first live row (a count(*) every 50 ms
  // would cost Postgres more than it measures; jobs.sh polls the same way).
  const any = async () =>
    (await mon.query(`select exists (select 1 from ${TABLE}) as any`)).rows[0].any;

  phase = "cleanup";
  // Leftovers from earlier (possibly aborted) runs; nothing else uses this DB.
  await mon.query(`delete from ${TABLE}`);
  await mon.query(`delete from ${SCHEMA}._private_job_queues`);
  await mon.query(`vacuum ${TABLE}`); // drop the dead rows of the last run
  if ((await count()) !== 0) throw new Error(`${TABLE} not empty after cleanup`);

  // --- ENQUEUE ---
  phase = "enqueue";
  const utils = await makeWorkerUtils({ connectionString: dsn, schema: SCHEMA, logger: silent });
  try {
    const t0 = performance.now();
    for (let done = 0; done < N; ) {
      const n = Math.min(B, N - done);
      const specs = new Array(n);
      for (let i = 0; i < n; i++) specs[i] = { identifier: "noop", payload: {} };
      const added = await utils.addJobs(specs);
      if (added.length !== n) throw new Error(`addJobs returned ${added.length} rows, expected ${n}`);
      done += n;
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`graphile enqueue N=${N} seconds=${fmt(s, 3)} rate=${fmt(N / s, 0)}`);
  } finally {
    await utils.release();
  }
  const queued = await count();
  if (queued !== N) throw new Error(`expected ${N} queued jobs, found ${queued}`);
  // Untimed: give the planner stats for the loaded table. Without this the
  // catalog says "empty table" (fresh DB, or the clean-out VACUUM above) and
  // graphile's batched get_jobs query can get a plan that sorts every queued
  // job on each fetch: ~35% lower process rate at N=100k on 2 cores. A
  // long-running system would have autovacuum's stats; --skip-analyze
  // measures the cold case. (Do the same on the other queue for fairness.)
  if (!skipAnalyze) await mon.query(`analyze ${TABLE}`);

  // --- PROCESS ---
  phase = "process";
  let failed = 0;
  let firstError = null;
  let fatal = null;
  const t0 = performance.now();
  const runner = await run({
    noHandleSignals: true,
    taskList: { noop: async () => {} },
    parsedCronItems: [],
    preset: {
      worker: {
        connectionString: dsn,
        schema: SCHEMA,
        logger: silent,
        concurrentJobs: C,
        maxPoolSize: maxPool,
        localQueue: { size: localQueueSize },
        completeJobBatchDelay: completeDelay,
        failJobBatchDelay: failDelay,
      },
    },
  });
  runner.events.on("job:error", ({ error }) => {
    failed++;
    firstError ??= error;
  });
  runner.events.on("pool:fatalError", ({ error }) => {
    fatal ??= error ?? new Error("pool:fatalError");
  });
  let stopped = false;
  runner.promise.then(
    () => {
      if (!stopped) fatal ??= new Error("runner exited before the queue was drained");
    },
    (e) => {
      fatal ??= e;
    },
  );
  let drainedAt = null;
  try {
    for (;;) {
      if (fatal) throw fatal;
      if (failed) throw new Error(`${failed} job(s) failed, first: ${firstError}`);
      if (!(await any())) {
        drainedAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } catch (e) {
    if (e && typeof e === "object") e.benchPhase ??= phase;
    throw e;
  } finally {
    phase = "stop";
    stopped = true;
    await runner.stop();
    await runner.promise.catch(() => {});
    await mon.end();
    if (drainedAt !== null) {
      const s = (drainedAt - t0) / 1000;
      console.log(
        `graphile process N=${N} seconds=${fmt(s, 3)} rate=${fmt(N / s, 0)} ` +
          `concurrency=${C} local_queue=${localQueueSize}`,
      );
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
